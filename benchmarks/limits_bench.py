"""Daily-limit reservations per second, in process, on a fresh embedded Firebird database.

Bounded: every scenario makes `--count` calls (default 2000). Forced writes are on, as in
production, so each reservation is a durable commit.

    python benchmarks/limits_bench.py [--count 2000] [--processes 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from ixidir.limits.policy import Service
from ixidir.storage import open_entry_store, runtime_root_for
from ixidir.storage.counters import FirebirdCounterStore, open_counter_store

DAY = date(2025, 3, 30)


def timed(name: str, count: int, call: Callable[[int], object]) -> None:
    start = time.perf_counter()
    for number in range(count):
        call(number)
    elapsed = time.perf_counter() - start
    print(f"{name:<44} {count / elapsed:>9,.0f}/s  {elapsed / count * 1e6:>8,.0f} µs/call")


def scenarios(store: FirebirdCounterStore, count: int) -> None:
    hot = str(uuid.uuid4())
    users = [str(uuid.uuid4()) for _ in range(count)]
    refused = str(uuid.uuid4())
    store.reserve(refused, Service.FAX, day=DAY, count=5, limit=5)
    fax = Service.FAX
    timed(
        "reserve, one user (UPDATE branch)",
        count,
        lambda _: store.reserve(hot, fax, day=DAY, count=1, limit=None),
    )
    timed(
        "reserve, new user each time (INSERT branch)",
        count,
        lambda n: store.reserve(users[n], fax, day=DAY, count=1, limit=10),
    )
    timed(
        "reserve refused (limit reached) + read used",
        count,
        lambda _: store.reserve(refused, fax, day=DAY, count=1, limit=5),
    )
    timed("release", count, lambda _: store.release(hot, fax, day=DAY, count=1))
    timed("used (read only)", count, lambda _: store.used(hot, fax, day=DAY))


def parallel(data: Path, count: int, processes: int) -> None:
    """`processes` worker processes reserving on one user's row at once."""
    user = str(uuid.uuid4())
    argv = [sys.executable, __file__, "--worker", str(data), user, str(count)]
    start = time.perf_counter()
    workers = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    granted = sum(int(worker.communicate()[0]) for worker in workers)
    elapsed = time.perf_counter() - start  # includes attaching each worker to the database
    total = count * processes
    name = f"reserve, {processes} processes on one row"
    print(f"{name:<44} {total / elapsed:>9,.0f}/s  (granted {granted} of {total}, limit {total})")


def worker(data: Path, user: str, count: int) -> None:
    with open_counter_store(data, None) as store:
        granted = sum(
            store.reserve(user, Service.SMS, day=DAY, count=1, limit=10**9).granted
            for _ in range(count)
        )
    print(granted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1], int(args.worker[2]))
        return
    with tempfile.TemporaryDirectory(prefix="ixidir-limits-bench-") as folder:
        data = Path(folder) / "data"
        open_entry_store(data, None, create=True, runtime_root=runtime_root_for(data)).close()
        with open_counter_store(data, None) as store:
            print(f"embedded Firebird, forced writes on, {args.count} calls per scenario")
            scenarios(store, args.count)
        parallel(data, args.count // args.processes, args.processes)


if __name__ == "__main__":
    main()
