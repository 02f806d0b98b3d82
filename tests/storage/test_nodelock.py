"""The node's entry lock: a writer's transaction and a follower's changelog read take turns."""

from __future__ import annotations

import threading
from pathlib import Path

from ixidir.directory.ports import PutEntry
from ixidir.storage.nodelock import NodeLock

from .conftest import Database, person

WAIT = 0.3  # long enough for a thread that is not blocked to finish its step


def test_two_holders_in_one_process_take_turns(tmp_path: Path) -> None:
    first, second = NodeLock(tmp_path), NodeLock(tmp_path)
    entered = threading.Event()

    def take() -> None:
        with second.held():
            entered.set()

    with first.held():
        thread = threading.Thread(target=take)
        thread.start()
        assert not entered.wait(WAIT)  # the second waits while the first holds it
    assert entered.wait(10)
    thread.join()
    first.close()
    second.close()


def test_a_commit_waits_for_the_nodes_lock_and_a_read_after_it_sees_it(database: Database) -> None:
    database.data_dir.mkdir(parents=True, exist_ok=True)  # a node's folder, on either store
    with database.open(create=True) as store, database.open() as follower:
        held = NodeLock(database.data_dir)
        done: list[str] = []
        with held.held():
            writer = threading.Thread(
                target=lambda: done.append(f"commit {store.commit([PutEntry(person('x'))])}")
            )
            reader = threading.Thread(
                target=lambda: done.append(f"read {len(follower.changes_since(0))}")
            )
            writer.start()
            assert not done
            writer.join(WAIT)
            assert done == []  # the commit waits for the lock
        writer.join(30)
        reader.start()
        reader.join(30)
        assert done == ["commit 1", "read 1"]
        held.close()
