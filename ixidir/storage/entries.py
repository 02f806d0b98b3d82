"""FirebirdEntryStore: the EntryStore port on Firebird (entries and their changelog)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from firebird.driver import Connection, Isolation, TraAccessMode, tpb
from firebird.driver import Error as DriverError

from ixidir.directory.ports import (
    BatchRefused,
    Change,
    DeleteEntry,
    EntryWrite,
    NumberConflict,
    PutEntry,
    RekeyEntry,
    StorageConflict,
    StorageError,
    StorageUnavailable,
    StoredEntry,
)
from ixidir.storage.attributes import decode_attributes
from ixidir.storage.bulk import (
    UNPACKED_ENTRIES,
    EntryParameters,
    add_routing_keys,
    drop_stale_routing_keys,
    insert_changelog_items,
    key_chunks,
    packable,
    put_entries,
    read_entries,
)
from ixidir.storage.changelog import HEAD, SELECT_HEADS, check_history
from ixidir.storage.committed import CommittedSequence
from ixidir.storage.database import RenewsConnection, is_lost_race, translate
from ixidir.storage.migrations import utc_now
from ixidir.storage.nodelock import NodeLock
from ixidir.storage.prepared import PreparedStatements
from ixidir.storage.rows import (
    DELETE,
    SELECT_CHANGES,
    SELECT_KEY_HOLDER,
    UPSERT,
    check_routing_key,
    check_uuid,
    entry_from_row,
    entry_parameters,
)

# Seconds a write waits for another process's write to commit before giving up.
WRITE_LOCK_TIMEOUT = 10
# How often `wait_for_change` asks for the last sequence: a node sees another's write within
# about this long plus one query, at ~50 small queries a second per follower (~100 µs of driver
# Python each, ~0.5% of one core). Polled rather than listened for with Firebird events: the
# event thread of firebird-driver 2.1 aborted whole processes (SIGABRT in isc_cancel_events)
# when the server restarted or the connection broke, four times in four different places
# (test_firebird_restart, test_reconnect, closing a store, closing mid-notification), and
# events need the server's auxiliary port, which firewalls often block.
POLL_SECONDS = 0.02
# Rows fetched per call while streaming entries at start-up.
LOAD_BATCH = 1000
# Attempts of one change that lost a race for a row (an update conflict). Firebird 3 has no
# statement restart in read committed (4.0's read consistency): a write that waited for another
# transaction's lock on the changelog head fails once that one commits, and is run again whole.
# Each lost round means another writer committed, so with N concurrent writers a change needs at
# most about N attempts.
MAX_COMMIT_ATTEMPTS = 32

_LAST_SEQUENCE = "SELECT SEQ FROM CHANGELOG_HEAD WHERE ID = 1"
_SOME_DN_KEYS = "SELECT FIRST (?) DN_KEY FROM ENTRIES"
_ENTRY_COUNT = "SELECT COUNT(*) FROM ENTRIES"
# Advances the head by N and records the N changes ending at the new head, all stamped STAMP; the
# new head. One fixed statement, prepared once per connection, whatever the batch's size.
_RECORD_CHANGES = """EXECUTE BLOCK (N INTEGER = ?, STAMP TIMESTAMP = ?) RETURNS (LAST BIGINT) AS
DECLARE S BIGINT;
BEGIN
  UPDATE CHANGELOG_HEAD SET SEQ = SEQ + :N WHERE ID = 1 RETURNING SEQ INTO :LAST;
  S = LAST - N + 1;
  WHILE (S <= LAST) DO BEGIN
    INSERT INTO CHANGELOG (SEQ, COMMITTED_AT) VALUES (:S, :STAMP);
    S = S + 1;
  END
  SUSPEND;
END"""
_CHANGE_STAMP = (
    "SELECT D.GUID, (SELECT COMMITTED_AT FROM CHANGELOG WHERE SEQ = ?) "
    "FROM DATABASE_IDENTITY D WHERE D.ID = 1"
)

_T = TypeVar("_T")


class FirebirdEntryStore(RenewsConnection):
    """Entries and their changelog in one Firebird database.

    Not thread-safe: one instance is used by one thread at a time (the server runs it in its own
    worker thread; give each thread its own instance). Several instances, in this or other
    processes or on other nodes, may share one database: writes are serialized by the database
    and each one gets the next sequence number in commit order.

    Followers (other workers and nodes) call `last_sequence()` (or `load()`), then loop on
    `wait_for_change(timeout)` and `changes_since(seen)`. Nothing is missed: `wait_for_change`
    returns at once while the database holds a sequence newer than any this store has reported,
    and otherwise asks again every POLL_SECONDS. The store's own commits count as changes too:
    skip sequences already applied.

    Always `close()` it (or use `with`): it holds a database attachment.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        committed_in: Path | None = None,
        acknowledges: bool = True,
        reconnect: Callable[[], Connection] | None = None,
    ) -> None:
        """`committed_in`: the data directory whose committed sequence (committed.py) every
        commit raises before it returns, so before the write is acknowledged; opened at the
        first commit (a store that only reads leaves no file). None where no server reads it.
        `acknowledges`: a commit also raises the node's acknowledged sequence, as a CLI's write
        is acknowledged once committed; a server's writer says False (its loop acknowledges
        after applying the write: server.writes.WriteQueue).
        `reconnect` opens a new connection to the same database, after a restart of the
        Firebird server broke this one (RenewsConnection); without it, that failure stays."""
        self._committed_in = committed_in
        self._committed: CommittedSequence | None = None
        self._acknowledges = acknowledges
        self._acknowledged: CommittedSequence | None = None
        # Writers and changelog reads of the node's processes take turns (nodelock.py).
        self._node_lock = NodeLock(committed_in) if committed_in is not None else None
        self._reconnect = reconnect
        self._polling = False  # see `polls_often`
        self._attach(connection)
        self._reported = 0  # the newest sequence this store has handed to its caller
        self.loaded_sequence = 0
        """The last sequence contained in what the latest `load()` returned."""

    def _attach(self, connection: Connection) -> None:
        self._connection = connection
        self._prepared = PreparedStatements()
        self._lost = False  # an operation found the connection gone: renew it before the next
        # Building a TPB loads the client library, so it happens here and not at import.
        self._write = connection.transaction_manager(
            tpb(Isolation.READ_COMMITTED_RECORD_VERSION, lock_timeout=WRITE_LOCK_TIMEOUT)
        )
        # Read committed read-only transactions never block garbage collection. Each statement
        # sees one consistent state on Firebird 4+ (read consistency); on 3.0 a statement may see
        # a change committed while it runs, which the changelog readers tolerate (a follower
        # reads entries as they are now, and the sequence decides what is new).
        self._read = connection.transaction_manager(
            tpb(Isolation.READ_COMMITTED_RECORD_VERSION, access_mode=TraAccessMode.READ)
        )

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
        if self._connection.is_closed():
            return
        for shared in (self._committed, self._acknowledged):
            if shared is not None:
                shared.close()
        if self._node_lock is not None:
            self._node_lock.close()
        self._prepared.forget()
        try:
            if self._read.is_active():
                self._read.commit()
            self._connection.close()
        except DriverError as exc:
            raise translate(exc, "closing the database") from exc

    def polls_often(self) -> None:
        """This store reads the changelog at least every second (a follower's own connection):
        keep its read-only transaction open between reads (`_reading`).

        Beginning and committing one per read was ~0.3 ms of the ~0.9 ms of CPU a follower's
        poll cost for one change (20,000 users, embedded 5, cProfile), CPU the routing shares
        on a busy site. Each statement still sees what is committed when it runs (read
        committed). An idle read-committed transaction holds back garbage collection to the
        snapshot of its last statement (MON$OLDEST_SNAPSHOT, measured on embedded 5), which a
        read at least every second keeps recent; a store that reads now and then (the CLI, a
        server's writer) therefore ends its transaction after each read."""
        self._polling = True

    def load(self) -> Iterator[StoredEntry]:
        """Every stored entry, from one snapshot whose last sequence becomes `loaded_sequence`.

        Changes committed while loading are not in the result: replay `changes_since`
        (`loaded_sequence`) afterwards. Most entries arrive packed many to a fetch
        (storage.bulk.read_entries), the others (large attributes) LOAD_BATCH rows at a time.
        """
        self._renew()
        snapshot = self._connection.transaction_manager(
            tpb(Isolation.SNAPSHOT, access_mode=TraAccessMode.READ)
        )
        try:
            snapshot.begin()
            with snapshot.cursor() as cursor:
                cursor.stream_blob_threshold = -1  # large attribute blobs arrive as bytes
                cursor.execute(_LAST_SEQUENCE)
                self.loaded_sequence = _single_int(cursor.fetchone())
                self._reported = max(self._reported, self.loaded_sequence)
                for uuid, dn, dn_key, data in read_entries(cursor):
                    yield StoredEntry(uuid, dn, dn_key, decode_attributes(data))
                cursor.execute(UNPACKED_ENTRIES)
                while rows := cursor.fetchmany(LOAD_BATCH):
                    yield from map(entry_from_row, rows)
            snapshot.commit()
        except DriverError as exc:
            raise self._failed(exc, "loading the entries") from exc
        finally:
            snapshot.close()

    def commit(self, writes: Sequence[EntryWrite]) -> int:
        """Apply the writes and one changelog row in one transaction; return its sequence.

        Forced writes make the commit durable when this returns. A DN key taken by another
        entry raises StorageConflict, a routing key taken by another entry NumberConflict (its
        subclass); any failure leaves nothing written. No writes: nothing is
        recorded and the current last sequence is returned.
        """
        if not writes:
            return self.last_sequence()
        with self._turn():
            return self._commit(writes)

    def _commit(self, writes: Sequence[EntryWrite]) -> int:
        self._renew()
        for attempt in range(1, MAX_COMMIT_ATTEMPTS + 1):
            try:
                self._write.begin()
                sequence = self._write_all(writes)
                self._write.commit()
            except DriverError as exc:
                self._abandon()
                if attempt < MAX_COMMIT_ATTEMPTS and is_lost_race(exc):
                    continue  # rolled back whole: run the same writes again
                raise self._failed(exc, "committing a change") from exc
            except StorageError as error:
                self._abandon()
                self._lost = self._lost or isinstance(error, StorageUnavailable)
                raise
            self._publish(sequence)
            return sequence
        raise StorageError("committing a change: no attempt left")  # pragma: no cover

    def commit_many(self, changes: Sequence[Sequence[EntryWrite]]) -> list[int]:
        """Group commit: every change in one transaction, each with its own changelog sequence
        (followers see them as separate changes), one durable commit for all.

        Statements are prepared once for the batch and the changelog head is advanced once.
        A change hitting a unique key (StorageConflict) raises BatchRefused with its position;
        nothing of the batch is written then and the caller commits the others again. Any other
        failure is raised as `commit` raises it.
        """
        with self._turn():
            return self._commit_many(changes)

    def _commit_many(self, changes: Sequence[Sequence[EntryWrite]]) -> list[int]:
        self._renew()
        together = len(changes) > 1
        attempt = 1
        while True:
            try:
                self._write.begin()
                with _Statements(self._prepared, self._write) as statements:
                    if together:
                        sequences = self._write_together(statements, changes)
                    else:
                        sequences = self._write_changes(statements, changes)
                self._write.commit()
            except _Unattributed:
                self._abandon()
                together = False  # again change by change: that names the change refused
                continue
            except DriverError as exc:
                self._abandon()
                if attempt < MAX_COMMIT_ATTEMPTS and is_lost_race(exc):
                    attempt += 1
                    continue  # rolled back whole (Firebird 3, several nodes): run it again
                raise self._failed(exc, "committing changes") from exc
            except StorageError as error:
                self._abandon()
                self._lost = self._lost or isinstance(error, StorageUnavailable)
                raise
            if sequences:
                self._publish(sequences[-1])
            return sequences

    def _turn(self) -> AbstractContextManager[None]:
        """This node's entry lock (nodelock.py), or nothing for a store outside a node."""
        return nullcontext() if self._node_lock is None else self._node_lock.held()

    def _publish(self, sequence: int) -> None:
        """Raise the node's committed sequence to `sequence` (committed.py), and its
        acknowledged one when this store's commits are acknowledged as they return."""
        if self._committed_in is None:
            return
        if self._committed is None:
            self._committed = CommittedSequence.open(self._committed_in)
        self._committed.raise_to(sequence)
        if self._acknowledges:
            if self._acknowledged is None:
                self._acknowledged = CommittedSequence.open_acknowledged(self._committed_in)
            self._acknowledged.raise_to(sequence)

    def last_sequence(self) -> int:
        """The sequence number of the newest committed change (0 for none)."""
        last = self._reading(
            "reading the last sequence",
            lambda cursor: _single_int(cursor.execute(_LAST_SEQUENCE).fetchone()),
        )
        self._reported = max(self._reported, last)
        return last

    def holds_only(self, dn_keys: Collection[str]) -> bool:
        """Whether every stored entry's DN key is one of `dn_keys` (a directory as `ixidir
        init` left it); reads at most one entry more than there are keys."""
        rows = self._reading(
            "reading the entries' names",
            lambda cursor: cursor.execute(_SOME_DN_KEYS, (len(dn_keys) + 1,)).fetchall(),
        )
        return all(key in dn_keys for (key,) in rows)

    def entry_count(self) -> int:
        """How many entries the database holds (`ixidir status`; a scan, not for hot paths)."""
        return self._reading(
            "counting the entries",
            lambda cursor: _single_int(cursor.execute(_ENTRY_COUNT).fetchone()),
        )

    def change_stamp(self, sequence: int) -> str | None:
        """What identifies change `sequence` in this very database, None when it has none.

        The database's GUID (a restore from backup gets a new one) and the change's commit time:
        a copy of the directory taken at `sequence` belongs to the database with the same stamp.
        """
        row = self._reading(
            "reading a change's stamp",
            lambda cursor: cursor.execute(_CHANGE_STAMP, (sequence,)).fetchone(),
        )
        if row is None:
            raise StorageError("the database identity row is missing")
        guid, committed_at = row
        if sequence == 0:
            return f"{guid}/0"
        return None if committed_at is None else f"{guid}/{committed_at.isoformat()}"

    def changes_since(self, sequence: int) -> list[Change]:
        """The changes committed after `sequence`, oldest first, with the entries' current rows.

        An entry written by a change and deleted since is reported among its `deleted`.
        HistoryPruned when some of them were pruned (storage.changelog): reload instead.
        """
        with self._turn():
            heads, rows = self._reading(
                "reading the changelog", lambda cursor: _changes(cursor, sequence)
            )
        check_history(heads, sequence)
        changes = _group_changes(rows)
        # The caller holds everything up to `sequence` already: a follower starting from a
        # loaded directory must not be woken again and again for changes it has. The head,
        # read before the changes, counts as reported too: a sequence number that was taken
        # and never committed (a gap) must not wake `wait_for_change` forever.
        newest = changes[-1].sequence if changes else 0
        self._reported = max(self._reported, sequence, heads.get(HEAD, 0), newest)
        return changes

    def wait_for_change(self, timeout: float) -> bool:
        """Block up to `timeout` seconds until some process commits a change.

        True when the database holds a change newer than any sequence this store has reported
        (read it with `changes_since`); False on timeout.
        """
        return True if self._has_news() else self._poll(timeout)

    def _has_news(self) -> bool:
        """Whether the database holds a sequence newer than any this store has reported."""
        last = self._reading(
            "reading the last sequence",
            lambda cursor: _single_int(cursor.execute(_LAST_SEQUENCE).fetchone()),
        )
        return last > self._reported

    def _poll(self, timeout: float) -> bool:
        """Ask for the last sequence every POLL_SECONDS until there is news or `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(POLL_SECONDS, left))
            if self._has_news():
                return True
        return False

    def _write_all(self, writes: Sequence[EntryWrite]) -> int:
        with _Statements(self._prepared, self._write) as statements:
            try:
                return self._write_changes(statements, [writes])[0]
            except BatchRefused as refused:
                raise refused.error from refused

    def _write_changes(
        self, statements: _Statements, changes: Sequence[Sequence[EntryWrite]]
    ) -> list[int]:
        """Write the changes in phases, each in as few round trips as it allows (rows packed many
        to a statement, storage/bulk.py): the entries, the routing keys every written entry no
        longer has, its new keys, the changelog. Batched changes never share an entry or a
        number (server/writes.py), so dropping all stale keys first is what each change alone
        would do. A unique key hit raises BatchRefused naming its change."""
        written = [
            _refusing(index, partial(self._write_entries, statements, writes))
            for index, writes in enumerate(changes)
        ]
        every = {uuid: keys for change in written for uuid, keys in change.items()}
        drop_stale_routing_keys(statements.drop_keys, every)
        for index, keys in enumerate(written):
            _refusing(index, partial(self._add_routing_keys, statements, keys))
        return self._record(statements, [_kinds(writes) for writes in changes])

    def _write_together(
        self, statements: _Statements, changes: Sequence[Sequence[EntryWrite]]
    ) -> list[int]:
        """`_write_changes` for a batch, with every change's rows in the same statements: a
        group commit of N changes then costs the statements of one (each execute costs
        firebird-driver ~15 interface calls per parameter, in Python, holding the GIL the event
        loop needs). Batched changes never share an entry or a number (server/writes.py), so
        this writes what the changes one by one would. A unique key refusing a row raises
        _Unattributed: the caller rolls back and writes change by change to name the change."""
        kinds = [_kinds(writes) for writes in changes]
        every = [write for writes in changes for write in writes]
        try:
            keys = self._write_entries(statements, every)
            drop_stale_routing_keys(statements.drop_keys, keys)
            self._add_routing_keys(statements, keys)
        except DriverError as exc:
            if is_lost_race(exc):
                raise  # the commit runs the whole batch again
            if isinstance(translate(exc, "committing changes"), StorageConflict):
                raise _Unattributed from exc
            raise
        except StorageConflict as exc:
            raise _Unattributed from exc
        return self._record(statements, kinds)

    @staticmethod
    def _write_entries(
        statements: _Statements, writes: Sequence[EntryWrite]
    ) -> dict[str, frozenset[str]]:
        """Write the entries of one change (or of several: `_write_together`); the entries'
        routing keys."""
        keys: dict[str, frozenset[str]] = {}
        packed: list[EntryParameters] = []
        for write in writes:
            match write:
                case PutEntry(entry=entry, routing_keys=routing_keys):
                    parameters = entry_parameters(entry)
                    if packable(parameters):
                        packed.append(parameters)
                    else:
                        statements.puts.execute(UPSERT, parameters)
                    keys[entry.uuid] = routing_keys
                case DeleteEntry(uuid=uuid):
                    statements.deletes.execute(DELETE, (check_uuid(uuid),))
                    keys[uuid] = frozenset()
                case RekeyEntry(uuid=uuid, routing_keys=routing_keys):
                    keys[check_uuid(uuid)] = routing_keys
        put_entries(statements.packed, packed)
        return keys

    @staticmethod
    def _record(statements: _Statements, kinds: Sequence[dict[str, str]]) -> list[int]:
        """One changelog sequence per change, the head advanced once for all of them and the
        changelog rows written in one block.

        Last, so the head row stays locked only from here to commit (see migrations.py).
        """
        row = statements.changelog.execute(_RECORD_CHANGES, (len(kinds), utc_now())).fetchone()
        last = _single_int(row)
        sequences = list(range(last - len(kinds) + 1, last + 1))
        items = (
            (sequence, uuid, kind)
            for sequence, change in zip(sequences, kinds, strict=True)
            for uuid, kind in change.items()
        )
        insert_changelog_items(statements.items, items)
        return sequences

    def _add_routing_keys(self, statements: _Statements, keys: dict[str, frozenset[str]]) -> None:
        """Make `keys[uuid]` each written entry's routing keys (the ones it no longer has are
        gone; the ones it keeps stay as they are).

        The primary key on KEY is what refuses a second holder: a concurrent uncommitted insert
        of the same key makes ours wait (up to WRITE_LOCK_TIMEOUT) and fail once it commits.
        Keys go in packed chunks (storage.bulk); a chunk that is refused was undone whole by
        its statement, and is inserted again key by key to name the key and its holder.
        """
        rows = [
            (check_routing_key(key), uuid)
            for uuid, entry_keys in keys.items()
            for key in sorted(entry_keys)
        ]
        cursor = statements.add_keys
        for chunk in key_chunks(rows):
            try:
                add_routing_keys(cursor, chunk)
            except DriverError as exc:
                if is_lost_race(exc):
                    raise  # the commit runs the whole change again
                error = translate(exc, "recording routing keys")
                if not isinstance(error, StorageConflict):
                    raise error from exc
                self._insert_keys_one_by_one(statements, chunk)

    def _insert_keys_one_by_one(
        self, statements: _Statements, rows: Sequence[tuple[str, str]]
    ) -> None:
        """Insert (key, uuid) rows singly; the first one refused raises naming its holder."""
        for key, uuid in rows:
            try:
                add_routing_keys(statements.add_key, [(key, uuid)])
            except DriverError as exc:
                if is_lost_race(exc):
                    raise
                error = translate(exc, "recording a routing key")
                if not isinstance(error, StorageConflict):
                    raise error from exc
                raise self._number_conflict(statements.holders, key) from exc

    @staticmethod
    def _number_conflict(cursor: Any, key: str) -> NumberConflict:
        """Name the entry that holds `key`, as this (failing) transaction sees it."""
        row = cursor.execute(SELECT_KEY_HOLDER, (key,)).fetchone()
        if row is None:
            return NumberConflict(key, None, None)
        return NumberConflict(key, row[0], row[1])

    def _abandon(self) -> None:
        """Roll back a failed write; a broken connection is reported by the original error."""
        try:
            if self._write.is_active():
                self._write.rollback()
        except DriverError:
            return

    def _reading(self, doing: str, query: Callable[[Any], _T]) -> _T:
        """Run `query` with a cursor in the connection's read-only read-committed transaction,
        ended afterwards unless the store `polls_often`. A failed read ends it too."""
        self._renew()
        try:
            if not self._read.is_active():
                self._read.begin()
            with self._prepared.cursor(self._read) as cursor:
                cursor.stream_blob_threshold = -1
                result = query(cursor)
            if not self._polling:
                self._read.commit()
            return result
        except DriverError as exc:
            error = self._failed(exc, doing)
            try:
                if self._read.is_active():
                    self._read.rollback()
            except DriverError as ended:
                # After a Firebird server restart a read in a kept transaction may fail first on
                # the driver's own cursor state ("attempt to reopen an open cursor", "cursor is
                # not open"); the rollback then finds the connection gone. Report that, so the
                # connection is renewed before the next read.
                gone = self._failed(ended, doing)
                if isinstance(gone, StorageUnavailable):
                    error = gone
            if self._polling:
                self._prepared.forget()  # such a statement keeps its cursor open: prepare afresh
            raise error from exc


class _Statements:
    """One cursor per statement of a write, each running its statement prepared once per
    connection (storage/prepared.py)."""

    def __init__(self, prepared: PreparedStatements, transaction: Any) -> None:
        self._cursors = [prepared.cursor(transaction) for _ in range(9)]
        (
            self.puts,
            self.packed,
            self.deletes,
            self.drop_keys,
            self.add_keys,
            self.add_key,
            self.holders,
            self.changelog,
            self.items,
        ) = self._cursors

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for cursor in self._cursors:
            cursor.close()


class _Unattributed(Exception):
    """A unique key refused a row of changes written together (`_write_together`)."""


def _kinds(writes: Sequence[EntryWrite]) -> dict[str, str]:
    """A change's changelog items: each entry it puts (P) or deletes (D); a re-keyed entry is
    no item (its row is unchanged)."""
    kinds: dict[str, str] = {}
    for write in writes:
        match write:
            case PutEntry(entry=entry):
                kinds[entry.uuid] = "P"
            case DeleteEntry(uuid=uuid):
                kinds[uuid] = "D"
    return kinds


def _refusing(index: int, write: Callable[[], _T]) -> _T:
    """`write()`, a unique-key failure raised as BatchRefused for change `index`."""
    try:
        return write()
    except DriverError as exc:
        if is_lost_race(exc):
            raise  # the commit runs the whole batch again
        error = translate(exc, "committing a change")
        if not isinstance(error, StorageConflict):
            raise error from exc
        raise BatchRefused(index, error) from exc
    except StorageConflict as exc:
        raise BatchRefused(index, exc) from exc


def _single_int(row: tuple[Any, ...] | None) -> int:
    if row is None:
        raise StorageError("the changelog head row is missing")
    return int(row[0])


def _changes(cursor: Any, sequence: int) -> tuple[dict[int, int], list[tuple[Any, ...]]]:
    """The changelog head rows, then the changes after `sequence`, in one transaction."""
    heads = {int(key): int(value) for key, value in cursor.execute(SELECT_HEADS).fetchall()}
    return heads, cursor.execute(SELECT_CHANGES, (sequence,)).fetchall()


def _group_changes(rows: Sequence[tuple[Any, ...]]) -> list[Change]:
    """Fold (seq, item uuid, entry columns...) rows, ordered by seq, into Change values."""
    changes: list[Change] = []
    puts: list[StoredEntry] = []
    deleted: list[str] = []
    current: int | None = None
    for sequence, item_uuid, *entry in rows:
        if sequence != current:
            if current is not None:
                changes.append(Change(current, tuple(puts), tuple(deleted)))
            current, puts, deleted = sequence, [], []
        if item_uuid is None:
            continue
        if entry[0] is None:
            deleted.append(item_uuid)
        else:
            puts.append(entry_from_row(tuple(entry)))
    if current is not None:
        changes.append(Change(current, tuple(puts), tuple(deleted)))
    return changes
