"""Schema migrations: applied once, idempotent, and a newer on-disk schema is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ixidir.directory.ports import StorageError
from ixidir.storage import DATABASE_FILE, SCHEMA_VERSION, open_entry_store
from ixidir.storage.database import open_database
from ixidir.storage.migrations import migrate


def _versions(path: Path) -> list[tuple[int, str]]:
    connection = open_database(path, create=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION, PURPOSE FROM SCHEMA_VERSION ORDER BY VERSION")
            return [(int(row[0]), str(row[1])) for row in cursor.fetchall()]
    finally:
        connection.close()


def test_create_applies_every_migration_once(data_dir: Path, runtime_root: Path) -> None:
    open_entry_store(data_dir, None, create=True, runtime_root=runtime_root).close()
    versions = _versions(data_dir / DATABASE_FILE)
    assert [version for version, _ in versions] == list(range(1, SCHEMA_VERSION + 1))


def test_reopening_migrates_nothing(data_dir: Path, runtime_root: Path) -> None:
    open_entry_store(data_dir, None, create=True, runtime_root=runtime_root).close()
    before = _versions(data_dir / DATABASE_FILE)
    connection = open_database(data_dir / DATABASE_FILE, create=False)
    try:
        assert migrate(connection) == SCHEMA_VERSION
        assert migrate(connection) == SCHEMA_VERSION
    finally:
        connection.close()
    open_entry_store(data_dir, None, create=False, runtime_root=runtime_root).close()
    assert _versions(data_dir / DATABASE_FILE) == before


def test_a_newer_schema_on_disk_is_refused(data_dir: Path, runtime_root: Path) -> None:
    open_entry_store(data_dir, None, create=True, runtime_root=runtime_root).close()
    connection = open_database(data_dir / DATABASE_FILE, create=False)
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
    with pytest.raises(StorageError, match="newer than this ixidir knows"):
        open_entry_store(data_dir, None, create=False, runtime_root=runtime_root)
