"""Following the changelog needs nothing but the database connection: a follower polls the
changelog head, so a node that cannot reach the Firebird server's auxiliary port (RemoteAuxPort,
which Firebird events use, behind a firewall) sees every commit, and no thread is started.

The private server here has its auxiliary port taken by another socket, so any client asking
for events would fail, as a node the firewall keeps out does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import private_firebird
import pytest
from private_firebird import PrivateFirebird

from ixidir.directory.ports import PutEntry

from .conftest import Database, person


@pytest.fixture(scope="module")
def deaf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateFirebird]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = f"RemoteAuxPort = {taken.getsockname()[1]}\n"
        with private_firebird.running(tmp_path_factory.mktemp("deaf"), settings=settings) as server:
            yield server


def test_a_follower_polls_and_sees_the_next_commit_without_the_auxiliary_port(
    deaf_server: PrivateFirebird, tmp_path: Path, runtime_root: Path
) -> None:
    database = Database.on_server(deaf_server, tmp_path / "data", runtime_root)
    with database.open(create=True) as writer, database.open() as follower:
        seen = follower.last_sequence()
        follower.changes_since(seen)
        threads = threading.active_count()
        assert not follower.wait_for_change(0.2)  # nothing new: it waits out its timeout
        assert threading.active_count() == threads  # no event thread
        later = threading.Timer(0.3, writer.commit, [[PutEntry(person("polled"))]])
        later.start()
        try:
            assert follower.wait_for_change(30)
        finally:
            later.join()
        assert [change.sequence for change in follower.changes_since(seen)] == [seen + 1]
