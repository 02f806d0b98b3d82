"""Forced writes off for a bulk load, then on again; attachments turn them back on."""

from __future__ import annotations

from pathlib import Path

import pytest
from open_files import synchronous_descriptors

from ixidir.directory.ports import PutEntry
from ixidir.storage import DATABASE_FILE, database_file
from ixidir.storage.writemode import bulk_load, forced_writes, local_database, set_forced_writes

from .conftest import Database, person


def _forced(database: Database) -> bool:
    """The write mode an attachment made now gets (a plain one, which changes nothing)."""
    connection = database.connect()
    try:
        return forced_writes(connection)
    finally:
        connection.close()


@pytest.fixture
def embedded(data_dir: Path, runtime_root: Path) -> Database:
    """An embedded database (a Firebird server's write mode is its administrator's)."""
    database = Database(data_dir, runtime_root)
    database.open(create=True).close()
    return database


def test_a_bulk_load_writes_without_forced_writes_and_leaves_them_on(embedded: Database) -> None:
    entry = person("bulk")
    file = embedded.data_dir / DATABASE_FILE
    with bulk_load(file) as settle, embedded.open() as store:
        # The loader's attachment writes unforced; its opening turned them on for others.
        assert synchronous_descriptors(file) == [False]
        assert _forced(embedded)
        sequence = store.commit([PutEntry(entry, frozenset({"4981424000123"}))])
        settle()
    with embedded.open() as store:
        assert synchronous_descriptors(file) == [True]
        assert [stored.uuid for stored in store.load()] == [entry.uuid]
        assert store.last_sequence() == sequence


def test_a_failed_bulk_load_leaves_forced_writes_on(embedded: Database) -> None:
    with pytest.raises(RuntimeError), bulk_load(embedded.data_dir / DATABASE_FILE):
        raise RuntimeError("the import was refused")
    assert _forced(embedded)


def test_opening_the_store_turns_forced_writes_back_on(embedded: Database) -> None:
    """A bulk load killed half way leaves them off; the next attachment restores them."""
    set_forced_writes(embedded.data_dir / DATABASE_FILE, on=False)
    assert not _forced(embedded)
    embedded.open().close()
    assert _forced(embedded)


def test_only_local_files_are_loaded_in_bulk(tmp_path: Path) -> None:
    assert database_file(tmp_path, None) == tmp_path / DATABASE_FILE
    assert database_file(tmp_path, "/srv/ixidir.fdb") == Path("/srv/ixidir.fdb")
    assert database_file(tmp_path, "db1:3050/srv/ixidir.fdb") is None
    assert local_database("db1/3051:/srv/ixidir.fdb") is None


def test_holds_only(database: Database) -> None:
    with database.open(create=True) as store:
        assert store.holds_only(frozenset())
        entry = person("only")
        store.commit([PutEntry(entry, frozenset())])
        assert store.holds_only(frozenset({entry.dn_key, "dc=example,dc=com"}))
        assert not store.holds_only(frozenset({"dc=example,dc=com"}))
