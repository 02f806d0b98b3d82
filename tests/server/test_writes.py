"""Group commit's linger: after a batch of several, a write that finds the writer idle waits a
moment for the writes its neighbours are about to send; after a lone write nothing waits."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from ixidir.server.writes import MAX_LINGER_SECONDS, GroupCommit

from .test_offload import ManualThread


class Recorder:
    def __init__(self) -> None:
        self.clock = Clock()
        self.thread = ManualThread()
        self.batches: list[list[int]] = []
        self.group: GroupCommit[int, int] = GroupCommit(
            run=self.thread, commit=self.commit, finish=lambda jobs, results: None, clock=self.clock
        )

    def commit(self, jobs: list[int]) -> list[int | Exception]:
        self.batches.append(list(jobs))
        return list(jobs)

    def finish_after(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.thread.finish()


def test_a_lone_write_commits_at_once() -> None:
    recorder = Recorder()
    recorder.group.submit(1)
    assert len(recorder.thread.calls) == 1
    recorder.finish_after(0.05)
    recorder.group.submit(2)  # the last batch held one write: no company is expected
    assert len(recorder.thread.calls) == 1
    recorder.finish_after(0.05)
    assert recorder.batches == [[1], [2]]


def test_after_a_batch_of_several_a_write_waits_for_company() -> None:
    recorder = Recorder()
    recorder.group.submit(1)
    recorder.group.submit(2)
    recorder.group.submit(3)  # 2 and 3 queue behind 1
    recorder.finish_after(0.01)
    recorder.finish_after(0.05)  # the batch of two took 50 ms
    assert recorder.group.linger() == pytest.approx(MAX_LINGER_SECONDS)
    recorder.group.submit(4)
    assert recorder.thread.calls == []  # lingering
    recorder.group.submit(5)
    recorder.clock.advance(MAX_LINGER_SECONDS)
    assert len(recorder.thread.calls) == 1
    recorder.finish_after(0.001)  # a quick batch lingers a tenth of its time only
    assert recorder.group.linger() == pytest.approx(0.0001)
    assert recorder.batches == [[1], [2, 3], [4, 5]]


def test_without_a_clock_nothing_lingers() -> None:
    thread = ManualThread()
    group: GroupCommit[int, int] = GroupCommit(
        run=thread, commit=lambda jobs: list(jobs), finish=lambda jobs, results: None
    )
    group.submit(1)
    group.submit(2)
    thread.finish()
    thread.finish()
    group.submit(3)
    assert len(thread.calls) == 1
    assert group.linger() == 0.0
