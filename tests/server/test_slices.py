"""Loop slices: queued work runs in order, only after the loop polled again, a budget a turn."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from twisted.internet.task import Clock

from ixidir.server.slices import LoopSlices


class Task:
    def active(self) -> bool:
        return True

    def cancel(self) -> None:
        raise NotImplementedError


class Loop:
    """A reactor's timed calls as Twisted runs them: a call made during a turn waits for the
    next one (task.Clock would run it in the same `advance`)."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[..., object], tuple[object, ...]]] = []

    def seconds(self) -> float:
        return 0.0

    def callLater(  # noqa: N802 (Twisted's name)
        self, delay: float, call: Callable[..., object], /, *args: object
    ) -> Task:
        self.pending.append((call, args))
        return Task()

    def turn(self) -> None:
        due, self.pending = self.pending, []
        for call, args in due:
            call(*args)


class Ticks:
    """A `now` that moves on by `step` at every look."""

    def __init__(self, step: float) -> None:
        self.time = 0.0
        self.step = step

    def __call__(self) -> float:
        self.time += self.step
        return self.time


def test_work_runs_in_order_after_two_turns_of_the_loop() -> None:
    loop = Loop()
    slices = LoopSlices(loop)
    done: list[int] = []
    for item in range(3):
        slices.run(partial(done.append, item))
    loop.turn()  # the turn that was running when the work came
    assert done == []
    loop.turn()  # the next one, after the loop polled its sockets
    assert done == [0, 1, 2]
    assert len(slices) == 0


def test_a_turn_stops_at_its_budget_and_the_rest_runs_in_later_turns() -> None:
    loop = Loop()
    slices = LoopSlices(loop, budget=2.5, now=Ticks(1.0))
    done: list[int] = []
    for item in range(5):
        slices.run(partial(done.append, item))
    loop.turn()
    loop.turn()
    assert done == [0, 1, 2]  # at least one, then until the budget (2.5 "seconds") is spent
    loop.turn()
    loop.turn()
    assert done == [0, 1, 2, 3, 4]


def test_a_failing_item_is_logged_and_the_rest_still_runs() -> None:
    clock = Clock()
    slices = LoopSlices(clock)
    done: list[str] = []

    def fail() -> None:
        raise RuntimeError("boom")

    slices.run(fail)
    slices.run(lambda: done.append("after"))
    clock.advance(0)
    clock.advance(0)
    assert done == ["after"]


def test_flush_runs_everything_now_and_without_a_clock_work_runs_at_once() -> None:
    clock = Clock()
    slices = LoopSlices(clock)
    done: list[int] = []
    slices.run(lambda: done.append(1))
    slices.flush()
    assert done == [1]
    LoopSlices(None).run(lambda: done.append(2))
    assert done == [1, 2]
