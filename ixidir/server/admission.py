"""Connection limits (issue 12 item 3): how many connections, from where, and for how long idle.

`Admission` counts the open connections of this process, in total and per client address, and
says whether one more may stay; a refused connection gets a Notice of Disconnection with busy
(51) and is closed (RFC 4511 §4.4.1). `IdleTimer` closes a connection nobody used for
`idle_timeout` seconds with a Notice of Disconnection, unavailable (52), as slapd's
`idletimeout` closes one (slapd sends no notice). Counting is per process: a worker's limit
protects its own file descriptors and memory; a node of N workers accepts up to N times it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ixidir.server.interfaces import Clock, DelayedCall


@functools.lru_cache(maxsize=4096)
def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine (127.0.0.0/8, ::1, IPv4-mapped loopback).

    Remembered per address: parsing one with `ipaddress` costs ~20 us, paid on the event
    loop at every connection, and clients come from a few addresses again and again."""
    if host is None:
        return True  # a UNIX socket or a test transport: nothing to count per address
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a connection may not stay: the text of its Notice of Disconnection."""

    message: str


class Admission:
    """The open connections of this process; 0 for a limit means none."""

    def __init__(self, *, max_connections: int = 0, max_per_address: int = 0) -> None:
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.open = 0
        self._by_address: Counter[str] = Counter()

    def admit(self, host: str | None) -> Refusal | None:
        """Count a new connection from `host`; a refused one is not counted (call nothing
        more for it). Loopback addresses count only towards `max_connections`: the Messaging
        Connector and local tools run there with many connections."""
        if self.max_connections and self.open >= self.max_connections:
            return Refusal(f"too many connections (max_connections {self.max_connections})")
        if host is not None and not is_loopback(host) and self.max_per_address:
            if self._by_address[host] >= self.max_per_address:
                return Refusal(
                    f"too many connections from {host}"
                    f" (max_connections_per_address {self.max_per_address})"
                )
            self._by_address[host] += 1
        self.open += 1
        return None

    def release(self, host: str | None) -> None:
        """A connection that `admit` counted has closed."""
        self.open -= 1
        if host is not None and host in self._by_address:
            self._by_address[host] -= 1
            if self._by_address[host] <= 0:
                del self._by_address[host]


class IdleTimer:
    """Calls `expire` once a connection has been idle for `timeout` seconds.

    `touch` (on every read) only stores the time, so the hot path costs a clock read; the one
    timer re-arms itself for the remaining time when it finds recent activity. `is_busy` says
    whether the connection still owes replies (a long search is not idle)."""

    def __init__(
        self,
        clock: Clock,
        timeout: float,
        *,
        expire: Callable[[], None],
        is_busy: Callable[[], bool],
    ) -> None:
        self._clock = clock
        self._timeout = timeout
        self._expire = expire
        self._is_busy = is_busy
        self._last = clock.seconds()
        self._call: DelayedCall | None = None
        if timeout > 0:
            self._call = clock.callLater(timeout, self._check)

    def touch(self) -> None:
        self._last = self._clock.seconds()

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _check(self) -> None:
        self._call = None
        now = self._clock.seconds()
        if self._is_busy():
            self._last = now
        remaining = self._last + self._timeout - now
        if remaining > 0:
            self._call = self._clock.callLater(remaining, self._check)
            return
        self._expire()


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The per-connection limits the protocol applies; 0 means none (see config.py for the
    defaults `ixidir serve` passes and why)."""

    max_connections: int = 0
    max_connections_per_address: int = 0
    idle_timeout: float = 0
    max_pending_requests: int = 64
    anonymous_max_pdu_size: int = 0  # 0: the bound limit applies before a bind too
