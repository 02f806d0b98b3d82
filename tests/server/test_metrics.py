"""The worker's counters (server/metrics.py) and what the protocol counts into them."""

from __future__ import annotations

from time import perf_counter_ns

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN_DN,
    ALICE,
    BASE,
    PASSWORDS,
    default_settings,
    make_directory,
    populate,
)

from ixidir.directory.directory import Directory
from ixidir.errors import ResultCode
from ixidir.server import metrics as m
from ixidir.server.admission import ConnectionLimits
from ixidir.server.codec import result_operation
from ixidir.server.messages import Result, ResultKind

from . import wire
from .test_protocol import Connection


def count(values: list[int], operation: int, code: int) -> int:
    return values[m.OPERATION_COUNTS + operation * m.CODES + code]


def latency(values: list[int], operation: int) -> list[int]:
    start = m.OPERATION_LATENCY + operation * m.HISTOGRAM
    return values[start : start + m.HISTOGRAM]


@pytest.fixture
def directory() -> Directory:
    real = make_directory(MemoryEntryStore(), default_settings())
    populate(real)
    return real


def test_an_operation_lands_in_its_result_row_and_its_latency_bucket() -> None:
    metrics = m.WorkerMetrics()
    started = perf_counter_ns() - 3_000_000  # 3 ms ago: never below the 5 ms bucket
    metrics.operation(m.SEARCH, ResultCode.NO_SUCH_OBJECT, started)
    assert count(metrics.values, m.SEARCH, ResultCode.NO_SUCH_OBJECT) == 1
    buckets = latency(metrics.values, m.SEARCH)
    assert buckets.index(1) >= m.LATENCY_BUCKETS_NS.index(5_000_000)
    assert buckets[-1] >= 3_000_000  # the sum, in ns
    assert sum(metrics.values) - buckets[-1] == 2  # nothing else moved


def test_a_commit_is_timed_even_when_it_fails() -> None:
    metrics = m.WorkerMetrics()

    def failing(jobs: list[object]) -> list[object]:
        raise RuntimeError("lost the connection")

    timed = metrics.timed_commit(1, failing)
    with pytest.raises(RuntimeError):
        timed([1])
    assert metrics.timed_commit(0, lambda jobs: jobs)([1, 2]) == [1, 2]
    for store in (0, 1):
        start = m.COMMIT_LATENCY + store * m.HISTOGRAM
        assert sum(metrics.values[start : start + m.HISTOGRAM - 1]) == 1


def test_done_code_reads_a_result_operation() -> None:
    busy = result_operation(Result(ResultKind.SEARCH_DONE, ResultCode.BUSY, message="x" * 300))
    assert m.done_code(busy) == ResultCode.BUSY  # long form length
    assert m.done_code(b"\x65\x00") == m.CODES - 1  # not a result: counted as "other"


def test_the_protocol_counts_each_request_by_operation_and_result(directory: Directory) -> None:
    connection = Connection(directory)
    values = connection.factory.metrics.values
    assert values[m.CONNECTIONS_TOTAL] == values[m.CONNECTIONS_OPEN] == 1
    connection.send(wire.bind(1, ALICE, "wrong"))
    connection.send(wire.bind(2, ADMIN_DN, PASSWORDS[ADMIN_DN].decode()))
    routing = wire.search(
        3, BASE, "(facsimileTelephoneNumber=+49 8142 4799-123)", attributes=["mail"]
    )
    connection.send(routing)
    connection.send(routing)  # the same bytes again: from the answer cache
    connection.send(wire.search(4, f"ou=nowhere,{BASE}"))
    connection.send(wire.search(5, "", scope=0))  # the root DSE, never cached
    assert count(values, m.BIND, ResultCode.INVALID_CREDENTIALS) == 1
    assert count(values, m.BIND, ResultCode.SUCCESS) == 1
    assert count(values, m.SEARCH, ResultCode.SUCCESS) == 3
    assert count(values, m.SEARCH, ResultCode.NO_SUCH_OBJECT) == 1
    assert sum(latency(values, m.SEARCH)[:-1]) == 4
    connection.protocol.connectionLost()
    assert (values[m.CONNECTIONS_TOTAL], values[m.CONNECTIONS_OPEN]) == (1, 0)


def test_a_connection_refused_by_the_limits_is_counted_as_such(directory: Directory) -> None:
    first = Connection(directory, limits=ConnectionLimits(max_connections=1))
    second = first.factory.buildProtocol(None)
    second.makeConnection(type(first.transport)())  # type: ignore[no-untyped-call]
    second.connectionLost()
    values = first.factory.metrics.values
    assert (values[m.CONNECTIONS_TOTAL], values[m.CONNECTIONS_REFUSED]) == (1, 1)
    assert values[m.CONNECTIONS_OPEN] == 1
