"""Changelog retention in the server: the bounds from cn=ums-defaults, pruning, and a follower
behind the pruned history that reloads and says so."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from integration.conftest import init_data_dir
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher

from ixidir.admin.retention import Pruner, Retention, retention_of
from ixidir.admin.runtime import Opened, open_database_of, open_store, opened
from ixidir.admin.serving import Follower
from ixidir.directory.requests import AddRequest, Modification, ModifyRequest, ModOp
from ixidir.storage.changelog import DEFAULT_KEEP_DAYS, DEFAULT_MAX_ENTRIES, prune_changelog
from ixidir.storage.committed import CommittedSequence
from ixidir.storage.embedded import runtime_root
from ixidir.storage.migrations import utc_now

DEFAULTS = "cn=ums-defaults,dc=example,dc=com"
PEOPLE = "ou=people,dc=example,dc=com"
LONG_AGO = datetime(2000, 1, 1)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("retention") / "data"
    init_data_dir(data_dir, demo=False)
    return data_dir


@pytest.fixture
def data_dir(prepared: Path, tmp_path: Path) -> Path:
    """A copy using this process's Firebird runtime (one client library per process)."""
    copy = tmp_path / "data"
    shutil.copytree(prepared, copy, ignore=shutil.ignore_patterns("firebird-root"))
    (copy / "firebird-root").symlink_to(runtime_root() or prepared / "firebird-root")
    return copy


class ImmediateReactor:
    """Runs what the follower hands to the reactor at once (on the follower's thread)."""

    def callFromThread(self, function: Callable[..., Any], *args: Any) -> None:  # noqa: N802
        function(*args)


def _add(data: Opened, uid: str) -> None:
    attributes = (("objectClass", (b"inetOrgPerson",)), ("sn", (b"x",)), ("cn", (b"x",)))
    data.directory.add(data.admin, AddRequest(f"uid={uid},{PEOPLE}", attributes))


def _set(data: Opened, name: str, value: str) -> None:
    change = Modification(ModOp.REPLACE, name, (value.encode(),))
    data.directory.modify(data.admin, ModifyRequest(DEFAULTS, (change,)))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []

    def observe(event: LogEvent) -> None:
        lines.append(formatEvent(event))

    observer = cast(ILogObserver, observe)
    globalLogPublisher.addObserver(observer)
    yield lines
    globalLogPublisher.removeObserver(observer)


def test_the_bounds_come_from_the_defaults_entry(data_dir: Path) -> None:
    with opened(data_dir) as data:
        assert retention_of(data.directory.state) == Retention(
            DEFAULT_KEEP_DAYS, DEFAULT_MAX_ENTRIES
        )
        _set(data, "ixiChangelogKeepDays", "2")
        _set(data, "ixiChangelogMaxEntries", "3")
        assert retention_of(data.directory.state) == Retention(2, 3)
        for index in range(5):
            _add(data, f"p{index}")
        head = data.store.last_sequence()
        settings = lambda: retention_of(data.directory.state)  # noqa: E731
        pruner = Pruner(open_database_of(data_dir, data.config), settings, clock=utc_now)
        assert pruner.prune_once() == head - 3
        pruner.stop()


def test_a_follower_behind_the_pruned_history_reloads_and_says_so(
    data_dir: Path, log_lines: list[str]
) -> None:
    with opened(data_dir) as data:
        directory = data.directory
        with opened(data_dir) as other:
            _add(other, "gone")
            for index in range(3):
                _add(other, f"new{index}")
            other.directory.delete(other.admin, f"uid=gone,{PEOPLE}")
            head = other.store.last_sequence()
        connection = open_database_of(data_dir, data.config)
        try:
            prune_changelog(connection, before=LONG_AGO, keep_at_most=1)
        finally:
            connection.close()
        committed = CommittedSequence.open(data_dir)
        follower = Follower(
            directory,
            ImmediateReactor(),
            open_store(data_dir, data.config),
            committed=committed,
        )
        follower.start()
        deadline = time.monotonic() + 20
        while directory.sequence < head and time.monotonic() < deadline:
            time.sleep(0.05)
        follower.stop()
        committed.close()
        assert directory.sequence == head
        keys = {entry.dn_key for entry in directory.state.dit.entries()}
        assert {f"uid=new{index},ou=people,dc=example,dc=com" for index in range(3)} <= keys
        assert f"uid=gone,{PEOPLE}" not in keys
    assert any("reloading the directory" in line for line in log_lines)
