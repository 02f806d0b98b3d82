"""The changelog follower on an embedded database: the node's committed sequence, not Firebird
events, says when another process wrote; this process's own writes are never read back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# The retention tests' data directory: a copy on this process's Firebird runtime.
from admin.test_retention import PEOPLE, ImmediateReactor, _add, data_dir, prepared  # noqa: F401

from ixidir.admin import serving
from ixidir.admin.runtime import Opened, open_store, opened
from ixidir.admin.serving import Follower
from ixidir.directory.directory import Directory
from ixidir.directory.ports import Change, StorageError
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.committed import CommittedSequence


def _another_process_adds(folder: Path, uid: str) -> int:
    """Its commit raises the node's committed sequence; returns the sequence."""
    with opened(folder) as other:
        _add(other, uid)
        return other.store.last_sequence()


@contextmanager
def _following(data: Opened, store: FirebirdEntryStore) -> Iterator[None]:
    """A local follower of `data`'s directory on `store` while the block runs."""
    committed = CommittedSequence.open(data.data_dir)
    follower = Follower(data.directory, ImmediateReactor(), store, committed=committed, local=True)
    follower.start()
    try:
        yield
    finally:
        follower.stop()
        committed.close()


def _wait_until_applied(directory: Directory, head: int) -> None:
    deadline = time.monotonic() + 20
    while directory.sequence < head and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_local_follower_applies_what_another_process_committed(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
) -> None:
    with opened(data_dir) as data, _following(data, open_store(data_dir, data.config)):
        head = _another_process_adds(data_dir, "elsewhere")
        _wait_until_applied(data.directory, head)
        assert data.directory.sequence == head
        assert data.directory.state.dit.get(f"uid=elsewhere,{PEOPLE}".lower()) is not None


def _counting_reads(store: FirebirdEntryStore) -> list[int]:
    read: list[int] = []
    changes_since = store.changes_since

    def counted(sequence: int) -> list[Change]:
        read.append(sequence)
        return changes_since(sequence)

    store.changes_since = counted  # type: ignore[method-assign]
    return read


def _poll_a_while(follower: Follower, committed: CommittedSequence) -> None:
    """Let the started `follower` poll many times, under FOLLOW_POLL_SECONDS (so no safety-net
    look), then stop it."""
    try:
        time.sleep(0.3)
    finally:
        follower.stop()
        committed.close()


def test_a_local_follower_does_not_read_back_this_process_own_writes(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
) -> None:
    """A sequence this process committed and has yet to apply is its loop's to apply."""
    with opened(data_dir) as data:
        committed = CommittedSequence.open(data_dir)
        with opened(data_dir) as other:
            _add(other, "mine")  # stands for a write this process's writer committed
            head = other.store.last_sequence()
        before = data.directory.sequence
        store = open_store(data_dir, data.config)
        read = _counting_reads(store)
        ours = set(range(before + 1, head + 1))
        follower = Follower(
            data.directory, ImmediateReactor(), store, committed=committed, ours=ours, local=True
        )
        follower.start()
        _poll_a_while(follower, committed)
        assert read == []
        assert data.directory.sequence == before  # left to this process's loop


def test_a_follower_tries_again_after_a_failed_read_instead_of_stopping(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read that fails with a storage error other than a lost connection (a driver error
    after a Firebird server restart, say) is tried again; the follower goes on."""
    monkeypatch.setattr(serving, "FOLLOW_RETRY_SECONDS", 0.05)
    with opened(data_dir) as data:
        store = open_store(data_dir, data.config)
        changes_since = store.changes_since
        failures = [StorageError("reading the changelog: attempt to reopen an open cursor")]

        def failing_once(sequence: int) -> list[Change]:
            if failures:
                raise failures.pop()
            return changes_since(sequence)

        store.changes_since = failing_once  # type: ignore[method-assign]
        with _following(data, store):
            head = _another_process_adds(data_dir, "after-a-failure")
            _wait_until_applied(data.directory, head)
        assert failures == []  # the failure happened
        assert data.directory.sequence == head


def _always_committing(
    data: Opened, store: FirebirdEntryStore, committed: CommittedSequence
) -> Follower:
    """A started local follower whose process's writer is always inside a commit."""
    follower = Follower(
        data.directory,
        ImmediateReactor(),
        store,
        committed=committed,
        committing=lambda: True,
        local=True,
    )
    follower.start()
    return follower


def test_a_local_follower_waits_for_this_process_commit_in_flight_before_it_looks(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store publishes a commit's sequence before the writer thread can name it as this
    process's own: while the writer is inside a commit, a sequence nobody named yet is taken
    for that commit's, not read back from the database."""
    monkeypatch.setattr(serving, "MAX_DEFER_SECONDS", 60.0)
    with opened(data_dir) as data:
        committed = CommittedSequence.open(data_dir)
        before = data.directory.sequence
        head = _another_process_adds(data_dir, "in-flight")  # stands for the commit in flight
        store = open_store(data_dir, data.config)
        read = _counting_reads(store)
        _poll_a_while(_always_committing(data, store, committed), committed)
        assert read == []
        assert data.directory.sequence == before < head


def test_a_local_follower_looks_anyway_when_this_process_commits_back_to_back(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Waiting for this process's commits is bounded (MAX_DEFER_SECONDS): a writer that is
    always committing must not hide another process's change until the safety-net poll."""
    monkeypatch.setattr(serving, "MAX_DEFER_SECONDS", 0.05)
    monkeypatch.setattr(serving, "FOLLOW_POLL_SECONDS", 60.0)
    with opened(data_dir) as data:
        committed = CommittedSequence.open(data_dir)
        store = open_store(data_dir, data.config)
        follower = _always_committing(data, store, committed)
        try:
            head = _another_process_adds(data_dir, "elsewhere-meanwhile")
            _wait_until_applied(data.directory, head)
        finally:
            follower.stop()
            committed.close()
        assert data.directory.sequence == head


def test_a_start_lowers_the_node_sequences_a_restore_left_ahead_and_no_others(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
) -> None:
    """A database restored under the data directory ends its changelog earlier: a committed or
    acknowledged value beyond it would hold every request (the freshness barrier) for ever."""
    with opened(data_dir) as data:
        last = data.store.last_sequence()
        committed = CommittedSequence.open(data_dir)
        acknowledged = CommittedSequence.open_acknowledged(data_dir)
        committed.raise_to(last)  # not ahead: left as it is
        acknowledged.raise_to(last + 50)
        assert _started_with(data) == [last, last]
        committed.raise_to(last + 7)
        acknowledged.raise_to(last + 7)
        assert _started_with(data) == [last, last]
        committed.close()
        acknowledged.close()


def _started_with(data: Opened) -> list[int]:
    """The node's committed and acknowledged sequences as a server start leaves them."""
    opened_now = serving._open_committed(data.data_dir, data.store)
    values = [shared.read() for shared in opened_now]
    for shared in opened_now:
        shared.close()
    return values
