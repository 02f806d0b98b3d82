"""Replies that wait for work off the event loop: the `Pending` item and the jobs it names.

Sans-IO, like the session: a session's reply iterator yields a `Pending` where it needs a
PBKDF2 hash, a commit or a daily-counter update, and reads `outcome()` when it is resumed.
The protocol's pump (protocol.py) hands the job to an `Offload` (offload.py) and stops at the
unready item: the connection's later requests wait behind it, so its replies leave in request
order, while other connections are served. `Offload.start` may also complete a job at once
(`InlineOffload`: tests, and servers without threads); the pump then simply goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ixidir.directory.lockout import GuardOp
from ixidir.directory.state import PreparedWrite
from ixidir.limits.ports import CounterOp


@dataclass(frozen=True, slots=True)
class Compute:
    """CPU-bound work that reads no shared state (PBKDF2 verification, hashing): a thread
    pool runs it; hashlib releases the GIL, so the loop keeps serving meanwhile."""

    run: Callable[[], object]


@dataclass(frozen=True, slots=True)
class Write:
    """A directory write. `prepare` checks it against memory on the loop (again, should a write
    it conflicts with be in flight); the writer thread commits it with the others queued; the
    loop applies it to memory; only then is the outcome (None) ready."""

    prepare: Callable[[], PreparedWrite]


@dataclass(frozen=True, slots=True)
class Count:
    """A daily-counter operation, committed by the counters' writer in one transaction with
    the others queued; the outcome is a `Reservation` (reserve) or the day's count (release)."""

    op: CounterOp


@dataclass(frozen=True, slots=True)
class Guard:
    """A failed-bind count to read or write (directory/lockout.py), batched with the others
    queued by the guard's writer; the outcome is the operation's result (`GuardResult`)."""

    op: GuardOp


@dataclass(frozen=True, slots=True)
class Delay:
    """No work, only time: answer after `seconds` (a repeated wrong password, see session.py)."""

    seconds: float


Job = Compute | Write | Count | Guard | Delay


@dataclass(eq=False, slots=True)
class Pending:
    """A reply position whose job runs elsewhere; `complete` is called on the loop."""

    job: Job
    is_started: bool = False
    is_done: bool = False
    result: object = None
    error: Exception | None = None

    def complete(self, result: object, error: Exception | None) -> None:
        self.result, self.error, self.is_done = result, error, True

    def outcome(self) -> object:
        """The job's result; its exception is raised here, where the session maps it."""
        if not self.is_done:
            raise RuntimeError("a pending reply was resumed before its job completed")
        if self.error is not None:
            raise self.error
        return self.result
