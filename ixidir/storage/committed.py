"""The node's committed and acknowledged sequences, shared by its processes.

Two values, each in a file of its own:
- committed (`committed.seq`): the newest changelog sequence any local process committed.
  Raised by the entry store right after each commit; it wakes the other workers' followers
  (admin.serving.Follower), so they can apply a write before it is even acknowledged.
- acknowledged (`acknowledged.seq`): the newest sequence whose write was acknowledged, raised
  just before the acknowledgment (by a server's loop once it applied the write, by the store
  itself in a CLI process). A worker that has applied less must not answer yet (the server's
  freshness barrier), so a client reads its own acknowledged writes whichever worker answers
  its next connection. Kept apart from the committed value because a worker's requests must
  not wait for a write that worker has committed and not acknowledged yet: measured, under 20
  modifies/s routing requests were held behind the writer's own commits that way.

Each value lives in an 8-byte file in the data directory (mode 0600), mapped
into every process. Raising is a max-update under `flock` (writes are rare and take
milliseconds anyway); reading is lock-free, one aligned 8-byte load read twice until equal, so
a store that some platform splits in two is never taken for a value.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

COMMITTED_FILE = "committed.seq"
ACKNOWLEDGED_FILE = "acknowledged.seq"
_SIZE = 8  # one unsigned 64-bit sequence, native byte order (the node shares one machine)


class CommittedSequence:
    """The shared sequence of one data directory; `close()` it when done.

    Writers exclude each other with `flock`, which works between openings of the file (other
    processes, other instances), not between threads sharing one instance: a thread that writes
    (raise_to, settle) uses its own instance (the entry store and the server each open one).
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            with self._locked():
                if os.fstat(self._fd).st_size < _SIZE:
                    os.ftruncate(self._fd, _SIZE)  # zeros: nothing acknowledged yet
            self._map = mmap.mmap(self._fd, _SIZE)
        except BaseException:
            os.close(self._fd)
            raise
        self._view = memoryview(self._map).cast("Q")  # aligned 8-byte loads and stores

    @classmethod
    def open(cls, data_dir: Path) -> CommittedSequence:
        """The node's committed sequence."""
        return cls(data_dir / COMMITTED_FILE)

    @classmethod
    def open_acknowledged(cls, data_dir: Path) -> CommittedSequence:
        """The node's acknowledged sequence (never ahead of the committed one)."""
        return cls(data_dir / ACKNOWLEDGED_FILE)

    def read(self) -> int:
        """The value; lock-free (the server reads the acknowledged one per request)."""
        view = self._view
        first = view[0]
        second = view[0]
        while first != second:  # a store in progress: read until two loads agree
            first, second = second, view[0]
        return first

    def raise_to(self, sequence: int) -> None:
        """Make the value at least `sequence` (call after the commit, before the answer)."""
        if sequence <= self.read():
            return  # never lowered: a later sequence was acknowledged already
        with self._locked():
            if sequence > self._view[0]:
                self._view[0] = sequence

    def advance(self) -> int:
        """Add one and return the new value (a counter of events, e.g. the node's failed-bind
        generation, bindfailures.GENERATION_FILE, kept in a file of its own)."""
        with self._locked():
            self._view[0] += 1
            return int(self._view[0])

    def settle(self, last_sequence: Callable[[], int]) -> bool:
        """Lower the value to the database's last sequence when it is ahead of it; True if so.

        Only a database replaced under the data directory (a restore) leaves the value ahead,
        and then every request would wait for a change that never comes. Reading the last
        sequence under the lock keeps a concurrent raise: its commit happened before it raises,
        so the database's last sequence already covers it.
        """
        with self._locked():
            last = last_sequence()
            if last >= self._view[0]:
                return False
            self._view[0] = last
            return True

    def close(self) -> None:
        self._view.release()
        self._map.close()
        os.close(self._fd)

    def _locked(self) -> AbstractContextManager[None]:
        """An exclusive `flock` on the file, taken by writers only."""
        return exclusive(self._fd)


@contextmanager
def exclusive(fd: int) -> Iterator[None]:
    """An exclusive `flock` on the open file `fd` while the block runs: it excludes other
    openings of the file, in this process or another."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
