"""The node's scrape (admin/metrics_serving.py): every worker's file as Prometheus families,
served over HTTP and read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ixidir.admin.metrics_files import PublishedCounters, worker_file
from ixidir.admin.metrics_serving import NodeCollector, serve_metrics
from ixidir.errors import ResultCode
from ixidir.server import metrics as m


def published(data_dir: Path, pid: int, values: list[int]) -> PublishedCounters:
    counters = PublishedCounters(worker_file(data_dir, pid))
    counters.publish(values)
    return counters


def scrape(collector: NodeCollector) -> list[Sample]:
    host, port, server = serve_metrics("127.0.0.1", 0, collector)
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    (found,) = [s.value for s in samples if s.name == name and s.labels == labels]
    return found


@pytest.fixture
def workers(tmp_path: Path) -> list[Path]:
    first = m.WorkerMetrics()
    values = first.values
    values[m.OPERATION_COUNTS + m.SEARCH * m.CODES + ResultCode.SUCCESS] = 7
    values[m.OPERATION_COUNTS + m.BIND * m.CODES + ResultCode.INVALID_CREDENTIALS] = 2
    values[m.OPERATION_COUNTS + m.BIND * m.CODES + ResultCode.SUCCESS] = 5
    start = m.OPERATION_LATENCY + m.SEARCH * m.HISTOGRAM
    values[start], values[start + 2] = 4, 3  # <= 50 µs, <= 250 µs
    values[start + m.HISTOGRAM - 1] = 1_500_000  # ns
    values[m.APPLIED_SEQUENCE], values[m.SEEN_SEQUENCE] = 40, 42
    values[m.ROUTING_HITS], values[m.ROUTING_MISSES] = 6, 1
    first.reservation(2, granted=False)
    second = m.WorkerMetrics()
    second.values[m.APPLIED_SEQUENCE] = 42
    second.connection_opened()
    nobody = 4_194_400  # above the kernel's largest pid: no process publishes these
    files = [
        published(tmp_path, nobody, first.values),
        published(tmp_path, nobody + 1, second.values),
    ]
    return [file.path for file in files]


def test_one_scrape_labels_every_worker(tmp_path: Path, workers: list[Path]) -> None:
    collector = NodeCollector(lambda: workers, committed=lambda: 41, snapshot=tmp_path / "none")
    samples = scrape(collector)
    assert value(samples, "ixidir_workers") == 2
    operations = "ixidir_ldap_operations_total"
    assert value(samples, operations, worker="0", operation="search", result="success") == 7
    assert (
        value(samples, operations, worker="0", operation="bind", result="invalidCredentials") == 2
    )
    assert value(samples, "ixidir_binds_failed_total", worker="0") == 2
    assert value(samples, "ixidir_binds_failed_total", worker="1") == 0
    histogram = "ixidir_ldap_operation_seconds"
    search = {"worker": "0", "operation": "search"}
    assert value(samples, f"{histogram}_bucket", le="5e-05", **search) == 4
    assert value(samples, f"{histogram}_bucket", le="0.0001", **search) == 4  # cumulative
    assert value(samples, f"{histogram}_bucket", le="0.00025", **search) == 7
    assert value(samples, f"{histogram}_bucket", le="+Inf", **search) == 7
    assert value(samples, f"{histogram}_count", **search) == 7
    assert value(samples, f"{histogram}_sum", **search) == pytest.approx(0.0015)
    assert value(samples, "ixidir_routing_lookups_total", worker="0") == 7
    assert value(samples, "ixidir_connections", worker="1") == 1
    reservations = "ixidir_reservations_total"
    assert value(samples, reservations, worker="0", service="voice", outcome="refused") == 1
    assert value(samples, reservations, worker="0", service="voice", outcome="granted") == 0
    # The newest change: what worker 0's follower read (42) beats the committed sequence (41).
    assert value(samples, "ixidir_changelog_sequence") == 42
    assert value(samples, "ixidir_changelog_lag", worker="0") == 2
    assert value(samples, "ixidir_changelog_lag", worker="1") == 0
    assert not [s for s in samples if s.name == "ixidir_snapshot_age_seconds"]  # none yet
    assert not [s for s in samples if s.name == "ixidir_resident_memory_bytes"]  # no such pids


def test_each_live_worker_shows_its_resident_memory(tmp_path: Path) -> None:
    mine = published(tmp_path, os.getpid(), m.WorkerMetrics().values)
    collector = NodeCollector(lambda: [mine.path], committed=lambda: 0, snapshot=tmp_path / "no")
    rss = value(scrape(collector), "ixidir_resident_memory_bytes", worker="0")
    statm = Path(f"/proc/{os.getpid()}/statm").read_text().split()
    assert rss > 0
    assert rss >= int(statm[1]) * os.sysconf("SC_PAGE_SIZE") / 2  # this process, roughly


def test_a_gone_worker_drops_out_and_the_snapshot_age_shows(
    tmp_path: Path, workers: list[Path]
) -> None:
    snapshot = tmp_path / "directory.snapshot"
    snapshot.write_bytes(b"")
    written = snapshot.stat().st_mtime
    collector = NodeCollector(
        lambda: [*workers, tmp_path / "gone.bin"],
        committed=lambda: 0,
        snapshot=snapshot,
        clock=lambda: written + 90,
    )
    samples = scrape(collector)
    assert value(samples, "ixidir_workers") == 2
    assert value(samples, "ixidir_snapshot_age_seconds") == pytest.approx(90)
