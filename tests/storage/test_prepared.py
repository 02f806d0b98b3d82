"""Statements prepared once per connection run in every later transaction of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from firebird.driver import Error as DriverError
from firebird.driver import Isolation, TraAccessMode, tpb

from ixidir.directory.ports import PutEntry
from ixidir.storage import prepared
from ixidir.storage.prepared import PreparedStatements

from .conftest import Database, person

_COUNT = "SELECT COUNT(*) FROM ENTRIES"


def test_one_statement_serves_every_transaction_and_sees_its_commits(database: Database) -> None:
    with database.open(create=True) as store:
        connection = database.connect()
        try:
            read = connection.transaction_manager(
                tpb(Isolation.READ_COMMITTED_RECORD_VERSION, access_mode=TraAccessMode.READ)
            )
            statements = PreparedStatements()
            counts, used = [], []
            for name in ("one", "two"):
                store.commit([PutEntry(person(name))])
                read.begin()
                with statements.cursor(read) as cursor:
                    used.append(statements.statement(cursor._cursor, _COUNT))
                    counts.append(cursor.execute(_COUNT).fetchone()[0])
                read.commit()
            assert counts[1] == counts[0] + 1
            assert used[0] is used[1]  # prepared once, in the first transaction
            statements.forget()
        finally:
            connection.close()


def test_a_full_cache_runs_further_texts_unprepared(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared, "MAX_PREPARED", 1)
    with database.open(create=True):
        connection = database.connect()
        try:
            read = connection.transaction_manager()
            statements = PreparedStatements()
            read.begin()
            with statements.cursor(read) as cursor:
                assert cursor.execute("SELECT 1 FROM RDB$DATABASE").fetchone() == (1,)
                assert cursor.execute("SELECT 2 FROM RDB$DATABASE").fetchone() == (2,)
                assert statements.statement(cursor._cursor, "SELECT 2 FROM RDB$DATABASE") == (
                    "SELECT 2 FROM RDB$DATABASE"
                )
            read.commit()
            statements.forget()
        finally:
            connection.close()


_PROBE = (
    "RECREATE TABLE DIRECT_PROBE "
    "(N INTEGER NOT NULL PRIMARY KEY, V VARCHAR(8000) CHARACTER SET OCTETS)"
)
_INSERT = """EXECUTE BLOCK (D VARCHAR(32000) CHARACTER SET OCTETS = ?) AS
BEGIN
  INSERT INTO DIRECT_PROBE (N, V) VALUES (OCTET_LENGTH(:D), SUBSTRING(:D FROM 1 FOR 8000));
END"""
_VALUES = (b"", b"\x00\xff\x00 binary", "äö€".encode(), bytes(range(256)) * 31)


def _run_probe(database: Database, *, direct: bool) -> tuple[list[tuple[int, bytes]], Exception]:
    """Insert _VALUES through one prepared cursor, then one value again (a primary key hit)."""
    connection = database.connect(create=True)
    try:
        connection.execute_immediate(_PROBE)
        connection.commit()
        write = connection.transaction_manager()
        statements = PreparedStatements()
        write.begin()
        with statements.cursor(write) as cursor:
            for value in _VALUES:
                cursor.execute(_INSERT, (value,))
            assert (statements.direct(_INSERT) is not None) is direct
            with pytest.raises(DriverError) as refused:
                cursor.execute(_INSERT, (_VALUES[1],))
            write.commit()
        with connection.cursor() as cursor:
            cursor.execute("SELECT N, V FROM DIRECT_PROBE ORDER BY N")
            rows = [(n, bytes(v)) for n, v in cursor.fetchall()]
        statements.forget()
        return rows, refused.value
    finally:
        connection.close()


def test_a_packed_block_runs_direct_and_writes_what_the_drivers_cursor_writes(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, refused = _run_probe(database, direct=True)
    assert rows == sorted((len(v), v[:8000]) for v in _VALUES)
    monkeypatch.setattr(prepared, "DIRECT_DRIVERS", frozenset())  # an unknown driver version
    by_cursor, refused_by_cursor = _run_probe(database.another(tmp_path / "other"), direct=False)
    assert rows == by_cursor
    assert type(refused) is type(refused_by_cursor)
    assert "DIRECT_PROBE" in str(refused) or "PRIMARY" in str(refused).upper()


def test_only_one_octets_parameter_without_results_runs_direct(database: Database) -> None:
    connection = database.connect(create=True)
    try:
        read = connection.transaction_manager()
        statements = PreparedStatements()
        read.begin()
        shapes = {
            "EXECUTE BLOCK (D VARCHAR(100) CHARACTER SET OCTETS = ?) AS BEGIN END": True,
            "EXECUTE BLOCK (D VARCHAR(100) CHARACTER SET UTF8 = ?) AS BEGIN END": False,
            "EXECUTE BLOCK (A INTEGER = ?) AS BEGIN END": False,
            "EXECUTE BLOCK (D VARCHAR(100) CHARACTER SET OCTETS = ?) RETURNS (N INTEGER) "
            "AS BEGIN N = 1; SUSPEND; END": False,
        }
        with statements.cursor(read) as cursor:
            for sql, direct in shapes.items():
                statements.statement(cursor._cursor, sql)
                assert (statements.direct(sql) is not None) is direct, sql
            # A value longer than the parameter goes the driver's way, and the engine refuses it.
            with pytest.raises(DriverError, match="truncation"):
                cursor.execute(next(iter(shapes)), (b"x" * 101,))
        read.commit()
        statements.forget()
    finally:
        connection.close()
