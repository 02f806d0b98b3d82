"""Schema migrations: applied once, idempotent, and a newer on-disk schema is refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ixidir.directory.lockout import DEFAULTS, BindThrottles, Fail, Throttle, account
from ixidir.directory.ports import PutEntry, StorageError
from ixidir.storage import SCHEMA_VERSION
from ixidir.storage.migrations import migrate

from .conftest import Database, person


def _versions(database: Database) -> list[tuple[int, str]]:
    connection = database.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION, PURPOSE FROM SCHEMA_VERSION ORDER BY VERSION")
            return [(int(row[0]), str(row[1])) for row in cursor.fetchall()]
    finally:
        connection.close()


def test_create_applies_every_migration_once(database: Database) -> None:
    database.open(create=True).close()
    versions = _versions(database)
    assert [version for version, _ in versions] == list(range(1, SCHEMA_VERSION + 1))


def test_reopening_migrates_nothing(database: Database) -> None:
    database.open(create=True).close()
    before = _versions(database)
    connection = database.connect()
    try:
        assert migrate(connection) == SCHEMA_VERSION
        assert migrate(connection) == SCHEMA_VERSION
    finally:
        connection.close()
    database.open().close()
    assert _versions(database) == before


def test_a_newer_schema_on_disk_is_refused(database: Database) -> None:
    database.open(create=True).close()
    connection = database.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO SCHEMA_VERSION (VERSION, PURPOSE, APPLIED_AT) "
                "VALUES (?, 'from the future', CURRENT_TIMESTAMP)",
                (SCHEMA_VERSION + 1,),
            )
        connection.commit()
    finally:
        connection.close()
    with pytest.raises(StorageError, match=f"newer than this ixidir's {SCHEMA_VERSION}"):
        database.open()


def test_a_database_of_schema_3_is_upgraded_and_keeps_working(database: Database) -> None:
    """A database written by the release before Firebird 3 support (schema 3): migration 4
    gives it an identity, and its entries, changelog and stamps keep working."""
    old = person("old")
    database.create_at_version(3, old)
    with database.open() as store:
        assert [entry.uuid for entry in store.load()] == [old.uuid]
        sequence = store.commit([PutEntry(person("new"))])
        stamp = store.change_stamp(sequence)
        assert stamp is not None
        assert stamp.split("/")[0] == str(store.change_stamp(0)).split("/")[0]
    assert [version for version, _ in _versions(database)] == list(range(1, SCHEMA_VERSION + 1))


def test_a_database_of_schema_4_gets_the_failed_binds_table(database: Database) -> None:
    """A database written by the release before bind lockout (schema 4, issue 12): migration 5
    adds BIND_FAILURES, and its entries stay."""
    old = person("old")
    database.create_at_version(4, old)
    with database.open() as store:
        assert [entry.uuid for entry in store.load()] == [old.uuid]
    failures = database.bind_failures()
    try:
        alice = account(old.dn_key)
        throttles = BindThrottles(account=Throttle(1, 60, 0), address=DEFAULTS.address)
        failures.run_batch([Fail((alice,), throttles, datetime(2026, 12, 7))])
        assert failures.failures(alice).locked_at == datetime(2026, 12, 7)
    finally:
        failures.close()
    assert [version for version, _ in _versions(database)] == list(range(1, SCHEMA_VERSION + 1))


# Firebird 4 added BINARY(n) and VARBINARY(n) as names for CHAR/VARCHAR CHARACTER SET OCTETS:
# databases created by the releases that wrote those names have the columns migration 1 now
# writes in 3.0's words.
_FIELD_TYPE = (
    "SELECT F.RDB$FIELD_TYPE, F.RDB$FIELD_LENGTH, F.RDB$CHARACTER_SET_ID "
    "FROM RDB$RELATION_FIELDS R JOIN RDB$FIELDS F ON F.RDB$FIELD_NAME = R.RDB$FIELD_SOURCE "
    "WHERE R.RDB$RELATION_NAME = ? AND R.RDB$FIELD_NAME = ?"
)


def test_binary_columns_of_older_databases_are_the_octets_columns_of_today(
    data_dir: Path, runtime_root: Path
) -> None:
    """Embedded only: BINARY is Firebird 4 syntax, and the server may be 3.0."""
    embedded = Database(data_dir, runtime_root)
    embedded.open(create=True).close()
    connection = embedded.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE OLD_NAMES (H BINARY(32), A VARBINARY(32000))")
            connection.commit()
            for old, new in (("H", "DN_KEY_HASH"), ("A", "ATTRS")):
                before = cursor.execute(_FIELD_TYPE, ("OLD_NAMES", old)).fetchone()
                today = cursor.execute(_FIELD_TYPE, ("ENTRIES", new)).fetchone()
                assert before == today
    finally:
        connection.close()
