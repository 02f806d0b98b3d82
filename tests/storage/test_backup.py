"""Online backup and restore (storage.backup): every table, one moment, while writes go on."""

from __future__ import annotations

import gzip
import threading
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import pytest

from ixidir.directory.lockout import DEFAULTS, BindThrottles, Fail, Failures, Throttle, account
from ixidir.directory.ports import NumberConflict, PutEntry
from ixidir.limits import Service
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.backup import BackupError, restore_backup, write_backup
from ixidir.storage.migrations import migrate

from .conftest import Database, person

DAY = date(2026, 12, 7)


def _number(index: int) -> str:
    return f"4981424{index:06d}"


def _backup(database: Database, path: Path) -> dict[str, int]:
    connection = database.connect()
    try:
        with gzip.open(path, "wb") as out:
            return write_backup(connection, out, {"schema_version": 4})
    finally:
        connection.close()


def _restored(database: Database, path: Path, tmp_path: Path) -> Database:
    fresh = database.another(tmp_path / "restored")
    connection = fresh.connect(create=True)
    try:
        migrate(connection)
        restore_backup(connection, path)
    finally:
        connection.close()
    return fresh


def test_a_backup_taken_while_writes_go_on_restores_one_moment(
    store: FirebirdEntryStore, database: Database, tmp_path: Path
) -> None:
    # Change i puts entry w<i> with routing key i: a consistent copy holds exactly the entries
    # and keys of changes 1..N, with N the copied changelog's last sequence.
    first = person("w0")
    store.commit([PutEntry(first, routing_keys=frozenset({_number(0)}))])
    with closing(database.counters()) as counters:
        counters.reserve(first.uuid, Service.FAX, day=DAY, count=1, limit=None)
    stop = threading.Event()

    def write() -> None:
        with database.open() as writer:
            index = 1
            while not stop.is_set():
                entry = person(f"w{index}")
                writer.commit([PutEntry(entry, routing_keys=frozenset({_number(index)}))])
                index += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        counts = [_backup(database, tmp_path / f"backup-{n}.gz") for n in range(3)]
    finally:
        stop.set()
        writer.join()
    assert all(count["DAILY_COUNTERS"] == 1 for count in counts)
    backup = tmp_path / "backup-2.gz"
    restored = _restored(database, backup, tmp_path)
    with restored.open() as copy:
        sequence = copy.last_sequence()
        names = sorted(int(e.dn.split(",")[0][5:]) for e in copy.load())
        assert names == list(range(sequence))
        assert [change.sequence for change in copy.changes_since(0)] == list(range(1, sequence + 1))
        # The routing keys came along: every restored entry's number refuses a newcomer.
        late = PutEntry(person("late"), routing_keys=frozenset({_number(sequence - 1)}))
        with pytest.raises(NumberConflict):
            copy.commit([late])
    with closing(restored.counters()) as counters:
        assert counters.used(first.uuid, Service.FAX, day=DAY) == 1


def test_a_cut_short_backup_restores_nothing(
    store: FirebirdEntryStore, database: Database, tmp_path: Path
) -> None:
    store.commit([PutEntry(person("alice"))])
    whole = tmp_path / "whole.gz"
    _backup(database, whole)
    lines = gzip.decompress(whole.read_bytes()).splitlines(keepends=True)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(b"".join(lines[:-1])))
    fresh = database.another(tmp_path / "restored")
    connection = fresh.connect(create=True)
    try:
        migrate(connection)
        with pytest.raises(BackupError, match="cut short"):
            restore_backup(connection, cut)
    finally:
        connection.close()
    with fresh.open() as copy:
        assert list(copy.load()) == []


def test_a_backup_carries_the_lockouts(
    store: FirebirdEntryStore, database: Database, tmp_path: Path
) -> None:
    """Issue 13 item 5: entries, daily counts and lockouts; a locked account stays locked."""
    alice = account(person("alice").dn_key)
    forever = BindThrottles(account=Throttle(1, 60, 0), address=DEFAULTS.address)
    locked_at = datetime(2026, 12, 7, 10, 0)
    with closing(database.bind_failures()) as failures:
        failures.run_batch([Fail((alice,), forever, locked_at)])
    path = tmp_path / "backup.gz"
    assert _backup(database, path)["BIND_FAILURES"] == 1
    restored = _restored(database, path, tmp_path)
    with closing(restored.bind_failures()) as copy:
        assert copy.failures(alice) == Failures(1, locked_at, locked_at)
