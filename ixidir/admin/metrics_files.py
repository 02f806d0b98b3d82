"""Each worker's counters in a small file of the data directory, for the node's one scrape.

Every server process copies its counter list (server/metrics.py) into `DATA/metrics/
worker-PID.bin` once a second; the process that serves /metrics reads the files of its
workers. A file rather than a pipe or a socket: nothing to ask, nothing to answer, and a worker
that is busy or gone never holds the scrape up. Layout: a 64-bit generation (odd while a copy
is being written, a seqlock, so a reader never mixes two copies), the number of slots, then the
slots, native 64-bit signed integers (the node shares one machine).
"""

from __future__ import annotations

import mmap
import os
from array import array
from pathlib import Path

from ixidir.server.metrics import LAYOUT_SIZE

METRICS_DIR = "metrics"
_HEADER = 2  # generation, slot count
_ITEM = 8
_READ_ATTEMPTS = 100


def metrics_dir(data_dir: Path) -> Path:
    return data_dir / METRICS_DIR


def worker_file(data_dir: Path, pid: int) -> Path:
    return metrics_dir(data_dir) / f"worker-{pid}.bin"


class PublishedCounters:
    """The file this process publishes its counters into; `remove()` it on a clean stop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        self.path = path
        size = (_HEADER + LAYOUT_SIZE) * _ITEM
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self._view = memoryview(self._map).cast("q")
        self._view[1] = LAYOUT_SIZE

    def publish(self, values: list[int]) -> None:
        """Copy `values` (LAYOUT_SIZE ints; ~15 µs) so readers see all of it or none."""
        view = self._view
        view[0] += 1  # odd: being written
        view[_HEADER:] = array("q", values)
        view[0] += 1

    def remove(self) -> None:
        self._view.release()
        self._map.close()
        self.path.unlink(missing_ok=True)


def read_counters(path: Path) -> list[int] | None:
    """The counters a worker published last, or None (no file yet, gone, or another layout)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        for _ in range(_READ_ATTEMPTS):
            data = os.pread(fd, (_HEADER + LAYOUT_SIZE) * _ITEM, 0)
            if len(data) != (_HEADER + LAYOUT_SIZE) * _ITEM:
                return None
            values = array("q", data)
            again = array("q", os.pread(fd, _ITEM, 0))
            if values[0] % 2 == 0 and again[0] == values[0]:
                return values[_HEADER:].tolist() if values[1] == LAYOUT_SIZE else None
        return None  # always mid-copy: the writer is stuck; no figures rather than torn ones
    finally:
        os.close(fd)


def clear_stale(data_dir: Path) -> None:
    """Remove the files of processes that are gone (a killed server leaves its own); those of
    another server running on the same data directory stay."""
    for path in metrics_dir(data_dir).glob("worker-*.bin"):
        if not _alive(path):
            path.unlink(missing_ok=True)


def running_workers(data_dir: Path) -> int:
    """How many server processes of this data directory publish counters and are alive."""
    return sum(_alive(path) for path in metrics_dir(data_dir).glob("worker-*.bin"))


def _alive(path: Path) -> bool:
    try:
        pid = int(path.stem.removeprefix("worker-"))
    except ValueError:
        return False
    return process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (another user's counts as running: the service's)."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except ProcessLookupError:
        return False
    return True
