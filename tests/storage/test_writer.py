"""Group commit on a real embedded Firebird: entry batches where one change is refused, and
batches of daily-counter operations, exact under 8 processes.

Run as a module, this is the worker of the multi-process test:
`python -m tests.storage.test_writer ROOT DATA UUID DAY LIMIT COUNT BATCH` opens a counter
writer, prints `ready`, waits for a line on stdin, reserves COUNT single units in batches of
BATCH and prints how many were granted.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ixidir.directory.ports import (
    DeleteEntry,
    EntryWrite,
    NumberConflict,
    PutEntry,
    StorageConflict,
)
from ixidir.limits.policy import Service
from ixidir.limits.ports import ReleaseOp, Reservation, ReserveOp
from ixidir.server.writes import commit_batch
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.counters import FirebirdCounterStore, open_counter_store
from ixidir.storage.writer import CounterWriter

from .conftest import Database, person
from .racers import race

DAY = date(2025, 3, 30)
FAX = Service.FAX
PROCESSES, RESERVATIONS_EACH, RACE_LIMIT, BATCH = 8, 50, 100, 10


@pytest.fixture
def writer(store: FirebirdEntryStore, database: Database) -> Iterator[CounterWriter]:
    counter_writer = CounterWriter(database.counters())
    yield counter_writer
    counter_writer.close()


def test_a_change_the_database_refuses_fails_alone_and_the_rest_commit(
    store: FirebirdEntryStore,
) -> None:
    taken = person("taken")
    store.commit([PutEntry(taken)])
    before = store.last_sequence()
    clash = person("taken")  # another entry with the same DN: the DN key is unique
    fine = [person("one"), person("two")]
    results = commit_batch(store, [[PutEntry(fine[0])], [PutEntry(clash)], [PutEntry(fine[1])]])
    assert results[0] == before + 1
    assert isinstance(results[1], StorageConflict)
    assert results[2] == before + 2
    assert {entry.uuid for entry in store.load()} == {taken.uuid, fine[0].uuid, fine[1].uuid}
    assert [change.sequence for change in store.changes_since(before)] == [before + 1, before + 2]


def test_commit_many_gives_each_change_its_own_sequence_in_one_transaction(
    store: FirebirdEntryStore,
) -> None:
    before = store.last_sequence()
    entries = [person(f"user{index}") for index in range(5)]
    assert store.commit_many([[PutEntry(entry)] for entry in entries]) == [
        before + index for index in range(1, 6)
    ]
    changes = store.changes_since(before)
    assert [change.puts[0].uuid for change in changes] == [entry.uuid for entry in entries]


def test_changes_written_together_keep_their_own_items_and_numbers(
    store: FirebirdEntryStore,
) -> None:
    """A batch shares its statements (one execute per table): each change still gets its own
    changelog items, the deleted entry's number is free again, and the new ones are held."""
    gone, kept = person("gone"), person("kept")
    store.commit([PutEntry(gone, frozenset({"4930111"})), PutEntry(kept, frozenset({"4930444"}))])
    before = store.last_sequence()
    first, second = person("first"), person("second")
    batch: list[list[EntryWrite]] = [
        [PutEntry(first, frozenset({"4930222"}))],
        [PutEntry(second, frozenset({"4930333", "4930111"})), DeleteEntry(gone.uuid)],
    ]
    assert store.commit_many(batch) == [before + 1, before + 2]
    changes = store.changes_since(before)
    assert [[entry.uuid for entry in change.puts] for change in changes] == [
        [first.uuid],
        [second.uuid],
    ]
    assert [change.deleted for change in changes] == [(), (gone.uuid,)]
    late = person("late")
    results = commit_batch(
        store,
        [[PutEntry(late, frozenset({"4930999"}))], [PutEntry(person("x"), frozenset({"4930444"}))]],
    )
    assert results[0] == before + 3
    assert isinstance(results[1], NumberConflict)  # kept holds it: named, and alone refused
    assert "kept" in str(results[1])


def test_large_changes_and_batches_span_several_blocks(store: FirebirdEntryStore) -> None:
    # An import writes all its entries in one change; a busy server batches many changes.
    imported = [person(f"imp{index}") for index in range(300)]
    keys = {entry.uuid: frozenset({f"4930{index:07d}"}) for index, entry in enumerate(imported)}
    first = store.commit([PutEntry(entry, keys[entry.uuid]) for entry in imported])
    batch = [[PutEntry(person(f"bat{index}"))] for index in range(120)]
    assert store.commit_many(batch) == list(range(first + 1, first + 121))
    assert len(list(store.load())) == 420
    assert len(store.changes_since(first - 1)[0].puts) == 300


def test_a_batch_decides_reservations_in_order_up_to_the_limit(
    writer: CounterWriter, counters: FirebirdCounterStore
) -> None:
    user = str(uuid.uuid4())
    ops = [ReserveOp(user, FAX, DAY, 1, 3) for _ in range(5)]
    results = writer.run_batch(
        [*ops, ReleaseOp(user, FAX, DAY, 1), ReserveOp(user, FAX, DAY, 1, 3)]
    )
    assert results == [
        Reservation(True, 1, 3),
        Reservation(True, 2, 3),
        Reservation(True, 3, 3),
        Reservation(False, 3, 3),
        Reservation(False, 3, 3),
        2,
        Reservation(True, 3, 3),
    ]
    assert counters.used(user, FAX, day=DAY) == 3


def test_a_batch_larger_than_one_block(writer: CounterWriter) -> None:
    users = [str(uuid.uuid4()) for _ in range(40)]
    ops = [ReserveOp(user, FAX, DAY, 1, 4) for user in users for _ in range(5)]
    results = writer.run_batch(ops)
    assert sum(isinstance(r, Reservation) and r.granted for r in results) == 40 * 4


def test_an_invalid_operation_fails_alone(writer: CounterWriter) -> None:
    user = str(uuid.uuid4())
    results = writer.run_batch(
        [ReserveOp("not-a-uuid", FAX, DAY, 1, None), ReserveOp(user, FAX, DAY, 1, None)]
    )
    assert isinstance(results[0], Exception)
    assert results[1] == Reservation(True, 1, None)


def test_batches_from_8_processes_grant_exactly_the_limit(
    store: FirebirdEntryStore, counters: FirebirdCounterStore, database: Database
) -> None:
    # 8 processes x 50 reservations in batches of 10, released at once on a day with no row
    # yet: they race on the first INSERT and on the same row's UPDATE, batch against batch.
    user = str(uuid.uuid4())
    args = [
        str(database.runtime_root),
        *database.worker_arguments(),
        user,
        DAY.isoformat(),
        str(RACE_LIMIT),
    ]
    counts = race(
        "tests.storage.test_writer", [*args, str(RESERVATIONS_EACH), str(BATCH)], PROCESSES
    )
    assert sum(counts) == RACE_LIMIT
    assert counters.used(user, FAX, day=DAY) == RACE_LIMIT


def _race_worker(argv: list[str]) -> None:
    root, data, dsn, user_name, password, user, day, limit, count, batch = argv
    store = open_counter_store(
        Path(data),
        None if dsn == "-" else dsn,
        user=user_name,
        password=None if password == "-" else password,
        runtime_root=Path(root),
    )
    writer = CounterWriter(store)
    op = ReserveOp(user, FAX, date.fromisoformat(day), 1, int(limit))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    granted = 0
    for _ in range(int(count) // int(batch)):
        for result in writer.run_batch([op] * int(batch)):
            if isinstance(result, Exception):
                raise result
            granted += isinstance(result, Reservation) and result.granted
    writer.close()
    sys.stdout.write(f"{granted}\n")


if __name__ == "__main__":
    _race_worker(sys.argv[1:])
