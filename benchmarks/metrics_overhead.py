"""The metrics' cost on the request path (issue 14): in-process µs of CPU per routing search.

Loads a datagen directory (embedded Firebird, `ixidir init` + `import`), then feeds the
connector's routing search through the real protocol (LDAPServerFactory on a StringTransport,
no sockets) in rounds that alternate between the server's counters (server/metrics.py) and
a stand-in whose methods do nothing: the difference is what counting and timing each request
costs. Two loads: unique numbers (the routing lane, the answer cache misses) and one number
repeated (answer cache hits, the cheapest path). Prints the best round of each (the machine is
shared; the best is the least disturbed). To compare with a tree that has no metrics at all, run
the same script with PYTHONPATH set to that tree (the stand-in is then skipped).

    python benchmarks/metrics_overhead.py [--users 3000] [--searches 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import tempfile
import time
from pathlib import Path
from typing import Any

from dataset import ADMIN_DN, ADMIN_PASSWORD
from ixidir_server import prepare
from loadgen import _message, bind_message, fair_queries, search_operation
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from ixidir.admin.runtime import opened
from ixidir.server.protocol import LDAPServerFactory

try:
    from ixidir.server.metrics import WorkerMetrics
except ImportError:  # a tree from before the metrics
    WorkerMetrics = None  # type: ignore[assignment,misc]


def _quiet_metrics() -> Any:
    """Counters whose methods do nothing: the protocol's calls remain, their work goes."""
    if WorkerMetrics is None:
        raise SystemExit("this tree has no metrics to quieten")

    class Quiet(WorkerMetrics):  # type: ignore[misc,valid-type]
        def operation(self, operation: int, code: int, started_ns: int) -> None:
            pass

        def recorder(self, operation: int) -> Any:
            return lambda code, started_ns: None

        def connection_opened(self) -> None:
            pass

    return Quiet()


def cpu_us_per_search(factory: LDAPServerFactory, requests: list[bytes]) -> float:
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(bind_message(ADMIN_DN, ADMIN_PASSWORD))  # as the connector does
    transport.clear()
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        for number, request in enumerate(requests):
            protocol.dataReceived(request)
            if number % 256 == 0:
                transport.clear()
        elapsed = time.process_time() - started
    finally:
        gc.enable()
    if b"mail" not in transport.value():
        raise SystemExit("the searches were not answered with entries")
    protocol.connectionLost()
    return elapsed / len(requests) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--searches", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ixidir-bench-metrics-"))
    prepare(args.users, work / "data", work)
    queries = fair_queries(args.users)
    operations = [search_operation(q.number) for q in queries]
    unique = [_message(2 + i, operations[i % len(operations)]) for i in range(args.searches)]
    repeated = [_message(2 + i, operations[0]) for i in range(args.searches)]
    with opened(work / "data") as data:
        has_metrics = "metrics" in inspect.signature(LDAPServerFactory).parameters
        kinds = ["counted", "stand-in"] if has_metrics else ["no metrics in this tree"]
        best: dict[tuple[str, str], float] = {}
        for _ in range(args.rounds):
            for kind in kinds:
                extra = {"metrics": _quiet_metrics()} if kind == "stand-in" else {}
                for load, requests in (("unique", unique), ("repeated", repeated)):
                    factory = LDAPServerFactory(
                        data.directory, reactor=Clock(), log_searches=False, **extra
                    )
                    figure = cpu_us_per_search(factory, requests)
                    key = (kind, load)
                    best[key] = min(best.get(key, figure), figure)
    print(f"{args.users} users, {args.searches} searches a round, best of {args.rounds} rounds")
    print(f"{'metrics':<24} {'unique us':>10} {'repeated us':>12}")
    for kind in kinds:
        print(f"{kind:<24} {best[kind, 'unique']:10.2f} {best[kind, 'repeated']:12.2f}")
    if has_metrics:
        for load in ("unique", "repeated"):
            cost = best["counted", load] - best["stand-in", load]
            share = cost / best["stand-in", load] * 100
            print(f"counting costs {cost:.2f} us a search ({share:.1f} %) on the {load} load")


if __name__ == "__main__":
    main()
