"""When the serving process forks a periodic snapshot (the writing itself: tests/integration/
test_snapshots.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from ixidir.admin.snapshots import SNAPSHOT_SHARE, PeriodicSnapshots
from ixidir.directory.directory import Directory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_after_a_snapshot_the_next_waits_so_children_take_a_tenth_of_the_time(
    tmp_path: Path,
) -> None:
    directory = SimpleNamespace(sequence=0)
    asked: list[int] = []

    def stamp_of(sequence: int) -> str | None:
        asked.append(sequence)  # the first step of forking; None: no fork after all
        return None

    clock = Clock()
    snapshots = PeriodicSnapshots(
        tmp_path,
        cast(Directory, directory),
        stamp_of,
        reactor=cast(Any, None),
        every_changes=1000,
        every_minutes=0,
        clock=clock,
    )
    snapshots._done(0, 0, 2.0)  # a child that took 2 s just finished
    directory.sequence = 5000  # many changes since: due by count
    pause = 2.0 * (1 / SNAPSHOT_SHARE - 1)
    clock.now += pause - 0.5
    assert not snapshots.check()
    assert asked == []  # not even tried
    clock.now += 1.0
    snapshots.check()
    assert asked == [5000]
