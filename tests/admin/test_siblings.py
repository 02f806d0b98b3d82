"""Each worker's applied sequence, as the node's other workers see it (real files, real pids)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ixidir.admin.siblings import REFRESH_SECONDS, WorkerSequences, applied_file


class Moment:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def later(self) -> None:
        self.now += REFRESH_SECONDS


@pytest.fixture
def other_pid() -> Iterator[int]:
    """A live process standing for another worker."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def test_a_write_counts_as_caught_up_once_every_other_worker_applied_it(
    tmp_path: Path, other_pid: int
) -> None:
    moment = Moment()
    mine = WorkerSequences(tmp_path, 3, clock=moment)
    other = WorkerSequences(tmp_path, 3, pid=other_pid)
    assert mine.others() == [other_pid]
    assert mine.caught_up(3)
    assert not mine.caught_up(5)
    other.publish(5)
    assert mine.caught_up(5)
    other.publish(4)  # never lowered
    assert mine.caught_up(5)


def test_alone_on_the_node_nothing_is_waited_for(tmp_path: Path) -> None:
    mine = WorkerSequences(tmp_path, 0)
    assert mine.others() == []
    assert mine.caught_up(10)


def test_a_worker_that_died_is_not_waited_for_and_its_file_goes(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    WorkerSequences(tmp_path, 1, pid=child.pid)  # left behind, as by a killed worker
    mine = WorkerSequences(tmp_path, 1)
    assert mine.caught_up(7)
    assert not applied_file(tmp_path, child.pid).exists()


def test_a_worker_that_starts_later_is_counted_at_the_next_refresh(
    tmp_path: Path, other_pid: int
) -> None:
    moment = Moment()
    mine = WorkerSequences(tmp_path, 2, clock=moment)
    assert mine.caught_up(4)
    WorkerSequences(tmp_path, 2, pid=other_pid)
    assert mine.caught_up(4)  # not looked for yet
    moment.later()
    assert not mine.caught_up(4)


def test_a_late_worker_is_waited_for_again_only_once_it_caught_up(
    tmp_path: Path, other_pid: int
) -> None:
    """A stuck worker delays one write by the bound, not every write after it."""
    mine = WorkerSequences(tmp_path, 3, clock=Moment())
    other = WorkerSequences(tmp_path, 3, pid=other_pid)
    assert not mine.caught_up(5)
    mine.late(5)
    assert mine.caught_up(6)  # still behind on 5: not waited for
    other.publish(5)
    assert not mine.caught_up(6)  # caught up on 5: counted again
    other.publish(6)
    assert mine.caught_up(6)


def test_a_stopping_worker_removes_its_file(tmp_path: Path, other_pid: int) -> None:
    moment = Moment()
    mine = WorkerSequences(tmp_path, 1, clock=moment)
    other = WorkerSequences(tmp_path, 1, pid=other_pid)
    assert not mine.caught_up(2)
    other.close()
    assert not applied_file(tmp_path, other_pid).exists()
    moment.later()
    assert mine.caught_up(2)
    assert mine.others() == []
