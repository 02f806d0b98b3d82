"""Statements prepared once per connection run in every later transaction of it."""

from __future__ import annotations

import pytest
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
