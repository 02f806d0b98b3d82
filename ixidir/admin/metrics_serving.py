"""The node's Prometheus metrics: each worker publishes its counters, one process serves them.

Every server process counts into plain ints (server/metrics.py) and publishes them once a second
(`Publisher`, admin/metrics_files.py). The parent process serves `metrics_listen` with
prometheus_client's HTTP server on its own thread, so a scrape (reading a few files and
formatting a few hundred lines) never runs on the event loop; `NodeCollector` turns the files
into metric families with a `worker` label ("0" is the parent), so one scrape shows the node.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from twisted.internet.task import LoopingCall

from ixidir.admin.metrics_files import PublishedCounters, read_counters
from ixidir.errors import ResultCode
from ixidir.server import metrics as m

PUBLISH_SECONDS = 1.0  # how stale a scrape may be; a copy costs ~15 µs
_LE = [*(f"{bound / 1e9:g}" for bound in m.LATENCY_BUCKETS_NS), "+Inf"]
_CODE_NAMES = {code.value: code.rfc_name for code in ResultCode}


@dataclass(frozen=True, slots=True)
class Sampled:
    """Values other objects keep as plain ints, copied into the slots before each publish."""

    routing_hits: Callable[[], int]
    routing_misses: Callable[[], int]
    cache_hits: Callable[[], int]
    cache_misses: Callable[[], int]
    applied_sequence: Callable[[], int]
    seen_sequence: Callable[[], int]


class Publisher:
    """Copies this process's counters into its file once a second, on the reactor."""

    def __init__(
        self, metrics: m.WorkerMetrics, file: PublishedCounters, sampled: Sampled, *, clock: Any
    ) -> None:
        self._metrics = metrics
        self._file = file
        self._sampled = sampled
        self._loop = LoopingCall(self.publish)
        self._loop.clock = clock

    def start(self) -> None:
        self._loop.start(PUBLISH_SECONDS, now=True)

    def publish(self) -> None:
        values = self._metrics.values
        sampled = self._sampled
        values[m.ROUTING_HITS] = sampled.routing_hits()
        values[m.ROUTING_MISSES] = sampled.routing_misses()
        values[m.ANSWER_CACHE_HITS] = sampled.cache_hits()
        values[m.ANSWER_CACHE_MISSES] = sampled.cache_misses()
        values[m.APPLIED_SEQUENCE] = sampled.applied_sequence()
        values[m.SEEN_SEQUENCE] = sampled.seen_sequence()
        self._file.publish(values)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()
        self._file.remove()


class NodeCollector(Collector):
    """Every worker's published counters as Prometheus families, read at each scrape."""

    def __init__(
        self,
        workers: Callable[[], Sequence[Path]],
        *,
        committed: Callable[[], int],
        snapshot: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`workers`: the files of the node's workers, the parent's first (label "0").
        `committed`: the node's committed changelog sequence (storage/committed.py)."""
        self._workers = workers
        self._committed = committed
        self._snapshot = snapshot
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        paths = list(self._workers())
        labels = [str(index) for index in range(len(paths))]
        read = [(label, read_counters(path)) for label, path in zip(labels, paths, strict=True)]
        workers = [(label, values) for label, values in read if values is not None]
        yield _gauge("ixidir_workers", "server processes of this node publishing metrics",
                     [([], len(workers))], labels=())  # fmt: skip
        yield from _operations(workers)
        yield from _connections(workers)
        yield from _lookups(workers)
        yield from _reservations(workers)
        yield from _changelog(workers, self._committed())
        yield from _commits(workers)
        yield _gauge(
            "ixidir_resident_memory_bytes",
            "resident memory of each worker (each holds the whole directory)",
            [([label], rss) for label, path in zip(labels, paths, strict=True)
             if (rss := _resident_bytes(path)) is not None],
        )  # fmt: skip
        try:
            age = self._clock() - self._snapshot.stat().st_mtime
        except FileNotFoundError:
            return  # no snapshot written yet: no age rather than a made-up one
        yield _gauge(
            "ixidir_snapshot_age_seconds", "seconds since the start-up snapshot was written",
            [([], max(age, 0.0))], labels=(),
        )  # fmt: skip


Workers = list[tuple[str, list[int]]]
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _resident_bytes(counters: Path) -> float | None:
    """The resident set of the process that publishes `counters` (worker-PID.bin), if alive."""
    pid = counters.stem.removeprefix("worker-")
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return None
    return float(int(fields[1]) * _PAGE)


def _counter(name: str, help_text: str, samples: list[tuple[list[str], float]],
             labels: Sequence[str] = ()) -> CounterMetricFamily:  # fmt: skip
    family = CounterMetricFamily(name, help_text, labels=["worker", *labels])
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _gauge(name: str, help_text: str, samples: list[tuple[list[str], float]],
           labels: Sequence[str] = ("worker",)) -> GaugeMetricFamily:  # fmt: skip
    family = GaugeMetricFamily(name, help_text, labels=list(labels))
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _histogram(
    name: str, help_text: str, labels: Sequence[str],
    series: list[tuple[list[str], list[int]]],
) -> HistogramMetricFamily:  # fmt: skip
    """`series`: label values and the slots of one server/metrics.py histogram."""
    family = HistogramMetricFamily(name, help_text, labels=["worker", *labels])
    for label_values, slots in series:
        cumulative, buckets = 0, []
        for le, count in zip(_LE, slots[: len(_LE)], strict=True):
            cumulative += count
            buckets.append((le, float(cumulative)))
        family.add_metric(label_values, buckets, slots[-1] / 1e9)
    return family


def _operations(workers: Workers) -> Iterator[Metric]:
    counts: list[tuple[list[str], float]] = []
    failed_binds: list[tuple[list[str], float]] = []
    latency: list[tuple[list[str], list[int]]] = []
    for label, values in workers:
        for op, name in enumerate(m.OPERATIONS):
            base = m.OPERATION_COUNTS + op * m.CODES
            for code in range(m.CODES):
                if values[base + code]:
                    result = _CODE_NAMES.get(code, str(code))
                    counts.append(([label, name, result], values[base + code]))
            start = m.OPERATION_LATENCY + op * m.HISTOGRAM
            latency.append(([label, name], values[start : start + m.HISTOGRAM]))
        bind = m.OPERATION_COUNTS + m.BIND * m.CODES
        failed_binds.append(([label], sum(values[bind + 1 : bind + m.CODES])))
    yield _counter(
        "ixidir_ldap_operations", "LDAP operations answered, by operation and result code",
        counts, ("operation", "result"),
    )  # fmt: skip
    yield _histogram(
        "ixidir_ldap_operation_seconds",
        "time from reading a request to writing its last reply",
        ("operation",), latency,
    )  # fmt: skip
    yield _counter("ixidir_binds_failed", "bind operations answered with an error", failed_binds)
    yield _counter(
        "ixidir_bind_lockouts", "accounts locked after too many failed binds",
        [([label], values[m.BIND_LOCKOUTS]) for label, values in workers],
    )  # fmt: skip


def _connections(workers: Workers) -> Iterator[Metric]:
    yield _gauge(
        "ixidir_connections", "client connections open now",
        [([label], values[m.CONNECTIONS_OPEN]) for label, values in workers],
    )  # fmt: skip
    yield _counter(
        "ixidir_connections_accepted", "client connections accepted",
        [([label], values[m.CONNECTIONS_TOTAL]) for label, values in workers],
    )  # fmt: skip
    yield _counter(
        "ixidir_connections_refused",
        "connections refused by max_connections or max_connections_per_address",
        [([label], values[m.CONNECTIONS_REFUSED]) for label, values in workers],
    )  # fmt: skip


def _lookups(workers: Workers) -> Iterator[Metric]:
    singles = (
        ("ixidir_routing_lookups", "routing look-ups by number", None),
        ("ixidir_routing_hits", "routing look-ups that found an entry", m.ROUTING_HITS),
        ("ixidir_routing_misses", "routing look-ups that found none", m.ROUTING_MISSES),
        ("ixidir_answer_cache_hits", "searches answered from the answer cache",
         m.ANSWER_CACHE_HITS),
        ("ixidir_answer_cache_misses", "searches the answer cache did not hold",
         m.ANSWER_CACHE_MISSES),
    )  # fmt: skip
    for name, help_text, slot in singles:
        samples: list[tuple[list[str], float]] = []
        for label, values in workers:
            value = (
                values[m.ROUTING_HITS] + values[m.ROUTING_MISSES] if slot is None else values[slot]
            )
            samples.append(([label], value))
        yield _counter(name, help_text, samples)


def _reservations(workers: Workers) -> Iterator[Metric]:
    samples: list[tuple[list[str], float]] = []
    for label, values in workers:
        for service, name in enumerate(m.SERVICES):
            base = m.RESERVATIONS + service * 2
            samples.append(([label, name, "granted"], values[base]))
            samples.append(([label, name, "refused"], values[base + 1]))
    yield _counter(
        "ixidir_reservations", "daily-limit reservations, granted or refused, per service",
        samples, ("service", "outcome"),
    )  # fmt: skip


def _changelog(workers: Workers, committed: int) -> Iterator[Metric]:
    """The lag: changes a worker has not applied yet of the newest it knows of (the node's
    committed sequence, or what its follower read from the database, written elsewhere)."""
    head = max([committed, *(values[m.SEEN_SEQUENCE] for _, values in workers)])
    yield _gauge("ixidir_changelog_sequence", "newest changelog sequence this node knows of",
                 [([], head)], labels=())  # fmt: skip
    yield _gauge(
        "ixidir_changelog_applied_sequence", "changelog sequence this worker's memory holds",
        [([label], values[m.APPLIED_SEQUENCE]) for label, values in workers],
    )  # fmt: skip
    yield _gauge(
        "ixidir_changelog_lag", "changes this worker has not applied yet",
        [([label], max(head - values[m.APPLIED_SEQUENCE], 0)) for label, values in workers],
    )  # fmt: skip


def _commits(workers: Workers) -> Iterator[Metric]:
    series: list[tuple[list[str], list[int]]] = []
    for label, values in workers:
        for store, name in enumerate(m.COMMIT_STORES):
            start = m.COMMIT_LATENCY + store * m.HISTOGRAM
            series.append(([label, name], values[start : start + m.HISTOGRAM]))
    yield _histogram(
        "ixidir_firebird_commit_seconds",
        "one group commit of a writer thread (entries or daily counters), in seconds",
        ("store",), series,
    )  # fmt: skip


def serve_metrics(host: str, port: int, collector: NodeCollector) -> tuple[str, int, Any]:
    """Serve /metrics on its own thread; the bound (host, port) and the server to shut down.
    OSError when the address cannot be bound."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    bound = server.server_address
    return str(bound[0]), int(bound[1]), server
