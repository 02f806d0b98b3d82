"""One entry writer or changelog reader at a time among a node's processes.

With two workers on one embedded database (SuperClassic), `benchmarks/writes.py` (8 pipelined
clients adding) hung in 1 run of 8: a worker's changelog follower stuck in a fetch of its
changes query and a writer waiting in the engine's lock manager for good (firebird.log: "page
278, page type 0 lock denied (216)"), a page-lock deadlock between attachments that the engine
did not resolve. A writer's transaction and a follower's read of the changelog are the two
heavy users of the same pages; taking this lock (an `flock` on a file in the data directory,
one open file per store, so threads of one process exclude each other too) around each makes
them take turns. Nothing that holds a Firebird lock ever waits for this one, so it adds no
deadlock of its own: every taker takes it before its transaction begins.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path

from ixidir.storage.committed import exclusive

LOCK_FILE = "entries.lock"


class NodeLock:
    """The node's entry lock, as one store holds it (its own open file)."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def held(self) -> AbstractContextManager[None]:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return exclusive(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
