"""Opening and creating databases: DSN forms, creation settings, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ixidir.directory.ports import StorageUnavailable
from ixidir.storage import open_entry_store
from ixidir.storage.database import (
    PAGE_SIZE,
    Target,
    is_supported_engine,
    open_database,
    parse_dsn,
)

from .conftest import Database


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("/srv/ixidir/ixidir.fdb", Target("/srv/ixidir/ixidir.fdb", is_server=False)),
        ("data/ixidir.fdb", Target("data/ixidir.fdb", is_server=False)),
        ("./a:b.fdb", Target("./a:b.fdb", is_server=False)),
        ("db1:/srv/ixidir.fdb", Target("db1:/srv/ixidir.fdb", is_server=True)),
        ("db1/3051:/srv/ixidir.fdb", Target("db1/3051:/srv/ixidir.fdb", is_server=True)),
        ("db1:3051/ixidir", Target("db1/3051:ixidir", is_server=True)),
        ("10.0.0.5:3050//srv/ixidir.fdb", Target("10.0.0.5/3050:/srv/ixidir.fdb", is_server=True)),
        ("10.0.0.5:3050:/srv/ixidir.fdb", Target("10.0.0.5/3050:/srv/ixidir.fdb", is_server=True)),
        ("db1:3050/srv/ixidir/x.fdb", Target("db1/3050:/srv/ixidir/x.fdb", is_server=True)),
    ],
)
def test_dsn_forms(dsn: str, expected: Target) -> None:
    assert parse_dsn(dsn) == expected


def test_a_path_object_is_always_a_local_file() -> None:
    assert parse_dsn(Path("host:db")) == Target("host:db", is_server=False)


def test_created_database_has_forced_writes_16k_pages_and_utf8(
    tmp_path: Path, runtime_root: Path
) -> None:
    connection = open_database(tmp_path / "new.fdb", create=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT MON$FORCED_WRITES, MON$PAGE_SIZE FROM MON$DATABASE")
            assert cursor.fetchone() == (1, PAGE_SIZE)
            cursor.execute("SELECT TRIM(RDB$CHARACTER_SET_NAME) FROM RDB$DATABASE")
            assert cursor.fetchone() == ("UTF8",)
    finally:
        connection.close()


def test_missing_database_is_unavailable(tmp_path: Path, runtime_root: Path) -> None:
    with pytest.raises(StorageUnavailable, match="no such file"):
        open_entry_store(tmp_path, None, create=False, runtime_root=runtime_root)


def test_corrupt_database_is_unavailable_with_the_engines_reason(
    tmp_path: Path, runtime_root: Path
) -> None:
    (tmp_path / "ixidir.fdb").write_bytes(b"not a database" * 2000)
    with pytest.raises(StorageUnavailable, match="not a valid database"):
        open_entry_store(tmp_path, None, create=False, runtime_root=runtime_root)


def test_a_directory_is_not_a_database(tmp_path: Path, runtime_root: Path) -> None:
    (tmp_path / "ixidir.fdb").mkdir()
    with pytest.raises(StorageUnavailable):
        open_entry_store(tmp_path, None, create=False, runtime_root=runtime_root)


def test_creating_over_an_existing_file_is_refused(tmp_path: Path, runtime_root: Path) -> None:
    (tmp_path / "ixidir.fdb").write_bytes(b"precious")
    with pytest.raises(StorageUnavailable, match="already exists"):
        open_entry_store(tmp_path, None, create=True, runtime_root=runtime_root)
    assert (tmp_path / "ixidir.fdb").read_bytes() == b"precious"


def test_unreachable_server_is_unavailable(runtime_root: Path) -> None:
    # Port 1 on the loopback refuses connections: nothing listens there.
    with pytest.raises(StorageUnavailable):
        open_database("127.0.0.1/1:/nowhere.fdb", create=False, password="x")


@pytest.mark.parametrize(
    ("version", "supported"),
    [("3.0.11", True), ("4.0.5", True), ("5.0.1", True), ("2.5.9", False), ("", False)],
)
def test_servers_older_than_3_0_are_refused(version: str, supported: bool) -> None:
    """A 2.5 server is not at hand to attach to; the decision is this function's."""
    assert is_supported_engine(version) is supported


def test_each_store_runs_a_supported_engine(database: Database) -> None:
    database.open(create=True).close()
    connection = database.connect()
    try:
        version = connection.info.engine_version
    finally:
        connection.close()
    assert version >= 3.0


def test_a_server_connection_is_encrypted(database: Database) -> None:
    """The private server says `WireCrypt = Required`; the wheel's Firebird 5 client agrees
    (Srp gives the session key). Embedded attachments have no wire."""
    database.open(create=True).close()
    connection = database.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RDB$GET_CONTEXT('SYSTEM', 'WIRE_ENCRYPTED') FROM RDB$DATABASE")
            row = cursor.fetchone()
    finally:
        connection.close()
    assert row == (("TRUE" if database.dsn else None),)
