"""Routing keys in the database: one canonical number, one entry, across stores and processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from ixidir.directory.ports import DeleteEntry, NumberConflict, PutEntry, StorageError, StoredEntry
from ixidir.storage import SCHEMA_VERSION, FirebirdEntryStore
from ixidir.storage.migrations import migrate

from .conftest import Database, person

NUMBER = "4981424799123"
OTHER = "4981424799124"


@pytest.fixture
def second(store: FirebirdEntryStore, database: Database) -> Iterator[FirebirdEntryStore]:
    """Another store on the same database, as another worker or the CLI would hold."""
    with database.open() as opened:
        yield opened


def _put(entry: StoredEntry, *keys: str) -> PutEntry:
    return PutEntry(entry, routing_keys=frozenset(keys))


def _uuids(store: FirebirdEntryStore) -> set[str]:
    return {entry.uuid for entry in store.load()}


def test_a_key_held_by_an_entry_of_another_store_is_refused_with_its_holder(
    store: FirebirdEntryStore, second: FirebirdEntryStore
) -> None:
    holder, newcomer = person("holder"), person("newcomer")
    store.commit([_put(holder, NUMBER)])
    before = second.last_sequence()
    with pytest.raises(NumberConflict) as raised:
        second.commit([_put(newcomer, OTHER, NUMBER)])
    assert (raised.value.key, raised.value.holder_uuid) == (NUMBER, holder.uuid)
    assert raised.value.holder_dn == holder.dn
    assert _uuids(second) == {holder.uuid}
    assert second.last_sequence() == before
    # Nothing of the failed change stayed behind: its other key is still free.
    second.commit([_put(newcomer, OTHER)])


def test_of_two_concurrent_writers_of_one_key_exactly_one_succeeds(
    store: FirebirdEntryStore, second: FirebirdEntryStore
) -> None:
    entries = {id(store): person("first"), id(second): person("second")}
    start = threading.Barrier(2)
    outcomes: dict[str, BaseException | int] = {}

    def write(writer: FirebirdEntryStore) -> None:
        entry = entries[id(writer)]
        start.wait()
        try:
            outcomes[entry.uuid] = writer.commit([_put(entry, NUMBER)])
        except StorageError as exc:
            outcomes[entry.uuid] = exc

    threads = [threading.Thread(target=write, args=(s,)) for s in (store, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [uuid for uuid, outcome in outcomes.items() if isinstance(outcome, int)]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, BaseException)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1, outcomes
    assert isinstance(losers[0], NumberConflict)
    assert losers[0].holder_uuid == winners[0]
    assert _uuids(store) == set(winners)
    assert store.last_sequence() == 1


def test_a_put_that_drops_a_key_frees_it(
    store: FirebirdEntryStore, second: FirebirdEntryStore
) -> None:
    holder = person("holder")
    store.commit([_put(holder, NUMBER, OTHER)])
    store.commit([_put(replace(holder, attributes={**holder.attributes}), OTHER)])
    newcomer = person("newcomer")
    second.commit([_put(newcomer, NUMBER)])
    with pytest.raises(NumberConflict) as raised:
        second.commit([_put(person("third"), OTHER)])
    assert raised.value.holder_uuid == holder.uuid


def test_a_delete_frees_the_entrys_keys(
    store: FirebirdEntryStore, second: FirebirdEntryStore
) -> None:
    holder = person("holder")
    store.commit([_put(holder, NUMBER)])
    store.commit([DeleteEntry(holder.uuid)])
    second.commit([_put(person("successor"), NUMBER)])


def test_one_change_may_move_a_key_between_entries(store: FirebirdEntryStore) -> None:
    giver, taker = person("giver"), person("taker")
    store.commit([_put(giver, NUMBER)])
    # The taker comes first in the batch: old keys of every written entry go before new ones.
    store.commit([_put(taker, NUMBER), _put(giver)])
    with pytest.raises(NumberConflict) as raised:
        store.commit([_put(giver, NUMBER)])
    assert raised.value.holder_uuid == taker.uuid


def test_two_entries_of_one_change_cannot_share_a_key(store: FirebirdEntryStore) -> None:
    with pytest.raises(NumberConflict):
        store.commit([_put(person("a"), NUMBER), _put(person("b"), NUMBER)])
    assert _uuids(store) == set()
    assert store.last_sequence() == 0


def test_rewriting_an_entry_with_its_own_keys_is_no_conflict(store: FirebirdEntryStore) -> None:
    holder = person("holder")
    store.commit([_put(holder, NUMBER)])
    assert store.commit([_put(holder, NUMBER)]) == 2


def _key_rows(database: Database) -> dict[str, tuple[str, int]]:
    """Each stored routing key's holder and the transaction that wrote its row."""
    connection = database.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT KEY, ENTRY_UUID, RDB$RECORD_VERSION FROM ROUTING_KEYS")
            return {key: (uuid, version) for key, uuid, version in cursor.fetchall()}
    finally:
        connection.close()


def test_a_put_leaves_the_key_rows_it_keeps_untouched(
    store: FirebirdEntryStore, database: Database
) -> None:
    holder, other = person("holder"), person("other")
    store.commit([_put(holder, NUMBER, OTHER), _put(other, "4930123456")])
    before = _key_rows(database)
    store.commit([_put(holder, NUMBER, OTHER)])  # a modify that leaves the numbers alone
    assert _key_rows(database) == before
    store.commit([_put(holder, NUMBER, "4989111222")])  # one kept, one dropped, one new
    after = _key_rows(database)
    assert set(after) == {NUMBER, "4989111222", "4930123456"}
    assert after[NUMBER] == before[NUMBER]
    assert after["4989111222"][0] == holder.uuid
    assert after["4930123456"] == before["4930123456"]
    second = person("second")
    store.commit([_put(second, OTHER)])  # the dropped key is free again


def test_a_key_is_found_only_whole_among_the_kept_ones(
    store: FirebirdEntryStore, database: Database
) -> None:
    """A key that is a part of another (`4981` in `49814`) is no kept key of its own."""
    holder = person("holder")
    store.commit([_put(holder, "4981", "498142")])
    store.commit([_put(holder, "49814")])
    assert {key: uuid for key, (uuid, _) in _key_rows(database).items()} == {"49814": holder.uuid}


@pytest.mark.parametrize(
    "key", ["", "1234567890123456", "+4981424799123", "49 8142", "\uff14\uff19"]
)
def test_a_malformed_key_is_refused_before_anything_is_written(
    store: FirebirdEntryStore, key: str
) -> None:
    with pytest.raises(StorageError, match="not a routing key"):
        store.commit([_put(person("holder"), key)])
    assert _uuids(store) == set()


def test_a_version_2_database_is_migrated_and_its_entries_keep_working(
    database: Database,
) -> None:
    """A database of the release before routing keys: migration 3 adds an empty table, and an
    old entry gets its keys on its next write (migrations.py says why there is no backfill)."""
    old = person("old")
    database.create_at_version(2, old)
    with database.open() as store:
        assert _uuids(store) == {old.uuid}
        store.commit([_put(person("new"), OTHER)])
        store.commit([_put(old, NUMBER)])
        with pytest.raises(NumberConflict) as raised:
            store.commit([_put(person("late"), NUMBER)])
        assert raised.value.holder_uuid == old.uuid
    connection = database.connect()
    try:
        assert migrate(connection) == SCHEMA_VERSION
    finally:
        connection.close()
