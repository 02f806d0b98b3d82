"""The changelog follower on an embedded database: the node's committed sequence, not Firebird
events, says when another process wrote; this process's own writes are never read back."""

from __future__ import annotations

import time
from pathlib import Path

# The retention tests' data directory: a copy on this process's Firebird runtime.
from admin.test_retention import PEOPLE, ImmediateReactor, _add, data_dir, prepared  # noqa: F401

from ixidir.admin.runtime import open_store, opened
from ixidir.admin.serving import Follower
from ixidir.directory.ports import Change
from ixidir.storage.committed import CommittedSequence


def test_a_local_follower_applies_what_another_process_committed(
    data_dir: Path,  # noqa: F811 (the fixture imported above)
) -> None:
    with opened(data_dir) as data:
        committed = CommittedSequence.open(data_dir)
        store = open_store(data_dir, data.config)
        follower = Follower(
            data.directory, ImmediateReactor(), store, committed=committed, local=True
        )
        follower.start()
        try:
            with opened(data_dir) as other:  # another process's commit raises the sequence
                _add(other, "elsewhere")
                head = other.store.last_sequence()
            deadline = time.monotonic() + 20
            while data.directory.sequence < head and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            follower.stop()
            committed.close()
        assert data.directory.sequence == head
        assert data.directory.state.dit.get(f"uid=elsewhere,{PEOPLE}".lower()) is not None


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
        read: list[int] = []
        store = open_store(data_dir, data.config)
        changes_since = store.changes_since

        def counted(sequence: int) -> list[Change]:
            read.append(sequence)
            return changes_since(sequence)

        store.changes_since = counted  # type: ignore[method-assign]
        ours = set(range(before + 1, head + 1))
        follower = Follower(
            data.directory, ImmediateReactor(), store, committed=committed, ours=ours, local=True
        )
        follower.start()
        try:
            time.sleep(0.3)  # many polls; under FOLLOW_POLL_SECONDS, so no safety-net look
        finally:
            follower.stop()
            committed.close()
        assert read == []
        assert data.directory.sequence == before  # left to this process's loop
