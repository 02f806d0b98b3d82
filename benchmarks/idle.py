"""Issue 11's idle targets: slapd and ixidir up together, each scenario run on both in turn.

On a shared 2-core machine the load of the minute moves every figure; running slapd and ixidir
back to back per scenario, several rounds, and taking the median ratio keeps that noise out of
the comparison. Scenarios as routing.py: (a) 1x1, (b) 8x16, and the same with every request a
new spelling (`unique`: no request repeats). Also printed: the server CPU per answer (the
first worker's, so exact with one worker), in microseconds.

    python benchmarks/idle.py --users 100000 --seconds 5 --rounds 3 --keep
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ixidir_server import ixidir_revision, running_ixidir
from loadgen import LoadResult, Query, fair_queries, run_load
from processes import exit_on_sigterm
from slapd import SLAPD, running_slapd

SCENARIOS = {
    "(a) 1x1": (1, 1, False),
    "(b) 8x16": (8, 16, False),
    "(a') 1x1 unique": (1, 1, True),
    "(b') 8x16 unique": (8, 16, True),
}
WARMUP_SECONDS = 1.0


def load(port: int, pid: int, queries: list[Query], name: str, seconds: float) -> LoadResult:
    connections, depth, unique = SCENARIOS[name]
    workers = 2 if connections > 1 else 1
    run_load(port, queries, connections=connections, depth=depth, workers=workers,
             seconds=WARMUP_SECONDS, unique=unique)  # fmt: skip
    return run_load(port, queries, connections=connections, depth=depth, workers=workers,
                    seconds=seconds, server_pid=pid, unique=unique)  # fmt: skip


def cpu_us(result: LoadResult) -> float:
    answers = result.ops_per_second * result.seconds
    return (result.server_cpu_seconds or 0.0) / answers * 1e6 if answers else float("nan")


def report(name: str, pairs: list[tuple[LoadResult, LoadResult]]) -> None:
    def median(pick: Callable[[LoadResult], float], side: int) -> float:
        return statistics.median(pick(pair[side]) for pair in pairs)

    ratio = statistics.median(b.ops_per_second / a.ops_per_second for a, b in pairs)
    p99 = statistics.median(b.p99_ms / a.p99_ms for a, b in pairs)
    ok = all(a.is_all_ok and b.is_all_ok for a, b in pairs)
    print(
        f"{name:18} ops/s slapd {median(lambda r: r.ops_per_second, 0):9,.0f}"
        f"  ixidir {median(lambda r: r.ops_per_second, 1):9,.0f}  ratio {ratio:5.2f}x"
        f" | p99 ms {median(lambda r: r.p99_ms, 0):6.3f} / {median(lambda r: r.p99_ms, 1):6.3f}"
        f"  ratio {p99:5.2f}x | CPU/answer us {median(cpu_us, 0):5.1f} / {median(cpu_us, 1):5.1f}"
        f" | all answers right: {ok}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument("--keep", action="store_true", help="reuse DATA/ixidir-N")
    parser.add_argument("--ixidir-command", help="how to run ixidir (default: `-m ixidir`)")
    args = parser.parse_args()
    exit_on_sigterm()
    built = args.ixidir_command or f"ixidir {ixidir_revision()}"
    print(f"{built}, workers {args.server_workers}; slapd {SLAPD}; {time.strftime('%H:%M')}")
    queries = fair_queries(args.users)
    keep = args.data / f"ixidir-{args.users}" if args.keep else None
    command = shlex.split(args.ixidir_command) if args.ixidir_command else None
    serve_args = ["--workers", str(args.server_workers)]
    with (
        running_slapd(args.users, data_dir=args.data) as slapd,
        running_ixidir(
            args.users, data_dir=args.data, keep=keep, command=command, serve_args=serve_args
        ) as ixidir,
    ):
        for name in args.scenarios:
            pairs = []
            for _ in range(args.rounds):
                first = load(slapd.port, slapd.pid, queries, name, args.seconds)
                second = load(ixidir.port, ixidir.pid, queries, name, args.seconds)
                pairs.append((first, second))
            report(name, pairs)


if __name__ == "__main__":
    main()
