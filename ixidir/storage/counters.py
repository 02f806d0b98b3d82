"""FirebirdCounterStore: the limits CounterStore port on the DAILY_COUNTERS table.

A reservation is ONE statement, a conditional MERGE: it reads the row, checks the limit and
increments in the engine, so no other transaction can slip in between a read and a write.
Concurrency, as measured by tests/storage/test_counters.py (8 processes against one row):
- two transactions updating the same row: the second waits for the first (WAIT with a lock
  timeout) and, READ COMMITTED having read consistency in Firebird 4+ (the default
  `ReadConsistency = 1`), the engine then restarts the statement on a fresh snapshot, so the
  condition `USED + N <= LIMIT` is re-evaluated against the committed count;
- two transactions inserting the first row of a day: the second waits, then fails with a
  PRIMARY KEY violation; it is rolled back and the same MERGE is run again, now taking the
  conditional UPDATE branch;
- an update conflict or deadlock reported anyway (e.g. when the engine gives up restarting) is
  retried the same way, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from firebird.driver import Connection, Isolation, TraAccessMode, tpb
from firebird.driver import Error as DriverError

from ixidir.directory.ports import StorageError
from ixidir.limits.policy import MAX_COUNT, MAX_LIMIT, Limit, Service
from ixidir.limits.ports import Reservation
from ixidir.storage.database import (
    EMBEDDED_USER,
    RenewsConnection,
    close_connection,
)
from ixidir.storage.prepared import PreparedStatements
from ixidir.storage.rows import check_uuid

# Seconds a reservation waits for a concurrent one on the same row before giving up.
LOCK_TIMEOUT = 10
# Attempts of one reservation that lost an insert race or hit an update conflict. On Firebird 3
# (no statement restart) every reservation that waited for another's row lock loses once that
# one commits, so with N concurrent senders on one row one may need about N attempts.
MAX_ATTEMPTS = 32

# Firebird status codes (src/include/firebird/impl/msg/jrd.h) after which the statement is retried.
_RETRY_CODES = frozenset(
    {
        335544665,  # unique_key_violation: a concurrent transaction inserted the day's row first
        335544336,  # deadlock
        335544451,  # update_conflict
        335544878,  # concurrent_transaction
    }
)

_LOCK_TIMEOUT = 335544510  # also reported under "deadlock": waiting LOCK_TIMEOUT again helps nobody

# The reservation. The source row carries the parameters, typed once. WHEN MATCHED only
# increments within the limit; WHEN NOT MATCHED only inserts a first count within the limit.
# RETURNING gives the new count when a branch ran and no row when the request was refused.
RESERVE = """MERGE INTO DAILY_COUNTERS C
USING (SELECT CAST(? AS CHAR(36) CHARACTER SET ASCII) AS U, CAST(? AS SMALLINT) AS S,
              CAST(? AS DATE) AS D, CAST(? AS BIGINT) AS N, CAST(? AS BIGINT) AS L
       FROM RDB$DATABASE) R
ON C.USER_UUID = R.U AND C.SERVICE = R.S AND C.LOCAL_DAY = R.D
WHEN MATCHED AND (R.L IS NULL OR C.USED + R.N <= R.L) THEN
    UPDATE SET USED = C.USED + R.N
WHEN NOT MATCHED AND (R.L IS NULL OR R.N <= R.L) THEN
    INSERT (USER_UUID, SERVICE, LOCAL_DAY, USED) VALUES (R.U, R.S, R.D, R.N)
RETURNING C.USED"""
RELEASE = (
    "UPDATE DAILY_COUNTERS SET USED = MAXVALUE(USED - CAST(? AS BIGINT), 0) "
    "WHERE USER_UUID = ? AND SERVICE = ? AND LOCAL_DAY = ? RETURNING USED"
)
_USED = "SELECT USED FROM DAILY_COUNTERS WHERE USER_UUID = ? AND SERVICE = ? AND LOCAL_DAY = ?"
_RESET_ONE = "DELETE FROM DAILY_COUNTERS WHERE USER_UUID = ? AND SERVICE = ? AND LOCAL_DAY = ?"
_RESET_ALL = "DELETE FROM DAILY_COUNTERS WHERE USER_UUID = ? AND LOCAL_DAY = ?"
_PURGE = "DELETE FROM DAILY_COUNTERS WHERE LOCAL_DAY < ?"
_DELETE_USER = "DELETE FROM DAILY_COUNTERS WHERE USER_UUID = ?"

_T = TypeVar("_T")


class FirebirdCounterStore(RenewsConnection):
    """Daily counters in the entries' Firebird database; implements limits.ports.CounterStore.

    Every call is its own committed transaction (forced writes: on disk when it returns). Not
    thread-safe: give each thread its own instance; any number of instances and processes may
    share one database. Absent rows count as 0, so reset and purge simply delete rows.
    """

    def __init__(
        self, connection: Connection, *, reconnect: Callable[[], Connection] | None = None
    ) -> None:
        """`reconnect` opens a new connection to the same database, for when the server
        dropped this one (as entries.FirebirdEntryStore)."""
        self._reconnect = reconnect
        self.generation = 0  # counts connections: CounterWriter builds its transaction anew
        self._attach(connection)

    def _attach(self, connection: Connection) -> None:
        self._connection = connection
        self._lost = False
        self.generation += 1
        # Building a TPB loads the client library, so it happens here and not at import.
        self._write = connection.transaction_manager(
            tpb(Isolation.READ_COMMITTED_RECORD_VERSION, lock_timeout=LOCK_TIMEOUT)
        )
        self._read = connection.transaction_manager(
            tpb(Isolation.READ_COMMITTED_RECORD_VERSION, access_mode=TraAccessMode.READ)
        )
        self._prepared = PreparedStatements()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Detach from the database; idempotent."""
        self._prepared.forget()
        close_connection(self._connection, "counter database")

    def reserve(
        self, user_uuid: str, service: Service, *, day: date, count: int, limit: Limit
    ) -> Reservation:
        """Add `count` to the day's count if it stays within `limit`, in one MERGE."""
        _check_count(count)
        if limit is not None and not 0 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be None or 0..{MAX_LIMIT}: {limit}")
        key = (check_uuid(user_uuid), int(service), day)
        row = self._writing(
            "reserving", lambda c: c.execute(RESERVE, (*key, count, limit)).fetchone()
        )
        # Firebird 3 answers a MERGE that changed nothing with a row of NULLs, 4+ with no row.
        if row is not None and row[0] is not None:
            return Reservation(granted=True, used=int(row[0]), limit=limit)
        # Refused: nothing was written. The count is read for the answer only; it decides nothing.
        return Reservation(granted=False, used=self.used(user_uuid, service, day=day), limit=limit)

    def release(self, user_uuid: str, service: Service, *, day: date, count: int) -> int:
        """Take back `count`, never below zero; return the day's count afterwards."""
        _check_count(count)
        key = (check_uuid(user_uuid), int(service), day)
        row = self._writing("releasing", lambda c: c.execute(RELEASE, (count, *key)).fetchone())
        return 0 if row is None or row[0] is None else int(row[0])  # 3.0: a row of NULLs

    def used(self, user_uuid: str, service: Service, *, day: date) -> int:
        key = (check_uuid(user_uuid), int(service), day)
        row = self._reading(lambda c: c.execute(_USED, key).fetchone())
        return 0 if row is None else int(row[0])

    def reset(self, user_uuid: str, service: Service | None, *, day: date) -> None:
        """Set the day's count of `service` (None: all services) back to zero."""
        check_uuid(user_uuid)
        if service is None:
            self._writing("resetting", lambda c: c.execute(_RESET_ALL, (user_uuid, day)))
        else:
            key = (user_uuid, int(service), day)
            self._writing("resetting", lambda c: c.execute(_RESET_ONE, key))

    def purge_before(self, day: date) -> int:
        """Delete the counters of days before `day`; return the number of rows deleted."""
        return int(self._writing("purging", lambda c: c.execute(_PURGE, (day,)).affected_rows))

    def delete_user(self, user_uuid: str) -> None:
        """Forget every count of a user (ENTRIES' delete trigger does the same in-database)."""
        check_uuid(user_uuid)
        self._writing("deleting counters", lambda c: c.execute(_DELETE_USER, (user_uuid,)))

    def _writing(self, doing: str, statement: Callable[[Any], _T]) -> _T:
        """Run one statement in its own write transaction, again after a lost race.

        Retrying is safe: the failed attempt was rolled back and each attempt is one atomic
        statement that decides on the committed state it sees.
        """
        self._renew()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                self._write.begin()
                with self._prepared.cursor(self._write) as cursor:
                    result = statement(cursor)
                self._write.commit()
                return result
            except DriverError as exc:
                self._abandon()
                if attempt == MAX_ATTEMPTS or not _is_retryable(exc):
                    raise self._failed(exc, f"{doing} a daily counter") from exc
        raise StorageError(f"{doing} a daily counter: no attempt left")  # pragma: no cover

    def _reading(self, query: Callable[[Any], _T]) -> _T:
        self._renew()
        try:
            self._read.begin()
            with self._prepared.cursor(self._read) as cursor:
                result = query(cursor)
            self._read.commit()
        except DriverError as exc:
            raise self._failed(exc, "reading a daily counter") from exc
        return result

    def _abandon(self) -> None:
        """Roll back a failed statement; a broken connection is reported by the original error."""
        try:
            if self._write.is_active():
                self._write.rollback()
        except DriverError:
            return


def open_counter_store(
    data_dir: Path | None,
    dsn: str | None,
    *,
    user: str = EMBEDDED_USER,
    password: str | None = None,
    runtime_root: Path | None = None,
) -> FirebirdCounterStore:
    """Attach a counter store to the existing ixidir database, as `open_entry_store` finds it.

    The schema is migrated as the entry store does, so the table exists whichever opens first.
    """
    # Deferred: the package's __init__ may come to re-export this module.
    from ixidir.storage import open_connection

    def connect() -> Connection:
        return open_connection(
            data_dir, dsn, create=False, user=user, password=password, runtime_root=runtime_root
        )

    return FirebirdCounterStore(connect(), reconnect=connect)


def _check_count(count: int) -> None:
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be 1..{MAX_COUNT}: {count}")


def _is_retryable(exc: DriverError) -> bool:
    codes = frozenset(getattr(exc, "gds_codes", ()) or ())
    return bool(codes & _RETRY_CODES) and _LOCK_TIMEOUT not in codes
