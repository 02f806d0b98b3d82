"""Changelog retention in `ixidir serve`: one process prunes on a timer, off the event loop, and
a follower that finds its history pruned reloads the directory (ixidir.storage.changelog).

The bounds live on `cn=ums-defaults` (ixiChangelogKeepDays, ixiChangelogMaxEntries), shared by
every node; absent or unreadable values take the defaults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from firebird.driver import Connection
from twisted.logger import Logger

from ixidir.directory.directory import Directory
from ixidir.directory.ports import Change, StorageError, StoredEntry
from ixidir.directory.state import DirectoryState
from ixidir.server.priority import lower_this_thread
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.changelog import (
    DEFAULT_KEEP_DAYS,
    DEFAULT_MAX_ENTRIES,
    HistoryPruned,
    prune_changelog,
)

log = Logger(namespace="ixidir")
KEEP_DAYS = "ixiChangelogKeepDays"
MAX_ENTRIES = "ixiChangelogMaxEntries"
# How often the serving process prunes: the bounds are days and a million changes, so a few
# minutes late is nothing, and each run is one short transaction.
PRUNE_INTERVAL_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Retention:
    keep_days: int = DEFAULT_KEEP_DAYS
    max_entries: int = DEFAULT_MAX_ENTRIES


def retention_of(state: DirectoryState) -> Retention:
    """The bounds set on the defaults entry; absent or invalid values take the defaults."""
    entry = state.dit.get(state.defaults_key)
    attributes = {} if entry is None else entry.attributes
    keep_days = _integer(attributes.get(KEEP_DAYS, ()), lowest=0)
    max_entries = _integer(attributes.get(MAX_ENTRIES, ()), lowest=1)
    return Retention(
        keep_days=DEFAULT_KEEP_DAYS if keep_days is None else keep_days,
        max_entries=DEFAULT_MAX_ENTRIES if max_entries is None else max_entries,
    )


def _integer(values: Any, *, lowest: int) -> int | None:
    try:
        number = int(values[0]) if values else None
    except ValueError:
        return None
    return number if number is not None and number >= lowest else None


class Pruner:
    """Prunes the changelog every `interval` seconds in its own thread and connection.

    The connection is opened by the caller before the reactor runs (the Firebird client sets
    its signal handling when it attaches; see admin.serving). One process per node prunes;
    nodes sharing a server may prune at the same moment, which the store retries.
    """

    def __init__(
        self,
        connection: Connection,
        settings: Callable[[], Retention],
        *,
        clock: Callable[[], datetime],
        interval: float = PRUNE_INTERVAL_SECONDS,
    ) -> None:
        self._connection = connection
        self._settings = settings
        self._clock = clock
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="changelog-pruner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (if started) and close the connection."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if not self._connection.is_closed():
            self._connection.close()

    def prune_once(self) -> int:
        """Prune now; returns the sequence pruned through."""
        retention = self._settings()
        before = self._clock() - timedelta(days=retention.keep_days)
        pruned = prune_changelog(
            self._connection, before=before, keep_at_most=retention.max_entries
        )
        if pruned.through > pruned.before:
            log.info(
                "changelog pruned through change {through} (kept {days} days, at most "
                "{most} changes)",
                through=pruned.through,
                days=retention.keep_days,
                most=retention.max_entries,
            )
        return pruned.through

    def _run(self) -> None:
        lower_this_thread()  # pruning can wait for routing (server.priority)
        while not self._stopping.wait(self._interval):
            try:
                self.prune_once()
            except StorageError as exc:  # the next round tries again
                log.warn("the changelog was not pruned: {why}", why=exc)


def resync(
    directory: Directory, store: FirebirdEntryStore, reactor: Any, pruned: HistoryPruned
) -> int:
    """Reload every entry for a follower behind the pruned history; returns the new sequence.

    Runs on the follower's thread; the memory changes on the reactor thread, as one change
    that puts every stored entry and deletes those memory holds and the store does not.
    """
    log.warn(
        "{why}: this process missed changes that were pruned; reloading the directory",
        why=pruned,
    )
    stored = list(store.load())
    sequence = store.loaded_sequence
    reactor.callFromThread(_replace_all, directory, stored, sequence)
    return sequence


def _replace_all(directory: Directory, stored: list[StoredEntry], sequence: int) -> None:
    present = {entry.uuid for entry in stored}
    gone = tuple(e.uuid for e in directory.state.dit.entries() if e.uuid not in present)
    directory.apply_changes([Change(sequence, tuple(stored), gone)])
    log.info("directory reloaded at change {sequence}", sequence=sequence)
