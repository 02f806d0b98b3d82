"""The entry writer's store in a process of its own (admin.storeproc): what it commits is in
the database and raises the node's committed sequence, not its acknowledged one; a refusal
comes back as the error the store raised; the child runs SCHED_IDLE; a child that died is said
once and replaced; closing stops it."""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

# The retention tests' data directory: a copy on this process's Firebird runtime.
from admin.test_retention import PEOPLE, data_dir, prepared  # noqa: F401

from ixidir.admin.runtime import Opened, open_store, opened
from ixidir.admin.storeproc import StoreProcess
from ixidir.directory.ports import (
    BatchRefused,
    EntryWrite,
    NumberConflict,
    StorageConflict,
    StorageUnavailable,
)
from ixidir.directory.requests import AddRequest
from ixidir.server.writes import commit_batch
from ixidir.storage.committed import CommittedSequence

SCHED_IDLE = 5  # Linux's policy number (field 41 of /proc/PID/task/TID/stat)


@pytest.fixture
def site(data_dir: Path) -> Iterator[Opened]:  # noqa: F811 (the fixture imported above)
    with opened(data_dir) as data:
        yield data


@pytest.fixture
def writer(site: Opened) -> Iterator[StoreProcess]:
    store = StoreProcess(site.data_dir)
    yield store
    store.close()


def _add(site: Opened, uid: str) -> list[EntryWrite]:
    """The writes of adding `uid`, prepared against the site's memory (not applied)."""
    attributes = (("objectClass", (b"inetOrgPerson",)), ("sn", (b"x",)), ("cn", (b"x",)))
    request = AddRequest(f"uid={uid},{PEOPLE}", attributes)
    return list(site.directory.prepare_add(site.admin, request).writes)


def _dns_since(site: Opened, sequence: int) -> list[str]:
    with open_store(site.data_dir, site.config) as reader:
        return [put.dn for change in reader.changes_since(sequence) for put in change.puts]


def test_a_commit_is_in_the_database_and_committed_but_not_acknowledged(
    site: Opened, writer: StoreProcess
) -> None:
    """The serving loop acknowledges once it has applied the write (server.writes), so the
    child must not raise the acknowledged sequence that the freshness barrier waits for."""
    before = site.store.last_sequence()
    (sequence,) = writer.commit_many([_add(site, "through-the-pipe")])
    assert sequence > before
    assert _dns_since(site, before) == [f"uid=through-the-pipe,{PEOPLE}"]
    committed = CommittedSequence.open(site.data_dir)
    acknowledged = CommittedSequence.open_acknowledged(site.data_dir)
    assert committed.read() == sequence
    assert acknowledged.read() < sequence
    committed.close()
    acknowledged.close()


def test_a_store_of_a_cli_process_acknowledges_what_it_commits(site: Opened) -> None:
    """A CLI's write is acknowledged when its commit returns: both sequences rise."""
    site.store.commit(_add(site, "from-the-cli"))
    sequence = site.store.last_sequence()
    for shared in (
        CommittedSequence.open(site.data_dir),
        CommittedSequence.open_acknowledged(site.data_dir),
    ):
        assert shared.read() == sequence
        shared.close()


def test_a_refused_write_comes_back_as_the_store_refused_it(
    site: Opened, writer: StoreProcess
) -> None:
    """The group commit's retries run in the parent (server.writes.commit_batch), on the
    errors the child sends back: the second add of a DN fails alone, the other commits."""
    first = _add(site, "twice")
    writer.commit(first)
    again, other = _add(site, "twice"), _add(site, "once")  # memory never saw the first
    before = site.store.last_sequence()
    refused, committed = commit_batch(writer, [again, other])
    assert isinstance(refused, StorageConflict)
    assert isinstance(committed, int)
    assert _dns_since(site, before) == [f"uid=once,{PEOPLE}"]


def test_the_store_errors_cross_the_pipe_whole() -> None:
    conflict = NumberConflict("498142479912", "uuid-1", "uid=holder,ou=people")
    refused = pickle.loads(pickle.dumps(BatchRefused(3, conflict)))  # noqa: S301
    assert isinstance(refused, BatchRefused)
    assert refused.index == 3
    assert isinstance(refused.error, NumberConflict)
    assert (refused.error.key, refused.error.holder_uuid, refused.error.holder_dn) == (
        conflict.key,
        conflict.holder_uuid,
        conflict.holder_dn,
    )
    assert str(refused) == str(BatchRefused(3, conflict))


def test_the_child_runs_sched_idle(writer: StoreProcess) -> None:
    """Its commits' CPU gives way to the serving loops (benchmarks/interference.py)."""
    writer.ready()
    assert writer.pid is not None
    policies = set()
    for stat in Path(f"/proc/{writer.pid}/task").glob("*/stat"):
        policies.add(int(stat.read_text().rsplit(")", 1)[1].split()[38]))
    assert policies == {SCHED_IDLE}


def test_a_child_that_died_is_said_and_the_next_call_starts_another(
    site: Opened, writer: StoreProcess
) -> None:
    writer.ready()
    dead = writer.pid
    assert dead is not None
    os.kill(dead, signal.SIGKILL)
    with pytest.raises(StorageUnavailable, match="exited"):
        writer.commit(_add(site, "lost"))
    sequence = writer.commit(_add(site, "after-the-restart"))
    assert writer.pid not in (None, dead)
    assert sequence == site.store.last_sequence()


def test_close_stops_the_child(site: Opened) -> None:
    store = StoreProcess(site.data_dir)
    store.ready()
    pid = store.pid
    store.close()
    assert pid is not None
    assert not Path(f"/proc/{pid}").exists()  # exited, and reaped by close()
    store.close()  # again: nothing to do
