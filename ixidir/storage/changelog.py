"""The changelog's bounds: pruning old changes, and telling a follower the history it needs is gone.

The changelog exists so followers (server workers, other nodes, a warm start) can catch up;
kept forever it grows by a row per write and one per written entry. `prune_changelog` deletes
the changes older than the kept days and beyond the kept number, never the newest (its commit
time stamps snapshots), and records the newest sequence it deleted in CHANGELOG_HEAD row
PRUNED_THROUGH, in the same transaction. A reader asking for the changes after a sequence below
that mark gets HistoryPruned: what it lacks cannot be replayed, so it reloads the directory.
No schema change is needed: CHANGELOG_HEAD holds rows by ID, and writers touch only row 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from firebird.driver import Connection, Isolation, tpb
from firebird.driver import Error as DriverError

from ixidir.directory.ports import StorageConflict, StorageError
from ixidir.storage.database import is_lost_race, translate

HEAD = 1  # CHANGELOG_HEAD row whose SEQ hands out sequence numbers (migration 1)
PRUNED_THROUGH = 2  # CHANGELOG_HEAD row: every change up to its SEQ has been pruned
# Defaults of ixiChangelogKeepDays and ixiChangelogMaxEntries (absent on cn=ums-defaults): a
# week covers a node or worker stopped over a long weekend; a million changes (~100 MiB with
# their items) bounds the table on a busy site.
DEFAULT_KEEP_DAYS = 7
DEFAULT_MAX_ENTRIES = 1_000_000
PRUNE_ATTEMPTS = 8
LOCK_TIMEOUT = 10

# Both CHANGELOG_HEAD rows, for readers that must check the mark in their own transaction.
SELECT_HEADS = "SELECT ID, SEQ FROM CHANGELOG_HEAD"
_TARGET = (
    "SELECT (SELECT SEQ FROM CHANGELOG_HEAD WHERE ID = 1), "
    "(SELECT MAX(SEQ) FROM CHANGELOG WHERE COMMITTED_AT < ?), "
    "(SELECT SEQ FROM CHANGELOG_HEAD WHERE ID = 2) FROM RDB$DATABASE"
)
_DELETE_ITEMS = "DELETE FROM CHANGELOG_ITEMS WHERE SEQ <= ?"
_DELETE_CHANGES = "DELETE FROM CHANGELOG WHERE SEQ <= ?"
_MARK = "UPDATE OR INSERT INTO CHANGELOG_HEAD (ID, SEQ) VALUES (2, ?) MATCHING (ID)"


class HistoryPruned(StorageError):
    """The changes after `since` are no longer all in the changelog (pruned through `through`)."""

    def __init__(self, since: int, through: int) -> None:
        super().__init__(
            f"the changelog no longer holds the changes after {since} (pruned through {through})"
        )
        self.since = since
        self.through = through


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one pruning did: the mark before and after (equal: nothing to prune)."""

    before: int
    through: int


def check_history(heads: dict[int, int], since: int) -> None:
    """Raise HistoryPruned when changes after `since` were pruned (`heads`: SELECT_HEADS)."""
    through = heads.get(PRUNED_THROUGH, 0)
    if through > since:
        raise HistoryPruned(since, through)


def prune_changelog(connection: Connection, *, before: datetime, keep_at_most: int) -> Pruned:
    """Delete the changes committed before `before` and all but the newest `keep_at_most`;
    the newest change always stays. Safe while others write (writers lock only row HEAD)."""
    if keep_at_most < 1:
        raise ValueError("keep_at_most must be at least 1")
    transaction = connection.transaction_manager(
        tpb(Isolation.READ_COMMITTED_RECORD_VERSION, lock_timeout=LOCK_TIMEOUT)
    )
    try:
        for attempt in range(1, PRUNE_ATTEMPTS + 1):
            try:
                transaction.begin()
                with transaction.cursor() as cursor:
                    pruned = _prune(cursor, before=before, keep_at_most=keep_at_most)
                transaction.commit()
            except DriverError as exc:
                if transaction.is_active():
                    transaction.rollback()
                raced = is_lost_race(exc) or isinstance(translate(exc, ""), StorageConflict)
                if attempt < PRUNE_ATTEMPTS and raced:
                    continue  # another process pruned (or first marked) at the same moment
                raise translate(exc, "pruning the changelog") from exc
            return pruned
    finally:
        transaction.close()
    raise StorageError("pruning the changelog: no attempt left")  # pragma: no cover


def _prune(cursor: Any, *, before: datetime, keep_at_most: int) -> Pruned:
    row = cursor.execute(_TARGET, (before,)).fetchone()
    head, old, mark = (int(value or 0) for value in row)
    through = min(max(old, head - keep_at_most), head - 1)
    if through <= mark:
        return Pruned(mark, mark)
    cursor.execute(_DELETE_ITEMS, (through,))
    cursor.execute(_DELETE_CHANGES, (through,))
    cursor.execute(_MARK, (through,))
    return Pruned(mark, through)
