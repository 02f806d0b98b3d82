"""Packed writes (storage.bulk): many rows per statement, the same rows as one by one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ixidir.directory.ports import NumberConflict, PutEntry, StoredEntry
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.bulk import CHUNK_BYTES
from ixidir.storage.rows import MAX_INLINE_ATTRIBUTES

from .conftest import Database, person

# Enough entries, keys and changelog items for several chunks of each.
MANY = 1500


def _tuples(entry: StoredEntry) -> StoredEntry:
    return replace(entry, attributes={k: tuple(v) for k, v in entry.attributes.items()})


def _numbered(index: int) -> str:
    return f"49814240{index:05d}"


def test_many_entries_keys_and_items_in_one_change_round_trip(
    store: FirebirdEntryStore, database: Database
) -> None:
    odd = replace(
        person("odd"),
        dn="uid=Jürgen\\, M.+cn=😀,ou=people,dc=example,dc=com",
        dn_key="uid=jürgen\\, m.+cn=😀,ou=people,dc=example,dc=com",
    )
    entries = [odd, *(person(f"u{index}") for index in range(MANY))]
    # One entry just within a chunk on its own, one larger than a chunk but still inline.
    entries.append(person("wide", description=[b"x" * (CHUNK_BYTES - 500)]))
    entries.append(person("inline", description=[b"y" * (MAX_INLINE_ATTRIBUTES - 300)]))
    writes = [
        PutEntry(entry, routing_keys=frozenset({_numbered(2 * i), _numbered(2 * i + 1)}))
        for i, entry in enumerate(entries)
    ]
    sequence = store.commit(writes)
    store.close()
    with database.open() as reopened:
        assert {e.uuid: e for e in reopened.load()} == {e.uuid: _tuples(e) for e in entries}
        (change,) = reopened.changes_since(sequence - 1)
        assert {e.uuid for e in change.puts} == {e.uuid for e in entries}
        # The keys are in the database: each one refuses a second holder.
        with pytest.raises(NumberConflict) as raised:
            reopened.commit([PutEntry(person("late"), routing_keys=frozenset({_numbered(2999)}))])
        assert raised.value.holder_uuid == entries[1499].uuid


def test_a_key_taken_in_a_later_chunk_names_its_holder_and_writes_nothing(
    store: FirebirdEntryStore,
) -> None:
    holder = person("holder")
    store.commit([PutEntry(holder, routing_keys=frozenset({_numbered(MANY - 1)}))])
    writes = [
        PutEntry(person(f"n{index}"), routing_keys=frozenset({_numbered(index)}))
        for index in range(MANY)
    ]
    with pytest.raises(NumberConflict) as raised:
        store.commit(writes)
    assert (raised.value.key, raised.value.holder_uuid) == (_numbered(MANY - 1), holder.uuid)
    assert [entry.uuid for entry in store.load()] == [holder.uuid]
    # The refused change left no key behind.
    store.commit(writes[:-1])


def test_rewriting_many_entries_replaces_their_keys(store: FirebirdEntryStore) -> None:
    entries = [person(f"r{index}") for index in range(MANY)]
    store.commit(
        [PutEntry(e, routing_keys=frozenset({_numbered(i)})) for i, e in enumerate(entries)]
    )
    # Every entry moves to its neighbour's number: all old keys must go before the new ones.
    moved = [
        PutEntry(e, routing_keys=frozenset({_numbered((i + 1) % MANY)}))
        for i, e in enumerate(entries)
    ]
    store.commit(moved)
    with pytest.raises(NumberConflict) as raised:
        store.commit([PutEntry(person("x"), routing_keys=frozenset({_numbered(0)}))])
    assert raised.value.holder_uuid == entries[-1].uuid
