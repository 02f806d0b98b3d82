"""Statements prepared once per connection and executed in any of its transactions.

firebird-driver prepares a statement again whenever a cursor runs SQL it did not run last, and a
cursor lives for one transaction: a one-entry modify prepared six statements per commit, ~1 ms
of the writer thread's ~2.5 ms of CPU, most of it driver Python holding the GIL the event loop
needs (`Statement.__init__` reads every parameter's metadata through ctypes). A prepared
`Statement` belongs to the attachment, so it can run in every later transaction: prepare each
fixed SQL text once (a connection renewed after a server restart gets a new cache).

A statement whose one parameter is a VARCHAR ... CHARACTER SET OCTETS and which returns nothing
(the packed-row blocks of storage/bulk.py, every write's statements but the changelog head's)
runs `Direct`: its value goes into the statement's own input message, which the engine then
executes. firebird-driver's cursor instead builds new metadata for every execute (~15 interface
calls through ctypes per parameter): 86 µs of CPU per execute against 18 µs direct (a trivial
block, embedded 5, `/tmp` probe), about a fifth of a one-entry commit's CPU. `Direct` reads
firebird-driver 2's private fields (the statement's handle and metadata, the transaction's
handle); on any other major version, or if a field is missing, statements run the cursor's way.
"""

from __future__ import annotations

import ctypes
from importlib.metadata import version
from typing import Any, Self

from firebird.driver import Cursor, Statement
from firebird.driver import Error as DriverError
from firebird.driver.types import SQLDataType

# Distinct SQL texts kept prepared per connection. The write and read paths use about twenty
# fixed texts; a text built per call (literals inside) beyond the limit is prepared each time.
MAX_PREPARED = 64
OCTETS = 1  # the character set id of OCTETS
_LENGTH_BYTES = 2  # a VARCHAR in a message: its length (little-endian), then its bytes
_DRIVER_MAJOR = version("firebird-driver").split(".")[0]
DIRECT_DRIVERS = frozenset({"2"})  # the major versions whose private fields `Direct` reads


class Direct:
    """Runs one prepared statement with a single OCTETS VARCHAR parameter and no result, its
    value written into the statement's own input message (module docstring)."""

    __slots__ = ("_length", "_limit", "_message", "_null", "_statement")

    def __init__(self, statement: Statement) -> None:
        meta = statement._in_meta
        self._statement = statement
        self._limit = meta.get_length(0)
        self._length = meta.get_offset(0)
        self._null = meta.get_null_offset(0)
        self._message = ctypes.create_string_buffer(meta.get_message_length())

    @classmethod
    def of(cls, statement: Statement) -> Direct | None:
        """`Direct` for `statement` if its shape allows and the driver is one we know."""
        if _DRIVER_MAJOR not in DIRECT_DRIVERS:
            return None
        try:
            meta = statement._in_meta
            if (
                statement._in_cnt != 1
                or statement._out_cnt != 0
                or statement.has_cursor()
                or meta.get_type(0) != SQLDataType.VARYING
                or meta.get_charset(0) != OCTETS
            ):
                return None
            return cls(statement)
        except AttributeError:
            return None

    def fits(self, value: object) -> bool:
        return isinstance(value, bytes) and len(value) <= self._limit

    def run(self, transaction: Any, value: bytes) -> None:
        """Execute with `value` in `transaction` (a firebird-driver TransactionManager)."""
        if not transaction.is_active():
            transaction.begin()
        message = self._message
        head = len(value).to_bytes(_LENGTH_BYTES, "little")
        ctypes.memmove(ctypes.addressof(message) + self._length, head + value, len(head + value))
        ctypes.memset(ctypes.addressof(message) + self._null, 0, _LENGTH_BYTES)
        statement = self._statement
        statement._istmt.execute(transaction._tra, statement._in_meta, message, None, None)


class PreparedStatements:
    """One connection's prepared statements, by SQL text."""

    def __init__(self) -> None:
        self._by_sql: dict[str, Statement] = {}
        self._direct: dict[str, Direct | None] = {}

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
            self._direct[sql] = Direct.of(prepared)
        return prepared

    def direct(self, sql: str) -> Direct | None:
        """How to run `sql` directly, if it is prepared and its shape allows."""
        return self._direct.get(sql)

    def forget(self) -> None:
        """Free the statements, before their connection closes: one freed later, by the garbage
        collector, after the attachment is gone, makes the client library report a destroyed
        mutex. A lost connection's statements may fail to free: nothing is left to release."""
        statements, self._by_sql = list(self._by_sql.values()), {}
        self._direct = {}
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
        statement = self._statements.statement(self._cursor, sql)
        direct = self._statements.direct(sql)
        if direct is not None and len(parameters) == 1 and direct.fits(parameters[0]):
            direct.run(self._cursor._transaction, parameters[0])
            return self._cursor
        return self._cursor.execute(statement, parameters)

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
