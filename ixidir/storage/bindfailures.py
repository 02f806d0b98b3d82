"""FirebirdBindFailures: the counts of failed binds (directory/lockout.py) in BIND_FAILURES.

A server's guard writer hands it every operation queued during the previous batch
(`run_batch`, group commit as the daily counters do), all in one transaction. A failure reads
its row WITH LOCK and writes the next count that the pure rules compute, so two workers or
nodes counting the same account at once queue behind each other: the second waits for the
first's commit, then reads the new count (Firebird 4+ restarts the SELECT) or fails with an
update conflict (Firebird 3); two first failures race to INSERT and the loser fails with a key
violation. A failed batch runs again from the start, deciding every operation afresh.

Only a subject with failures has a row; a success deletes it, and rows whose window and lock
are long over are purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, cast

from firebird.driver import Connection, Isolation, TraAccessMode, tpb
from firebird.driver import Error as DriverError

from ixidir.directory.lockout import (
    NONE,
    Clear,
    Fail,
    Failures,
    GuardOp,
    GuardResult,
    ListSubjects,
    Look,
    Purge,
    Subject,
    after_failure,
)
from ixidir.directory.ports import StorageError
from ixidir.storage.committed import CommittedSequence
from ixidir.storage.counters import LOCK_TIMEOUT, MAX_ATTEMPTS
from ixidir.storage.counters import _is_retryable as is_retryable  # the counters' own rule
from ixidir.storage.database import close_connection, translate
from ixidir.storage.prepared import PreparedStatements

_READ = "SELECT FAILURES, WINDOW_START, LOCKED_AT FROM BIND_FAILURES WHERE SUBJECT = ?"
# A first failure INSERTs: when another transaction inserted the row meanwhile this fails
# with a key violation and the batch runs again, now reading that row. (UPDATE OR INSERT would
# be restarted by Firebird 4+ as an update with the count computed before, losing one.) A
# later one UPDATEs the row its SELECT ... WITH LOCK holds.
_INSERT = (
    "INSERT INTO BIND_FAILURES (FAILURES, WINDOW_START, LOCKED_AT, SUBJECT, KIND, NAME) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE = "UPDATE BIND_FAILURES SET FAILURES = ?, WINDOW_START = ?, LOCKED_AT = ? WHERE SUBJECT = ?"
_DELETE = "DELETE FROM BIND_FAILURES WHERE SUBJECT = ?"
_SUBJECTS = "SELECT FIRST (?) SUBJECT FROM BIND_FAILURES"
# The node's failed-bind counter in the data directory (storage/committed.py's 8-byte file).
GENERATION_FILE = "bindfailures.gen"
# Rows nothing refers to any more: windows started and locks set before the cut-off (an account
# locked until unlocked stays).
_PURGE = (
    "DELETE FROM BIND_FAILURES WHERE WINDOW_START < ? "
    "AND (LOCKED_AT IS NULL OR (LOCKED_AT < ? AND KIND = 'N'))"
)
_LOCKED = "SELECT KIND, NAME, FAILURES, LOCKED_AT FROM BIND_FAILURES WHERE LOCKED_AT IS NOT NULL"


class FirebirdBindFailures:
    """Failed-bind counts on one connection, used by one thread at a time."""

    def __init__(
        self, connection: Connection, *, generation: CommittedSequence | None = None
    ) -> None:
        """`generation`: the node's failed-bind counter (GENERATION_FILE), advanced after each
        batch that writes, before its outcome is returned (directory.lockout.KnownFailures)."""
        self._connection = connection
        self._generation = generation
        self._write = connection.transaction_manager(
            tpb(Isolation.READ_COMMITTED_RECORD_VERSION, lock_timeout=LOCK_TIMEOUT)
        )
        # A batch that only looks (most binds: nobody failed) reads in a read-only READ
        # COMMITTED transaction, which Firebird starts pre-committed: its commit writes no
        # transaction page, so it costs no disk flush.
        self._read = connection.transaction_manager(
            tpb(Isolation.READ_COMMITTED_RECORD_VERSION, access_mode=TraAccessMode.READ)
        )
        # Every bind looks: its statements are prepared once, not per batch.
        self._prepared = PreparedStatements()

    def close(self) -> None:
        self._prepared.forget()
        if self._generation is not None:
            self._generation.close()
        close_connection(self._connection, "bind-failure database")

    def run_batch(self, ops: Sequence[GuardOp]) -> list[GuardResult | Exception]:
        """Each operation's outcome, in order, from one transaction (run again after a race)."""
        reads_only = all(isinstance(op, Look | ListSubjects) for op in ops)
        transaction = self._read if reads_only else self._write
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                transaction.begin()
                with self._prepared.cursor(transaction) as cursor:
                    outcomes = [_run(cursor, op) for op in ops]
                transaction.commit()
                if not reads_only and self._generation is not None:
                    self._generation.advance()
                return list(outcomes)
            except DriverError as exc:
                self._abandon()
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    error = translate(exc, "counting failed binds")
                    return [error] * len(ops)
        raise StorageError("counting failed binds: no attempt left")  # pragma: no cover

    def failures(self, subject: Subject) -> Failures:
        (found,) = self._one(Look((subject,)))
        return cast(Failures, found)

    def clear(self, subject: Subject) -> bool:
        """Forget the subject's failures and lift its lock; whether there were any."""
        return bool(self._one(Clear(subject)))

    def locked(self) -> list[tuple[str, str, int, datetime]]:
        """(kind, name, failures, locked at) of every subject with a lock, over or not."""
        rows = self._query(_LOCKED, ())
        return [(str(k).strip(), str(n), int(f), at) for k, n, f, at in rows]

    def purge(self, before: datetime) -> int:
        """Delete counts whose window (and address block) began before `before`."""
        return int(self._one(Purge(before)))

    def _one(self, op: GuardOp) -> Any:
        (outcome,) = self.run_batch([op])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _query(self, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            self._read.begin()
            with self._read.cursor() as cursor:
                rows = cursor.execute(sql, parameters).fetchall()
            self._read.commit()
        except DriverError as exc:
            self._abandon()
            raise translate(exc, "reading failed-bind counts") from exc
        return [tuple(row) for row in rows]

    def _abandon(self) -> None:
        with suppress(DriverError):
            for transaction in (self._read, self._write):
                if transaction.is_active():
                    transaction.rollback()


def _run(cursor: Any, op: GuardOp) -> GuardResult:
    match op:
        case Look(subjects=subjects):
            return tuple(_read(cursor, subject, lock=False) for subject in subjects)
        case Fail(subjects=subjects, throttles=throttles, now=now):
            counted = []
            for subject in subjects:
                before = _read(cursor, subject, lock=True)
                after = after_failure(before, throttles.of(subject.kind), now)
                if after != before:
                    values = (after.count, after.window_start, after.locked_at, subject.key)
                    if before == NONE:  # no row yet (a stored row always has a window start)
                        cursor.execute(_INSERT, (*values, subject.kind.value, subject.name))
                    else:
                        cursor.execute(_UPDATE, values)
                counted.append((before, after))
            return tuple(counted)
        case Clear(subject=subject):
            cursor.execute(_DELETE, (subject.key,))
            return bool(cursor.affected_rows > 0)
        case Purge(before=before):
            cursor.execute(_PURGE, (before, before))
            return int(cursor.affected_rows)
        case ListSubjects(limit=limit):
            keys = frozenset(str(key) for (key,) in cursor.execute(_SUBJECTS, (limit + 1,)))
            return keys if len(keys) <= limit else None


def _read(cursor: Any, subject: Subject, *, lock: bool) -> Failures:
    cursor.execute(_READ + (" WITH LOCK" if lock else ""), (subject.key,))
    row = cursor.fetchone()
    if row is None:
        return NONE
    return Failures(int(row[0]), row[1], row[2])
