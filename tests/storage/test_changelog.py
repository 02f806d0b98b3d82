"""The bounded changelog (storage.changelog): pruning, HistoryPruned, and gaps in the sequence."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from ixidir.directory.ports import PutEntry
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.changelog import HistoryPruned, prune_changelog
from ixidir.storage.migrations import utc_now

from .conftest import Database, person

LONG_AGO = datetime(2000, 1, 1)


def _commit(store: FirebirdEntryStore, count: int) -> list[int]:
    return [store.commit([PutEntry(person(f"p{index}"))]) for index in range(count)]


def _prune(database: Database, *, before: datetime, keep_at_most: int) -> int:
    connection = database.connect()
    try:
        return prune_changelog(connection, before=before, keep_at_most=keep_at_most).through
    finally:
        connection.close()


def test_pruning_keeps_the_newest_entries_and_refuses_older_readers(
    store: FirebirdEntryStore, database: Database
) -> None:
    assert _commit(store, 5) == [1, 2, 3, 4, 5]
    assert _prune(database, before=LONG_AGO, keep_at_most=2) == 3
    assert [change.sequence for change in store.changes_since(3)] == [4, 5]
    with pytest.raises(HistoryPruned) as raised:
        store.changes_since(2)
    assert (raised.value.since, raised.value.through) == (2, 3)
    # Pruning again with the same bounds changes nothing; the entries themselves stay.
    assert _prune(database, before=LONG_AGO, keep_at_most=2) == 3
    assert len(list(store.load())) == 5


def test_old_changes_go_but_never_the_newest(store: FirebirdEntryStore, database: Database) -> None:
    _commit(store, 3)
    assert _prune(database, before=utc_now() + timedelta(days=1), keep_at_most=1000) == 2
    assert [change.sequence for change in store.changes_since(2)] == [3]
    # The newest change keeps its commit time: snapshots of it can still be stamped.
    assert store.change_stamp(3) is not None
    assert store.change_stamp(1) is None


def test_a_sequence_taken_and_never_committed_neither_stalls_nor_spins_a_follower(
    store: FirebirdEntryStore, database: Database
) -> None:
    _commit(store, 1)
    seen = store.changes_since(0)[-1].sequence
    connection = database.connect()
    try:
        with connection.cursor() as cursor:  # a value taken, its change never written
            cursor.execute("UPDATE CHANGELOG_HEAD SET SEQ = SEQ + 1 WHERE ID = 1")
        connection.commit()
    finally:
        connection.close()
    assert store.wait_for_change(0.5)
    assert store.changes_since(seen) == []
    started = time.monotonic()
    assert not store.wait_for_change(0.3)  # no spin: it waits out its timeout
    assert time.monotonic() - started >= 0.25
    with database.open() as writer:
        after = writer.commit([PutEntry(person("after"))])
    assert after == seen + 2
    assert store.wait_for_change(5)
    assert [change.sequence for change in store.changes_since(seen)] == [after]
