"""The freshness barrier: a worker answers only once it has applied every acknowledged write.

Each worker holds its own copy of the directory and applies other processes' writes when its
changelog follower fetches them. The node's acknowledged sequence (storage.committed: raised
just before a write is acknowledged, by the worker that applied it or by a CLI's commit) tells
a worker that it is behind; a connection then stops reading until the follower has caught up,
so a client that wrote on one connection reads its write on the next, whichever worker answers
it. A write committed and not yet acknowledged holds nobody: no client can expect to see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.logger import Logger

from ixidir.server.interfaces import Clock, DelayedCall

# How long a request waits for the follower. It is caught up within milliseconds (a Firebird
# event) or about a second (the polling fallback); past this bound the follower is stuck (the
# database is unreachable, or the follower died, which it logged), and the request is answered
# from what this worker holds, as before the barrier: a lookup slightly stale beats none.
HOLD_SECONDS = 5.0


@dataclass(slots=True)
class _Waiter:
    target: int
    resume: Callable[[], None]
    timer: DelayedCall | None = None


class Freshness:
    """Compares the node's acknowledged sequence with this worker's and holds requests
    between."""

    def __init__(
        self,
        *,
        committed: Callable[[], int],
        applied: Callable[[], int],
        kick: Callable[[], None],
        clock: Clock,
        log: Logger,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        """`committed` reads the node's acknowledged sequence (lock-free), `applied` this
        worker's directory sequence; `kick` asks the follower to fetch at once."""
        self.committed = committed
        self._applied = applied
        self._kick = kick
        self._clock = clock
        self._log = log
        self._hold_seconds = hold_seconds
        self._waiters: list[_Waiter] = []
        self._given_up = 0  # the newest sequence a wait timed out on

    def wait(self, resume: Callable[[], None]) -> bool:
        """Call `resume` once this worker has applied what the node acknowledged by now; False
        (and no call) when a wait for that already timed out: the follower is stuck, and each
        request waiting the whole bound again would stall every client for nothing."""
        target = self.committed()
        if target <= self._given_up:
            return False
        waiter = _Waiter(target, resume)
        waiter.timer = self._clock.callLater(self._hold_seconds, self._expire, waiter)
        self._waiters.append(waiter)
        self._kick()
        return True

    def caught_up(self) -> None:
        """The follower applied changes: resume the requests that waited for them."""
        applied = self._applied()
        ready = [waiter for waiter in self._waiters if waiter.target <= applied]
        if not ready:
            return
        self._waiters = [waiter for waiter in self._waiters if waiter.target > applied]
        for waiter in ready:
            if waiter.timer is not None and waiter.timer.active():
                waiter.timer.cancel()
            waiter.resume()

    def _expire(self, waiter: _Waiter) -> None:
        self._waiters.remove(waiter)
        self._given_up = max(self._given_up, waiter.target)
        self._log.warn(
            "answering without change {target}: this worker applied only up to {applied} "
            "after {seconds} s (is the changelog follower stuck?)",
            target=waiter.target,
            applied=self._applied(),
            seconds=self._hold_seconds,
        )
        waiter.resume()
