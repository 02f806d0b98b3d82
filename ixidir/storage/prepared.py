"""Statements prepared once per connection and executed in any of its transactions.

firebird-driver prepares a statement again whenever a cursor runs SQL it did not run last, and a
cursor lives for one transaction: a one-entry modify prepared six statements per commit, ~1 ms
of the writer thread's ~2.5 ms of CPU, most of it driver Python holding the GIL the event loop
needs (`Statement.__init__` reads every parameter's metadata through ctypes). A prepared
`Statement` belongs to the attachment, so it can run in every later transaction: prepare each
fixed SQL text once (a connection renewed after a server restart gets a new cache).
"""

from __future__ import annotations

from typing import Any, Self

from firebird.driver import Cursor, Statement
from firebird.driver import Error as DriverError

# Distinct SQL texts kept prepared per connection. The write and read paths use about twenty
# fixed texts; a text built per call (literals inside) beyond the limit is prepared each time.
MAX_PREPARED = 64


class PreparedStatements:
    """One connection's prepared statements, by SQL text."""

    def __init__(self) -> None:
        self._by_sql: dict[str, Statement] = {}

    def cursor(self, transaction: Any) -> PreparedCursor:
        """A cursor of `transaction` (begun) that runs each SQL text prepared once."""
        return PreparedCursor(transaction.cursor(), self)

    def statement(self, cursor: Cursor, sql: str) -> Statement | str:
        """The prepared statement for `sql`, or `sql` itself when the cache is full."""
        prepared = self._by_sql.get(sql)
        if prepared is None:
            if len(self._by_sql) >= MAX_PREPARED:
                return sql
            prepared = self._by_sql[sql] = cursor.prepare(sql)
        return prepared

    def forget(self) -> None:
        """Free the statements, before their connection closes: one freed later, by the garbage
        collector, after the attachment is gone, makes the client library report a destroyed
        mutex. A lost connection's statements may fail to free: nothing is left to release."""
        statements, self._by_sql = list(self._by_sql.values()), {}
        for statement in statements:
            try:
                statement.free()
            except DriverError:
                # Its attachment is gone (a server restart). firebird-driver 2.1 keeps the
                # handle after a failed free() and its __del__ frees it again, raising from
                # __del__ (and touching the client library's released state): drop the handle,
                # whose own wrapper then just releases its reference.
                statement._istmt = None  # the driver offers no other way


class PreparedCursor:
    """A firebird-driver cursor whose `execute(sql, ...)` uses the connection's prepared
    statement; everything else (fetchone, fetchmany, affected_rows, ...) is the cursor's."""

    def __init__(self, cursor: Cursor, statements: PreparedStatements) -> None:
        self._cursor = cursor
        self._statements = statements

    def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return self._cursor.execute(self._statements.statement(self._cursor, sql), parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._cursor, name, value)

    def close(self) -> None:
        self._cursor.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._cursor.close()
