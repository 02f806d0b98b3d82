"""Several processes sharing one database (an embedded file in SuperClassic, or a server), as
server workers and nodes do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ixidir.directory.ports import PutEntry
from ixidir.storage import FirebirdEntryStore

from .conftest import Database, person

WORKER = Path(__file__).with_name("worker.py")
PER_WRITER = 15


def _worker(database: Database, *args: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        str(WORKER),
        str(database.runtime_root),
        *database.worker_arguments(),
        *args,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_write_concurrently_and_nothing_is_lost(
    store: FirebirdEntryStore, database: Database
) -> None:
    writers = [_worker(database, "write", p, str(PER_WRITER)) for p in ("a", "b")]
    store.commit([PutEntry(person("parent"))])
    outputs = [writer.communicate(timeout=120) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], outputs
    sequences = [int(line) for out, _ in outputs for line in out.split()]
    total = 2 * PER_WRITER + 1
    assert len(set(sequences)) == 2 * PER_WRITER
    assert store.last_sequence() == total
    assert sorted(change.sequence for change in store.changes_since(0)) == list(range(1, total + 1))
    uids = sorted(entry.dn.split(",")[0] for entry in store.load())
    expected = [f"uid={p}{n}" for p in "ab" for n in range(PER_WRITER)] + ["uid=parent"]
    assert uids == sorted(expected)


def test_a_commit_wakes_a_waiter_in_another_process(
    store: FirebirdEntryStore, database: Database
) -> None:
    waiter = _worker(database, "wait", "60")
    assert waiter.stdout is not None
    assert waiter.stdout.readline().strip() == "ready"
    store.commit([PutEntry(person("ping"))])
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert out.split() == ["True", "uid=ping,ou=people,dc=example,dc=com"]


def test_a_waiter_times_out_without_changes(store: FirebirdEntryStore, database: Database) -> None:
    out, err = _worker(database, "wait", "0.5").communicate(timeout=120)
    assert out.split() == ["ready", "False"], err
