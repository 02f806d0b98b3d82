"""The entry writer's Firebird connection, in a process of its own.

Why a process and not the writer thread (issue 11, measured): a Firebird commit costs ~1.3 ms
of CPU here, ~40 % of it Python (firebird-driver's and ours). On a thread of the serving
process that Python holds the GIL the event loop needs, SCHED_IDLE or not: routing p99 on one
worker under 20 modifies/s was 0.36-0.44 ms, against 0.26-0.28 ms with the commit replaced by
a sleep that costs the process nothing (quiet: 0.20). In a child lowered to SCHED_IDLE the
same work gives way to the loop at once (benchmarks/interference.py: a Firebird modify 20
times a second in a SCHED_IDLE process left routing p99 where it was).

The parent's writer thread calls `commit` and `commit_many` as on a FirebirdEntryStore (the
group commit and its retries stay in `server.writes`); each call is one pickled request on a
pipe and one pickled reply, sent once the child's commit returned, so durable. The child
lives as long as its request pipe: the parent closes it to stop it, and a parent that died
closes it too. A child that died is said as StorageUnavailable for the call it was serving
(whether that commit happened is unknown, as with a connection lost mid-commit) and the next
call starts a new one.

Pickle, because both ends are this program: the child is started by the parent, with the
parent's interpreter, on pipes nobody else holds.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from ixidir.directory.ports import EntryWrite, StorageError, StorageUnavailable

READY, DONE, FAILED = "ready", "done", "failed"
STOP_TIMEOUT_SECONDS = 30.0  # a clean stop closes the database; a stuck one is killed after
_LENGTH = struct.Struct(">I")

# What the parent may ask; nothing else reaches the store.
_CALLS: dict[str, Callable[..., Any]] = {
    "commit": lambda store, writes: store.commit(writes),
    "commit_many": lambda store, changes: store.commit_many(changes),
}


class StoreProcess:
    """`commit` and `commit_many` of an entry store that a child process holds open.

    One caller at a time (the entry writer thread), like the store it stands for."""

    def __init__(self, data_dir: Path) -> None:
        """Start the child now, so it opens the database while the parent loads the directory;
        the first call waits for it."""
        self._data_dir = data_dir
        self._lock = threading.Lock()  # one call at a time, even from a second thread
        self._child: _Child | None = _Child.start(data_dir)

    @property
    def pid(self) -> int | None:
        """The child's process id, while one runs (tests, `ps`)."""
        return None if self._child is None else self._child.process.pid

    def commit(self, writes: Sequence[EntryWrite]) -> int:
        result: int = self._call("commit", writes)
        return result

    def commit_many(self, changes: Sequence[Sequence[EntryWrite]]) -> list[int]:
        result: list[int] = self._call("commit_many", [list(change) for change in changes])
        return result

    def ready(self) -> None:
        """Wait until the child has opened the database; raise what it could not open."""
        with self._lock:
            self._running().wait_ready()

    def close(self) -> None:
        """Stop the child: it closes the database and exits. Idempotent."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop()

    def _running(self) -> _Child:
        if self._child is None or self._child.exited():
            if self._child is not None:
                self._child.stop()
            self._child = _Child.start(self._data_dir)
        return self._child

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            child = self._running()
            try:
                return child.call(method, args)
            except _ChildGone as gone:
                self._child = None
                child.stop()
                raise StorageUnavailable(f"the entry store's process {gone}") from None


class _ChildGone(Exception):
    """The child closed its pipe: it exited (or was killed)."""


class _Child:
    """One started child and its two pipes."""

    def __init__(self, process: subprocess.Popen[bytes], requests: IO[bytes], replies: IO[bytes]):
        self.process = process
        self._requests = requests
        self._replies = replies
        self._ready = False

    @classmethod
    def start(cls, data_dir: Path) -> _Child:
        requests_read, requests_write = os.pipe()
        replies_read, replies_write = os.pipe()
        try:
            command = [sys.executable, "-m", __name__, str(data_dir)]
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                [*command, str(requests_read), str(replies_write)],
                pass_fds=(requests_read, replies_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stderr stays the server's: the child's errors show
            )
        finally:
            os.close(requests_read)
            os.close(replies_write)
        return cls(process, open(requests_write, "wb"), open(replies_read, "rb"))

    def exited(self) -> bool:
        return self.process.poll() is not None

    def wait_ready(self) -> None:
        if not self._ready:
            self._expect(READY)
            self._ready = True

    def call(self, method: str, args: tuple[Any, ...]) -> Any:
        self.wait_ready()
        try:
            _send(self._requests, (method, args))
        except (BrokenPipeError, ValueError):
            raise _ChildGone(self._ended()) from None
        return self._expect(DONE)

    def _expect(self, kind: str) -> Any:
        reply = _receive(self._replies)
        if reply is None:
            raise _ChildGone(self._ended())
        got, value = reply
        if got == FAILED:
            raise value
        if got != kind:
            raise StorageError(f"the entry store's process answered {got!r}, not {kind!r}")
        return value

    def _ended(self) -> str:
        try:
            status = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        return f"exited with status {status}"

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._requests.close()  # end of requests: the child closes the database and exits
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._replies.close()


def _send(pipe: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(data)) + data)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> Any:
    """The next message, or None at the end of the pipe."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = pipe.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)  # noqa: S301 (our own child or parent, on our own pipes)


def _transportable(error: Exception) -> Exception:
    """`error` if it survives pickling, else a StorageError saying what it was."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301
    except Exception:  # noqa: BLE001 (any failure to pickle: send the text instead)
        return StorageError(f"{type(error).__name__}: {error}")
    return error


def serve(data_dir: Path, requests: IO[bytes], replies: IO[bytes]) -> int:
    """The child: open the store, answer calls until the parent closes the requests."""
    # Imported here: the parent's module import stays light, the child pays it.
    from ixidir.admin.runtime import open_store
    from ixidir.config import load_config
    from ixidir.server.priority import lower_this_thread

    lower_this_thread()  # before the engine starts its threads: they inherit SCHED_IDLE
    try:
        # The parent's loop acknowledges each write once applied (server.writes).
        store = open_store(data_dir, load_config(data_dir), acknowledges=False)
    except Exception as error:  # noqa: BLE001 (said to the parent, which raises it)
        _send(replies, (FAILED, _transportable(error)))
        return 1
    _send(replies, (READY, None))
    with store:
        while (request := _receive(requests)) is not None:
            method, args = request
            try:
                reply: tuple[str, object] = (DONE, _CALLS[method](store, *args))
            except Exception as error:  # noqa: BLE001 (the caller's to handle, as in process)
                reply = (FAILED, _transportable(error))
            _send(replies, reply)
    return 0


def main(argv: Sequence[str]) -> int:
    # Stopped by its parent closing the pipe, never by a signal meant for the server: a
    # Ctrl-C or SIGTERM to the process group must not cut the flush of the last writes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    data_dir, requests_fd, replies_fd = Path(argv[0]), int(argv[1]), int(argv[2])
    with open(requests_fd, "rb") as requests, open(replies_fd, "wb") as replies:
        return serve(data_dir, requests, replies)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
