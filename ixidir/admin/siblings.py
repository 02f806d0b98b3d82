"""The sequence each serving process of a node has applied, so a worker can answer a write once
the others have it too (server.writes: SIBLING_WAIT_SECONDS says why and what it measured).

Each worker publishes the newest changelog sequence its directory applied in a file of its own,
`workers/applied-<pid>.seq` in the data directory, mapped into every process (the same 8-byte
files as the node's committed sequence, storage.committed), raised on the loop after each apply.
Another worker reads them lock-free. The list of files is read again every REFRESH_SECONDS, so
a worker that started or stopped since is counted or dropped; a file whose process is gone (a
killed worker) is removed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from ixidir.admin.metrics_files import process_alive
from ixidir.storage.committed import CommittedSequence

WORKERS_DIR = "workers"
REFRESH_SECONDS = 1.0


def applied_file(data_dir: Path, pid: int) -> Path:
    return data_dir / WORKERS_DIR / f"applied-{pid}.seq"


class WorkerSequences:
    """This process's published applied sequence, and a view of the node's other workers'.

    Made once the directory is loaded: a worker still loading serves nobody, so nobody waits
    for it. `close()` removes this process's file."""

    def __init__(
        self,
        data_dir: Path,
        applied: int,
        *,
        pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dir = data_dir / WORKERS_DIR
        self._dir.mkdir(mode=0o700, exist_ok=True)
        self._pid = os.getpid() if pid is None else pid
        self._path = applied_file(data_dir, self._pid)
        self._mine = CommittedSequence(self._path)
        self._mine.raise_to(applied)
        self._clock = clock
        self._others: dict[int, CommittedSequence] = {}
        self._late: dict[int, int] = {}  # pid -> the sequence it missed the bound on
        self._refreshed = -REFRESH_SECONDS

    def publish(self, applied: int) -> None:
        """This worker's directory applied everything up to `applied` (on the loop)."""
        self._mine.raise_to(applied)

    def caught_up(self, sequence: int) -> bool:
        """Whether every other worker applied `sequence`; one that was late on an earlier
        sequence counts only once it has applied that one (a stuck worker is not waited for
        on every write)."""
        self._refresh()
        late = self._late
        for pid, other in self._others.items():
            applied = other.read()
            if applied >= sequence:
                continue
            missed = late.get(pid)
            if missed is not None:
                if applied < missed:
                    continue  # still behind on what it was late for
                del late[pid]
            return False
        return True

    def late(self, sequence: int) -> None:
        """The wait for `sequence` ended without it: remember which workers were behind."""
        for pid, other in self._others.items():
            if other.read() < sequence:
                self._late[pid] = max(sequence, self._late.get(pid, 0))

    def others(self) -> list[int]:
        """The pids of the other workers counted now (tests, logs)."""
        self._refresh(force=True)
        return sorted(self._others)

    def close(self) -> None:
        for other in self._others.values():
            other.close()
        self._others.clear()
        self._mine.close()
        self._path.unlink(missing_ok=True)

    def _refresh(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._refreshed < REFRESH_SECONDS:
            return
        self._refreshed = now
        present: set[int] = set()
        for path in self._dir.glob("applied-*.seq"):
            try:
                pid = int(path.stem.removeprefix("applied-"))
            except ValueError:
                continue
            if pid == self._pid:
                continue
            if not process_alive(pid):
                path.unlink(missing_ok=True)
                continue
            present.add(pid)
            if pid not in self._others:
                try:
                    self._others[pid] = CommittedSequence(path)
                except OSError:
                    continue  # removed meanwhile by its stopping worker
        for pid in set(self._others) - present:
            self._others.pop(pid).close()
            self._late.pop(pid, None)
