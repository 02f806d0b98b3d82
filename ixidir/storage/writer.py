"""Group commit of daily-counter operations: many reservations and releases, one transaction.

A server's counters writer thread hands every operation queued during the previous commit to
`CounterWriter.run_batch` (server/writes.py `GroupCommit`), which runs them all in one EXECUTE
BLOCK, in one transaction. Each reservation is still ONE
atomic statement (counters.RESERVE, a conditional MERGE: the engine reads, checks the limit and
increments, nothing in between), decided in order on what the transaction sees: the batch's
own earlier operations and everything committed. So the count never passes the limit, however
many processes reserve (tests/storage/test_writer.py runs 8).

Concurrency: another process's transaction holding a row makes ours wait (lock timeout); on
Firebird 3 it then fails with an update conflict, and the first insert of a day may lose a race
with a PRIMARY KEY violation; Firebird 4+ restarts the statement instead. Either way a
retryable failure rolls the whole batch back and runs it again, a bounded number of times:
every operation is decided afresh, so a retry cannot count twice. Firebird 3's RETURNING gives
a row of NULLs when no branch ran, so a refusal is "no row or a NULL count".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress
from datetime import date
from typing import Any

from firebird.driver import Connection, Isolation, tpb
from firebird.driver import Error as DriverError

from ixidir.directory.ports import StorageError
from ixidir.limits.policy import MAX_COUNT, MAX_LIMIT
from ixidir.limits.ports import CounterOp, ReleaseOp, Reservation, ReserveOp
from ixidir.storage.counters import (
    LOCK_TIMEOUT,
    MAX_ATTEMPTS,
    RELEASE,
    RESERVE,
    FirebirdCounterStore,
)
from ixidir.storage.counters import _is_retryable as is_retryable  # the store's own rule
from ixidir.storage.literals import BLOCK_STATEMENTS, bind_literals, quoted

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_USED = "SELECT USED FROM DAILY_COUNTERS WHERE USER_UUID = ? AND SERVICE = ? AND LOCAL_DAY = ?"


class CounterWriter:
    """Runs batches of counter operations on a store's connection, which from then on belongs
    to the writer thread alone (give the loop its own store)."""

    def __init__(self, store: FirebirdCounterStore) -> None:
        self._store = store
        self._generation = 0
        self._transaction()

    def _transaction(self) -> Any:
        """The writer's transaction on the store's connection, renewed with it (the server
        dropped the old one: see FirebirdCounterStore._renew)."""
        self._store._renew()
        if self._generation != self._store.generation:
            connection: Connection = self._store._connection
            self._write = connection.transaction_manager(
                tpb(Isolation.READ_COMMITTED_RECORD_VERSION, lock_timeout=LOCK_TIMEOUT)
            )
            self._generation = self._store.generation
        return self._write

    def close(self) -> None:
        self._store.close()

    def run_batch(self, ops: Sequence[CounterOp]) -> list[Reservation | int | Exception]:
        """Each operation's outcome, in order; an invalid one fails alone, before any SQL."""
        results: list[Reservation | int | Exception] = []
        valid: list[tuple[int, CounterOp]] = []
        for op in ops:
            problem = _problem(op)
            results.append(problem if problem is not None else 0)
            if problem is None:
                valid.append((len(results) - 1, op))
        if valid:
            try:
                outcomes = self._committed([op for _, op in valid])
            except StorageError as error:
                outcomes = [error] * len(valid)
            for (index, _), outcome in zip(valid, outcomes, strict=True):
                results[index] = outcome
        return results

    def _committed(self, ops: Sequence[CounterOp]) -> list[Reservation | int | Exception]:
        """One transaction for all, again from the start after a lost race."""
        self._transaction()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                self._write.begin()
                with self._write.cursor() as cursor:
                    outcomes = _run_block(cursor, ops)
                self._write.commit()
                return outcomes
            except DriverError as exc:
                self._abandon()
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    raise self._store._failed(exc, "counting a batch of daily sends") from exc
        raise StorageError("counting a batch of daily sends: no attempt left")  # pragma: no cover

    def _abandon(self) -> None:
        """Roll back a failed batch; a broken connection is reported by the original error."""
        with suppress(DriverError):
            if self._write.is_active():
                self._write.rollback()


def _run_block(cursor: Any, ops: Sequence[CounterOp]) -> list[Reservation | int | Exception]:
    """Every operation of the batch in one EXECUTE BLOCK: one statement round trip.

    firebird-driver spends ~0.35 ms of Python per execute packing parameters; one MERGE per
    reservation made a batch of 8 cost ~5 ms, one block ~0.8 ms (benchmarks/writes.py). The
    block runs each operation's own statement (counters.RESERVE / RELEASE, parameters written
    as literals that `_problem` has checked: digits, a date and a strict UUID), in order, and
    returns one row each: (granted, the day's count after it).
    """
    rows = []
    for start in range(0, len(ops), BLOCK_STATEMENTS):
        rows.extend(cursor.execute(_block(ops[start : start + BLOCK_STATEMENTS])).fetchall())
    outcomes: list[Reservation | int | Exception] = []
    for op, (granted, used) in zip(ops, rows, strict=True):
        if isinstance(op, ReleaseOp):
            outcomes.append(0 if used is None else int(used))
        else:
            count = 0 if used is None else int(used)
            outcomes.append(Reservation(granted=bool(granted), used=count, limit=op.limit))
    return outcomes


def _block(ops: Sequence[CounterOp]) -> str:
    lines = ["EXECUTE BLOCK RETURNS (GRANTED SMALLINT, USED BIGINT) AS BEGIN"]
    for op in ops:
        key = (_literal(op.user_uuid), str(int(op.service)), _literal(op.day))
        if isinstance(op, ReleaseOp):
            statement = bind_literals(RELEASE, (str(op.count), *key))
            lines.append(f"USED = NULL; {statement} INTO :USED; GRANTED = 1; SUSPEND;")
            continue
        limit = "NULL" if op.limit is None else str(int(op.limit))
        statement = bind_literals(RESERVE, (*key, str(op.count), limit))
        used = bind_literals(_USED, key)
        # Firebird 3 RETURNING gives NULL when no branch ran: refused, nothing written; the
        # count is then read for the answer only.
        lines.append(
            f"USED = NULL; GRANTED = 0; {statement} INTO :USED; "
            f"IF (USED IS NULL) THEN {used} INTO :USED; ELSE GRANTED = 1; SUSPEND;"
        )
    lines.append("END")
    return "\n".join(lines)


def _literal(value: str | date) -> str:
    return quoted(value.isoformat() if isinstance(value, date) else value)


def _problem(op: CounterOp) -> Exception | None:
    """What makes an operation invalid (checked before SQL, so it cannot fail the batch)."""
    if not _UUID.fullmatch(op.user_uuid):  # written into the statement as a literal
        return StorageError(f"not an entryUUID: {op.user_uuid!r}")
    if not 1 <= op.count <= MAX_COUNT:
        return ValueError(f"count must be 1..{MAX_COUNT}: {op.count}")
    if isinstance(op, ReserveOp) and op.limit is not None and not 0 <= op.limit <= MAX_LIMIT:
        return ValueError(f"limit must be None or 0..{MAX_LIMIT}: {op.limit}")
    return None
