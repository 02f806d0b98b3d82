"""FirebirdEntryStore against a real embedded Firebird database."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ixidir.directory.ports import (
    Change,
    DeleteEntry,
    PutEntry,
    StorageConflict,
    StorageError,
)
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.rows import MAX_INLINE_ATTRIBUTES

from .conftest import Database, person


def test_entries_round_trip_with_binary_and_unicode_values(
    store: FirebirdEntryStore, database: Database
) -> None:
    binary = bytes(range(256)) + b"\xff\xfe\x00"
    alice = person("alice", jpegPhoto=[binary], description=["Grüße 😀".encode(), b""])
    bob = person("bob", cn=["Bob Müller".encode()])
    store.commit([PutEntry(alice), PutEntry(bob)])
    store.close()
    with database.open() as reopened:
        loaded = {entry.uuid: entry for entry in reopened.load()}
    assert loaded == {alice.uuid: _as_tuples(alice), bob.uuid: _as_tuples(bob)}


def test_large_entries_round_trip(store: FirebirdEntryStore) -> None:
    photo = bytes(range(256)) * (MAX_INLINE_ATTRIBUTES // 128)
    entry = person("carol", jpegPhoto=[photo])
    store.commit([PutEntry(entry)])
    assert list(store.load()) == [_as_tuples(entry)]


def test_put_replaces_the_entry_with_the_same_uuid(store: FirebirdEntryStore) -> None:
    entry = person("dave")
    renamed = replace(entry, dn="uid=david,dc=example,dc=com", dn_key="uid=david,dc=example,dc=com")
    store.commit([PutEntry(entry)])
    store.commit([PutEntry(renamed)])
    assert list(store.load()) == [_as_tuples(renamed)]


def test_delete_removes_the_entry(store: FirebirdEntryStore) -> None:
    keep, drop = person("erin"), person("frank")
    store.commit([PutEntry(keep), PutEntry(drop)])
    store.commit([DeleteEntry(drop.uuid)])
    assert [entry.uuid for entry in store.load()] == [keep.uuid]


def test_conflicting_dn_key_in_a_batch_writes_nothing(store: FirebirdEntryStore) -> None:
    first = person("grace")
    store.commit([PutEntry(first)])
    before = store.last_sequence()
    newcomer = person("heidi")
    clash = replace(person("grace"), dn="UID=Grace,ou=people,dc=example,dc=com")
    with pytest.raises(StorageConflict):
        store.commit([PutEntry(newcomer), PutEntry(clash)])
    assert [entry.uuid for entry in store.load()] == [first.uuid]
    assert store.last_sequence() == before
    assert store.changes_since(before) == []


def test_a_batch_may_free_a_dn_key_and_reuse_it(store: FirebirdEntryStore) -> None:
    first = person("gina")
    store.commit([PutEntry(first)])
    successor = person("gina")
    store.commit([DeleteEntry(first.uuid), PutEntry(successor)])
    assert list(store.load()) == [_as_tuples(successor)]


def test_store_keeps_working_after_a_failed_commit(store: FirebirdEntryStore) -> None:
    entry = person("ivan")
    store.commit([PutEntry(entry)])
    with pytest.raises(StorageConflict):
        store.commit([PutEntry(replace(person("ivan"), uuid=person("x").uuid))])
    other = person("judy")
    assert store.commit([PutEntry(other)]) == 2


def test_invalid_uuid_is_a_storage_error(store: FirebirdEntryStore) -> None:
    with pytest.raises(StorageError):
        store.commit([PutEntry(replace(person("kim"), uuid="short"))])
    assert store.last_sequence() == 0


def test_too_long_dn_is_a_storage_error(store: FirebirdEntryStore) -> None:
    long_dn = "cn=" + "x" * 2000 + ",dc=example,dc=com"
    with pytest.raises(StorageError):
        store.commit([PutEntry(replace(person("lee"), dn=long_dn, dn_key=long_dn))])


def test_dn_keys_longer_than_an_index_key_stay_unique(store: FirebirdEntryStore) -> None:
    long_dn = "cn=" + "ä" * 1500 + ",dc=example,dc=com"
    store.commit([PutEntry(replace(person("mia"), dn=long_dn, dn_key=long_dn))])
    with pytest.raises(StorageConflict):
        store.commit([PutEntry(replace(person("ned"), dn=long_dn, dn_key=long_dn))])


def test_entry_count_counts_what_is_stored(store: FirebirdEntryStore) -> None:
    assert store.entry_count() == 0
    kept, dropped = person("quinn"), person("rosa")
    store.commit([PutEntry(kept), PutEntry(dropped)])
    assert store.entry_count() == 2
    store.commit([DeleteEntry(dropped.uuid)])
    assert store.entry_count() == 1


def test_sequences_count_up_from_one(store: FirebirdEntryStore) -> None:
    assert store.last_sequence() == 0
    assert store.commit([PutEntry(person("olga"))]) == 1
    assert store.commit([PutEntry(person("paul"))]) == 2
    assert store.last_sequence() == 2


def test_empty_commit_records_nothing(store: FirebirdEntryStore) -> None:
    store.commit([PutEntry(person("quinn"))])
    assert store.commit([]) == 1
    assert store.changes_since(0)[-1].sequence == 1


def test_changes_since_lists_changes_oldest_first_with_current_rows(
    store: FirebirdEntryStore,
) -> None:
    rita, sam, tom = person("rita"), person("sam"), person("tom")
    store.commit([PutEntry(rita), PutEntry(sam)])
    rita_now = replace(rita, attributes={**rita.attributes, "mail": [b"rita@example.com"]})
    store.commit([PutEntry(rita_now), PutEntry(tom)])
    store.commit([DeleteEntry(sam.uuid)])
    changes = store.changes_since(0)
    assert [change.sequence for change in changes] == [1, 2, 3]
    assert changes[0].deleted == (sam.uuid,)
    assert changes[0].puts == (_as_tuples(rita_now),)
    by_uuid = {entry.uuid: entry for entry in changes[1].puts}
    assert by_uuid == {rita.uuid: _as_tuples(rita_now), tom.uuid: _as_tuples(tom)}
    assert changes[2] == Change(3, (), (sam.uuid,))
    assert store.changes_since(2) == [changes[2]]
    assert store.changes_since(3) == []


def test_load_reports_the_sequence_it_contains(store: FirebirdEntryStore) -> None:
    store.commit([PutEntry(person("uma"))])
    store.commit([PutEntry(person("vic"))])
    assert len(list(store.load())) == 2
    assert store.loaded_sequence == 2


def test_a_change_wakes_a_waiter_on_another_connection(
    store: FirebirdEntryStore, database: Database
) -> None:
    with database.open() as follower:
        seen = follower.last_sequence()
        assert not follower.wait_for_change(0.2)
        store.commit([PutEntry(person("walt"))])
        assert follower.wait_for_change(30)
        assert [change.sequence for change in follower.changes_since(seen)] == [1]
        assert not follower.wait_for_change(0.2)  # it was reported: nothing more
        assert follower.changes_since(1) == []


def test_a_commit_between_a_read_and_the_next_wait_wakes_that_wait(
    store: FirebirdEntryStore, database: Database
) -> None:
    """A commit after a follower read the changelog wakes its next wait at once."""
    with database.open() as follower:
        follower.wait_for_change(0.01)
        seen = follower.last_sequence()
        assert follower.changes_since(seen) == []
        store.commit([PutEntry(person("queued"))])
        assert follower.wait_for_change(30)
        assert [change.sequence for change in follower.changes_since(seen)] == [seen + 1]
        assert not follower.wait_for_change(0.2)  # and then nothing more


def test_a_store_that_polls_often_reads_every_commit_in_one_read_transaction(
    store: FirebirdEntryStore, database: Database
) -> None:
    """A follower's connection keeps its read-only transaction between polls (saving its
    begin and commit); each read still sees what was committed since. Any other store ends
    its read transaction at once: an idle one holds back garbage collection."""
    with database.open() as follower, database.open() as occasional:
        follower.polls_often()
        seen = follower.last_sequence()
        occasional.last_sequence()
        transaction = follower._read.info.id
        for number in range(3):
            store.commit([PutEntry(person(f"polled{number}"))])
            changes = follower.changes_since(seen + number)
            assert [change.sequence for change in changes] == [seen + number + 1]
            assert follower._read.info.id == transaction  # the same transaction throughout
        assert not occasional._read.is_active()
        assert [c.sequence for c in occasional.changes_since(seen)] == [
            seen + 1,
            seen + 2,
            seen + 3,
        ]
        assert not occasional._read.is_active()


def test_close_is_idempotent_and_the_store_is_a_context_manager(
    database: Database,
) -> None:
    with database.open(create=True) as store:
        store.wait_for_change(0.01)
    store.close()


def _as_tuples(entry: object) -> object:
    """The entry as load() returns it: attribute values as tuples."""
    assert hasattr(entry, "attributes")
    attributes = {name: tuple(values) for name, values in entry.attributes.items()}
    return replace(entry, attributes=attributes)  # type: ignore[type-var]


def test_a_follower_starting_from_a_loaded_state_is_not_woken_for_old_changes(
    store: FirebirdEntryStore, database: Database
) -> None:
    """changes_since(N) tells the store the caller has N: waiting then sleeps until new work
    (a server that loaded the directory must not spin on changes it already has)."""
    store.commit([PutEntry(person("early"))])
    with database.open() as follower:
        assert follower.changes_since(store.last_sequence()) == []
        assert follower.wait_for_change(0.2) is False


def test_a_change_stamp_names_the_database_and_the_change(
    store: FirebirdEntryStore, database: Database, tmp_path: Path
) -> None:
    empty = store.change_stamp(0)
    assert empty is not None
    assert empty.endswith("/0")
    first = store.commit([PutEntry(person("rita"))])
    stamp = store.change_stamp(first)
    assert stamp is not None
    assert stamp.split("/")[0] == empty.split("/")[0]
    assert store.change_stamp(first) == stamp  # stable
    assert store.change_stamp(first + 1) is None  # not (yet) committed
    second = store.commit([PutEntry(person("sam"))])
    assert store.change_stamp(second) not in (None, stamp)
    other_dir = tmp_path / "other"
    with database.another(other_dir).open(create=True) as other:
        other.commit([PutEntry(person("rita"))])
        assert other.change_stamp(first) != stamp  # another database, same sequence


def test_a_commit_that_waited_for_another_writer_still_succeeds(
    store: FirebirdEntryStore, database: Database
) -> None:
    """Another transaction holds the changelog head row; our commit waits for it. When that
    one commits, Firebird 3 reports an update conflict (4+ restarts the statement): the change
    is run again and succeeds, with the next sequence."""
    blocker = database.connect()
    try:
        blocker.begin()
        with blocker.cursor() as cursor:
            cursor.execute("UPDATE CHANGELOG_HEAD SET SEQ = SEQ + 1 WHERE ID = 1")
        sequences: list[int] = []
        writer = threading.Thread(
            target=lambda: sequences.append(store.commit([PutEntry(person("waiter"))]))
        )
        writer.start()
        time.sleep(0.5)  # let the writer reach the head row and wait for its lock
        assert writer.is_alive()
        blocker.commit()
        writer.join(timeout=30)
    finally:
        blocker.close()
    assert sequences == [2]
    assert [entry.dn for entry in store.load()] == [person("waiter").dn]
