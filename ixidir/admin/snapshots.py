"""Periodic start-up snapshots while serving, written by a forked child off the event loop.

`ixidir serve` writes `directory.snapshot` when it stops cleanly; after a crash (kill -9, power
loss) the next start would read every entry from Firebird. So the serving process (one per
node; workers never write) also writes one after `snapshot_every_changes` changes or
`snapshot_every_minutes` after a change, whichever comes first (0 switches either off), and
children take at most a tenth of the time (SNAPSHOT_SHARE).

Writing one takes seconds (marshal of ~90 MiB at 100,000 users, then fsync), and the image must
not change while it is serialized. A forked child has exactly that: a copy-on-write copy of the
memory at one instant. The reactor thread pays the fork (page tables: milliseconds) and one
short read of the change's stamp; the child serializes, writes next to the file, renames it into
place and exits without touching Firebird, Twisted or the log. At most one child runs at a time.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ixidir.admin.runtime import open_store
from ixidir.admin.warmstart import fingerprint, snapshot_path
from ixidir.config import Config
from ixidir.directory.directory import Directory
from ixidir.directory.ports import StorageError
from ixidir.server.priority import lower_this_thread
from ixidir.storage.snapshot import write_snapshot

log = Logger(namespace="ixidir")
# How often the reactor looks whether a snapshot is due (a counter compare and a clock read).
CHECK_SECONDS = 5.0
_CHILD_FAILED = 1
# A stop waits this long for a writing child (100,000 users: ~3 s; a loaded machine: more).
CHILD_WAIT_SECONDS = 60.0
# The most of the time snapshot children may take: after one that took T seconds, the next
# starts no sooner than T x (1 / SHARE - 1) later. Under bulk writes `snapshot_every_changes`
# alone forked one after another (1,000 adds take ~0.6 s): at 20,000 users each child took ~1 s
# of a core and the copy-on-write faults slowed the parent, adds fell from ~1,650/s to ~620/s
# (benchmarks/writes.py, 12,000 adds). A warm start then replays at most that many more changes.
SNAPSHOT_SHARE = 0.1


class PeriodicSnapshots:
    """Decides when a snapshot is due and writes it in a forked child."""

    def __init__(
        self,
        data_dir: Path,
        directory: Directory,
        stamp_of: Callable[[int], str | None],
        *,
        reactor: Any,
        every_changes: int,
        every_minutes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._data_dir = data_dir
        self._directory = directory
        self._stamp_of = stamp_of
        self._reactor = reactor
        self._every_changes = every_changes
        self._every_seconds = every_minutes * 60.0
        self._clock = clock
        self._written = directory.sequence  # what the start or the last snapshot holds
        self._changed_at: float | None = None
        self._not_before = 0.0  # the clock before which no child starts (SNAPSHOT_SHARE)
        self._child: int | None = None
        self._waiter: threading.Thread | None = None
        self._loop = LoopingCall(self.check)
        self._loop.clock = reactor

    def start(self) -> None:
        if self._every_changes or self._every_seconds:
            self._loop.start(CHECK_SECONDS, now=False)

    def stop(self) -> None:
        """Stop checking and let a child still writing finish (the clean stop then writes a
        newer snapshot over it)."""
        if self._loop.running:
            self._loop.stop()
        if self._waiter is not None:
            self._waiter.join(timeout=CHILD_WAIT_SECONDS)

    def check(self) -> bool:
        """Fork a writer when a snapshot is due; returns whether one was started."""
        sequence = self._directory.sequence
        if sequence == self._written or self._child is not None:
            return False
        now = self._clock()
        if self._changed_at is None:
            self._changed_at = now
        if now < self._not_before:
            return False
        by_changes = self._every_changes and sequence - self._written >= self._every_changes
        by_time = self._every_seconds and now - self._changed_at >= self._every_seconds
        if not (by_changes or by_time):
            return False
        return self._fork(sequence)

    def _fork(self, sequence: int) -> bool:
        try:
            stamp = self._stamp_of(sequence)
        except StorageError as exc:
            log.warn("no periodic snapshot: {why}", why=exc)
            return False
        if stamp is None:
            return False
        path = snapshot_path(self._data_dir)
        marks = fingerprint(self._directory)
        started = self._clock()
        pid = os.fork()
        if pid == 0:  # the child: serialize the frozen copy, then leave at once
            _write_and_exit(path, self._directory, fingerprint=marks, stamp=stamp)
        self._child = pid
        self._written = sequence
        self._changed_at = None
        self._waiter = threading.Thread(
            target=self._reap, args=(pid, sequence, started), name="snapshot-child", daemon=True
        )
        self._waiter.start()
        return True

    def _reap(self, pid: int, sequence: int, started: float) -> None:
        _, status = os.waitpid(pid, 0)
        self._reactor.callFromThread(self._done, status, sequence, self._clock() - started)

    def _done(self, status: int, sequence: int, seconds: float) -> None:
        self._child = None
        self._not_before = self._clock() + seconds * (1 / SNAPSHOT_SHARE - 1)
        if os.waitstatus_to_exitcode(status) == 0:
            log.info(
                "periodic snapshot of changelog {sequence} written in {seconds:.2f} s",
                sequence=sequence,
                seconds=seconds,
            )
        else:
            log.warn("the periodic snapshot of changelog {sequence} failed", sequence=sequence)


def periodic_snapshots(
    data_dir: Path, config: Config, directory: Directory, *, reactor: Any
) -> PeriodicSnapshots:
    """The serving process's snapshots, with a store connection of their own (opened now,
    before the reactor runs; stamps are read on the reactor thread, which owns no other
    store once writes have a thread of their own)."""
    store = open_store(data_dir, config)
    reactor.addSystemEventTrigger("after", "shutdown", store.close)
    return PeriodicSnapshots(
        data_dir,
        directory,
        store.change_stamp,
        reactor=reactor,
        every_changes=config.snapshot_every_changes,
        every_minutes=config.snapshot_every_minutes,
    )


def _write_and_exit(path: Path, directory: Directory, *, fingerprint: str, stamp: str) -> None:
    """In the forked child: no collector (it would touch, so copy, every object), no Firebird,
    no reactor; the exit status is the only report. It yields the cores to the server's
    reactor (server.priority): the snapshot can wait, the look-ups cannot."""
    gc.disable()
    lower_this_thread()
    code = _CHILD_FAILED
    try:
        write_snapshot(path, directory.capture_image(), fingerprint=fingerprint, stamp=stamp)
        code = 0
    finally:
        os._exit(code)
