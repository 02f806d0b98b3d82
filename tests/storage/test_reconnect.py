"""A Firebird server restart (or a cut network) breaks every connection of every node: the
operation that finds its connection gone fails as unavailable, and the next one runs on a new
connection, so entry writes, followers and daily counters carry on.

The server is a private one of this module's own: restarting the session's would break the
connections of other tests' servers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import private_firebird
import pytest
from private_firebird import PrivateFirebird

from ixidir.directory.ports import PutEntry, StorageUnavailable
from ixidir.limits.policy import Service
from ixidir.limits.ports import Reservation, ReserveOp
from ixidir.storage.writer import CounterWriter

from .conftest import Database, person

DAY = date(2026, 12, 7)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateFirebird]:
    with private_firebird.running(tmp_path_factory.mktemp("restarted-firebird")) as server:
        yield server


@pytest.fixture
def database(own_server: PrivateFirebird, tmp_path: Path, runtime_root: Path) -> Database:
    return Database.on_server(own_server, tmp_path / "data", runtime_root)


@pytest.mark.parametrize("polls_often", [False, True])
def test_entry_stores_reconnect_after_the_server_restarted(
    own_server: PrivateFirebird, database: Database, polls_often: bool
) -> None:
    """Also a follower's store that keeps its read transaction between polls."""
    with database.open(create=True) as writer, database.open() as follower:
        if polls_often:
            follower.polls_often()
        writer.commit([PutEntry(person("before"))])
        seen = follower.last_sequence()
        follower.changes_since(seen)
        own_server.restart()
        with pytest.raises(StorageUnavailable):
            writer.commit([PutEntry(person("lost"))])
        after = writer.commit([PutEntry(person("after"))])
        with pytest.raises(StorageUnavailable):
            follower.changes_since(seen)
        assert follower.wait_for_change(30)
        assert [change.sequence for change in follower.changes_since(seen)] == [after]
        assert not follower.wait_for_change(0.1)  # nothing more, on the new connection
        later = writer.commit([PutEntry(person("later"))])
        assert follower.wait_for_change(30)
        assert [change.sequence for change in follower.changes_since(after)] == [later]


def test_counter_stores_and_their_writer_reconnect_after_the_server_restarted(
    own_server: PrivateFirebird, database: Database
) -> None:
    user = str(uuid.uuid4())
    with database.open(create=True), database.counters() as counters:
        writer = CounterWriter(database.counters())
        try:
            reserve = ReserveOp(user, Service.SMS, DAY, 1, 10)
            assert writer.run_batch([reserve]) == [Reservation(granted=True, used=1, limit=10)]
            assert counters.used(user, Service.SMS, day=DAY) == 1
            own_server.restart()
            assert isinstance(writer.run_batch([reserve])[0], StorageUnavailable)
            assert writer.run_batch([reserve]) == [Reservation(granted=True, used=2, limit=10)]
            with pytest.raises(StorageUnavailable):
                counters.used(user, Service.SMS, day=DAY)
            assert counters.used(user, Service.SMS, day=DAY) == 2
        finally:
            writer.close()
