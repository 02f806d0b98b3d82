"""One worker's counters for the Prometheus metrics (issue 14): plain ints in one flat list.

Why not prometheus_client on the request path: measured in process on the shared 2-core machine
of issue 14, `Counter.inc()` costs ~1 µs and `Histogram.observe()` ~2 µs (a lock each, labels
more), against ~5 µs for a whole cached search, and their values live in this process only,
while one scrape must show every worker of the node. `values[i] += 1` on a list costs ~30 ns (a
memoryview over a shared mmap ~60 ns). So a request adds two `perf_counter_ns()` calls, one
`bisect` into fixed buckets and three list increments: ~0.4-0.7 µs a search in process
(benchmarks/metrics_overhead.py; a few per cent of the ~25 µs a search costs the server with
Twisted and the kernel), and the list is copied once a second into a file every process of the
node maps (admin/metrics_files.py), from which the metrics process builds the scrape. Sans-IO.

The layout is one list of slots so that the copy is one array conversion and the reader needs
no schema negotiation: `LAYOUT_SIZE` slots, the offsets below.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from ixidir.server import ber

# LDAP operations that have a result (abandon and unbind have none), in slot order.
OPERATIONS = ("bind", "search", "compare", "add", "modify", "delete", "modrdn", "extended")
BIND, SEARCH, COMPARE, ADD, MODIFY, DELETE, MODRDN, EXTENDED = range(len(OPERATIONS))
CODES = 128  # result codes 0..127 (RFC 4511 uses up to 80); larger ones count as 127
# Upper bounds of the operation latency buckets, in nanoseconds (Prometheus `le`, seconds):
# a cached answer takes tens of µs, a hashed bind ~270 ms, a commit a few ms.
LATENCY_BUCKETS_NS = tuple(
    int(seconds * 1e9)
    for seconds in (
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    )
)  # fmt: skip
HISTOGRAM = len(LATENCY_BUCKETS_NS) + 2  # the buckets, +Inf, then the sum in ns
SERVICES = ("fax", "sms", "voice")  # limits.Service order
COMMIT_STORES = ("entries", "counters")

# Single slots, set by the request path or sampled once a second before publishing.
CONNECTIONS_TOTAL = 0
CONNECTIONS_OPEN = 1
CONNECTIONS_REFUSED = 2  # by max_connections / max_connections_per_address
BIND_LOCKOUTS = 3  # `lockout()`: the bind lockout (issue 12, branch lockout) calls it
ROUTING_HITS = 4  # sampled from the routing index
ROUTING_MISSES = 5
ANSWER_CACHE_HITS = 6  # sampled from the server's answer cache
ANSWER_CACHE_MISSES = 7
APPLIED_SEQUENCE = 8  # the changelog sequence this worker's memory holds (sampled)
SEEN_SEQUENCE = 9  # the newest sequence its follower read from the database (sampled)
_SINGLES = 16  # room for more single slots without moving the tables
OPERATION_COUNTS = _SINGLES
OPERATION_LATENCY = OPERATION_COUNTS + len(OPERATIONS) * CODES
RESERVATIONS = OPERATION_LATENCY + len(OPERATIONS) * HISTOGRAM  # service * 2 + refused
COMMIT_LATENCY = RESERVATIONS + len(SERVICES) * 2
LAYOUT_SIZE = COMMIT_LATENCY + len(COMMIT_STORES) * HISTOGRAM

Commit = Callable[[list[Any]], list[Any]]


class WorkerMetrics:
    """The counters of this process; every method runs on the reactor thread except
    `timed_commit`'s wrapper, which runs on a writer thread and touches its own slots only."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values = [0] * LAYOUT_SIZE

    def operation(self, operation: int, code: int, started_ns: int) -> None:
        """One answered request: its result code and the time since `started_ns`."""
        values = self.values
        values[OPERATION_COUNTS + operation * CODES + code] += 1
        elapsed = perf_counter_ns() - started_ns
        base = OPERATION_LATENCY + operation * HISTOGRAM
        values[base + bisect_left(LATENCY_BUCKETS_NS, elapsed)] += 1
        values[base + HISTOGRAM - 1] += elapsed

    def recorder(self, operation: int) -> Callable[[int, int], None]:
        """`operation` for one operation as a closure: `record(code, started_ns)`. Constants in
        closure cells instead of globals save ~0.1 µs of a cached search's ~5 µs."""
        values, clock, buckets, find = self.values, perf_counter_ns, LATENCY_BUCKETS_NS, bisect_left
        counts = OPERATION_COUNTS + operation * CODES
        latency = OPERATION_LATENCY + operation * HISTOGRAM
        total = latency + HISTOGRAM - 1

        def record(code: int, started_ns: int) -> None:
            values[counts + code] += 1
            elapsed = clock() - started_ns
            values[latency + find(buckets, elapsed)] += 1
            values[total] += elapsed

        return record

    def connection_opened(self) -> None:
        values = self.values
        values[CONNECTIONS_TOTAL] += 1
        values[CONNECTIONS_OPEN] += 1

    def connection_closed(self) -> None:
        self.values[CONNECTIONS_OPEN] -= 1

    def connection_refused(self) -> None:
        self.values[CONNECTIONS_REFUSED] += 1

    def lockout(self) -> None:
        """A bind lockout started (the account's failures reached ixiBindMaxFailures)."""
        self.values[BIND_LOCKOUTS] += 1

    def reservation(self, service: int, granted: bool) -> None:
        self.values[RESERVATIONS + service * 2 + (0 if granted else 1)] += 1

    def timed_commit(self, store: int, commit: Commit) -> Commit:
        """`commit` (a writer thread's group commit) timed into the store's histogram."""
        base = COMMIT_LATENCY + store * HISTOGRAM
        values = self.values

        def timed(jobs: list[Any]) -> list[Any]:
            started = perf_counter_ns()
            try:
                return commit(jobs)
            finally:
                elapsed = perf_counter_ns() - started
                values[base + bisect_left(LATENCY_BUCKETS_NS, elapsed)] += 1
                values[base + HISTOGRAM - 1] += elapsed

        return timed


def done_code(operation: bytes) -> int:
    """The result code of an encoded LDAPResult protocolOp (SearchResultDone...); CODES - 1
    when it is not one (a general search's answer, read after it was sent)."""
    try:
        _, start, stop = ber.element(operation, 0, len(operation))
        tag, code_start, code_stop = ber.element(operation, start, stop)
    except ber.CodecError:
        return CODES - 1
    if tag != ber.ENUMERATED or code_stop != code_start + 1:
        return CODES - 1
    return min(operation[code_start], CODES - 1)
