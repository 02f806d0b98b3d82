"""Where pending jobs run (pending.py): at once (`InlineOffload`) or off the loop (`ThreadOffload`).

A server's event loop only parses, looks up memory and writes sockets (DESIGN.md "The event
loop never waits"): `ThreadOffload` sends hashing to a small thread pool, directory writes to
the write queue (writes.py) and daily-counter operations to the counters' group commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from ixidir.directory.lockout import GuardOp, GuardResult
from ixidir.directory.ports import StorageError, StorageUnavailable
from ixidir.directory.state import PreparedWrite
from ixidir.errors import OperationsError, Unavailable
from ixidir.limits.ports import CounterOp, CounterStore, perform
from ixidir.server.extended import ExtendedOutcome, ExtendedReply
from ixidir.server.interfaces import Clock
from ixidir.server.pending import Compute, Count, Delay, Guard, Job, Write
from ixidir.server.writes import GroupCommit, Runner, WriteQueue

Done = Callable[[object, Exception | None], None]


class Offload(Protocol):
    def start(self, job: Job, done: Done) -> None:
        """Run `job`; call `done(result, error)` on the loop when it completes (maybe at once)."""
        ...


class Writer(Protocol):
    """The synchronous write path (the directory facade's `write_prepared`)."""

    def write_prepared(self, prepared: PreparedWrite) -> None: ...


class GuardStore(Protocol):
    """Where failed binds are counted (storage/bindfailures.py), a batch at a time."""

    def run_batch(self, ops: Sequence[GuardOp]) -> list[GuardResult | Exception]: ...


class InlineOffload:
    """Every job on the calling thread, completed before `start` returns: for tests, and for a
    server built without threads (its loop then waits, as before issue 11)."""

    def __init__(
        self,
        directory: Writer,
        counters: CounterStore | None = None,
        guard: GuardStore | None = None,
    ) -> None:
        self._directory = directory
        self._counters = counters
        self._guard = guard

    def start(self, job: Job, done: Done) -> None:
        try:
            match job:
                case Compute(run=run):
                    result: object = run()
                case Write(prepare=prepare):
                    self._directory.write_prepared(prepare())
                    result = None
                case Count(op=op):
                    if self._counters is None:
                        raise Unavailable("this server keeps no daily counters")
                    result = perform(self._counters, op)
                case Guard(op=op):
                    if self._guard is None:
                        raise Unavailable("this server counts no failed binds")
                    (result,) = self._guard.run_batch([op])
                    if isinstance(result, Exception):
                        raise result
                case Delay():
                    result = None  # nobody else to serve meanwhile
        except Exception as error:  # noqa: BLE001 (the session maps it to a result code)
            done(None, _counter_failure(error) if isinstance(job, Count | Guard) else error)
            return
        done(result, None)


class ThreadOffload:
    """Hashing on `compute` (a thread pool), writes on the write queue, counts on `counters`."""

    def __init__(
        self,
        *,
        compute: Runner,
        writes: WriteQueue,
        clock: Clock,
        counters: GroupCommit[tuple[CounterOp, Done], Any] | None = None,
        guard: GroupCommit[tuple[GuardOp, Done], Any] | None = None,
    ) -> None:
        self._compute = compute
        self._clock = clock
        self._writes = writes
        self._counters = counters
        self._guard = guard

    def start(self, job: Job, done: Done) -> None:
        match job:
            case Compute(run=run):
                Deferred.fromCoroutine(self._computed(run, done))
            case Write(prepare=prepare):
                self._writes.submit(prepare, done)
            case Count(op=op):
                if self._counters is None:
                    done(None, Unavailable("this server keeps no daily counters"))
                else:
                    self._counters.submit((op, done))
            case Guard(op=guard_op):
                if self._guard is None:
                    done(None, Unavailable("this server counts no failed binds"))
                else:
                    self._guard.submit((guard_op, done))
            case Delay(seconds=seconds):
                self._clock.callLater(seconds, done, None, None)

    async def _computed(self, run: Callable[[], object], done: Done) -> None:
        try:
            result = await self._compute(run)
        except Exception as error:  # noqa: BLE001 (mapped by the session)
            done(None, error)
            return
        done(result, None)


def counted(jobs: Sequence[tuple[object, Done]], results: list[Any]) -> None:
    """The counters' (and the guard's) group commit `finish`: answer each operation in order,
    on the loop."""
    for (_, done), result in zip(jobs, results, strict=True):
        if isinstance(result, Exception):
            done(None, _counter_failure(result))
        else:
            done(result, None)


def _counter_failure(error: Exception) -> Exception:
    """The result code a failed counter operation gets (as DailyLimits maps store failures)."""
    if isinstance(error, StorageUnavailable):
        return Unavailable("the counter store is unavailable")
    if isinstance(error, StorageError):
        return OperationsError("the counter store failed")
    return error


def answered(outcome: ExtendedOutcome, offload: Offload) -> ExtendedReply:
    """An extended handler's reply, its pending jobs run by `offload` (which must complete
    them at once, as InlineOffload does): for callers outside the pump (tests, tools)."""
    if isinstance(outcome, ExtendedReply):
        return outcome
    try:
        pending = next(outcome)
        while True:
            offload.start(pending.job, pending.complete)
            pending = outcome.send(None)
    except StopIteration as stop:
        reply: ExtendedReply = stop.value
        return reply
