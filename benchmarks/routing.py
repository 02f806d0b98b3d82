"""Routing searches against slapd and ixidir on the same users: ops/s, p50/p99, and ratios.

Issue 3 item 7: both servers hold the same datagen users (default 100,000); each scenario gets a
short unmeasured warm-up, then a fixed-duration measured run with every answer checked:
(a) 1 connection x 1 request in flight, (b) 8 connections x 16 in flight; (a') and (b') the
same with every request a new spelling of its number (spaces inserted, which both servers ignore),
so no cache of encoded answers can serve a repeat. The pool of numbers is shuffled once; (a)/(b)
cycle through it, so at small N most requests repeat an earlier one. Also printed: start-up
time, RSS, the client's and the server's CPU time (so a reader sees who was saturated), and how
many numbers stored with parentheses each server routes at all (slapd's telephoneNumberMatch
keeps parentheses significant, so the kernel's +digits never match them there).

    python benchmarks/routing.py --users 100000 --seconds 10
"""

from __future__ import annotations

import argparse
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from ixidir_server import ixidir_revision, running_ixidir
from loadgen import LoadResult, Query, fair_queries, parenthesized_queries, run_load
from processes import exit_on_sigterm, rss_mib
from slapd import SLAPD, running_slapd

# (name, connections, in flight each, every request a new spelling so no answer cache helps)
SCENARIOS = (
    ("(a) 1 conn x 1", 1, 1, False),
    ("(b) 8 conn x 16", 8, 16, False),
    ("(a') 1x1 unique", 1, 1, True),
    ("(b') 8x16 unique", 8, 16, True),
)
WARMUP_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ServerRun:
    """Everything measured on one server."""

    startup_seconds: float
    rss_start_mib: float
    rss_end_mib: float
    loads: dict[str, LoadResult]
    parenthesized: LoadResult


def measure(
    port: int, pid: int, queries: list[Query], paren: list[Query], args: argparse.Namespace
) -> tuple[dict[str, LoadResult], LoadResult]:
    loads = {}
    for name, connections, depth, unique in SCENARIOS:
        workers = args.workers if connections > 1 else 1
        run_load(
            port, queries, connections=connections, depth=depth, workers=workers,
            seconds=WARMUP_SECONDS,
        )  # fmt: skip
        loads[name] = run_load(
            port, queries, connections=connections, depth=depth, workers=workers,
            seconds=args.seconds, server_pid=pid, unique=unique,
        )  # fmt: skip
        print(f"  {name}: {loads[name].describe()}", flush=True)
    routed = run_load(port, paren, connections=1, depth=16, requests=len(paren))
    print(f"  parenthesized: {routed.describe()}", flush=True)
    return loads, routed


def run_slapd(args: argparse.Namespace, queries: list[Query], paren: list[Query]) -> ServerRun:
    with running_slapd(args.users, data_dir=args.data) as slapd:
        print(f"slapd: {slapd.figures}", flush=True)
        loads, routed = measure(slapd.port, slapd.pid, queries, paren, args)
        return ServerRun(
            slapd.figures.startup_seconds, slapd.figures.rss_mib, rss_mib(slapd.pid), loads, routed
        )


def run_ixidir(args: argparse.Namespace, queries: list[Query], paren: list[Query]) -> ServerRun:
    keep = args.data / f"ixidir-{args.users}" if args.keep else None
    command = shlex.split(args.ixidir_command) if args.ixidir_command else None
    serve_args = ["--workers", str(args.server_workers)]
    with running_ixidir(
        args.users, data_dir=args.data, keep=keep, command=command, serve_args=serve_args
    ) as ixidir:
        print(f"ixidir: {ixidir.figures}", flush=True)
        loads, routed = measure(ixidir.port, ixidir.pid, queries, paren, args)
        return ServerRun(
            ixidir.figures.startup_seconds, ixidir.figures.rss_mib, rss_mib(ixidir.pid), loads,
            routed,
        )  # fmt: skip


def report(users: int, slapd: ServerRun, ixidir: ServerRun, paren_total: int) -> None:
    rows: list[tuple[str, float | None, float | None, bool]] = [
        ("start-up (s)", slapd.startup_seconds, ixidir.startup_seconds, False)
    ]
    rows.append(("RSS after start (MiB)", slapd.rss_start_mib, ixidir.rss_start_mib, False))
    rows.append(("RSS after load (MiB)", slapd.rss_end_mib, ixidir.rss_end_mib, False))
    for name, *_ in SCENARIOS:
        a, b = slapd.loads[name], ixidir.loads[name]
        rows.append((f"{name} ops/s", a.ops_per_second, b.ops_per_second, True))
        rows.append((f"{name} p50 ms", a.p50_ms, b.p50_ms, False))
        rows.append((f"{name} p99 ms", a.p99_ms, b.p99_ms, False))
        rows.append((f"{name} client CPU s", a.client_cpu_seconds, b.client_cpu_seconds, False))
        rows.append((f"{name} server CPU s", a.server_cpu_seconds, b.server_cpu_seconds, False))
    print(f"\nrouting search, {users:,} users ({time.strftime('%Y-%m-%d %H:%M')})")
    print(f"{'':32} {'slapd':>12} {'ixidir':>12} {'ixidir/slapd':>13}")
    for label, left, right, higher_better in rows:
        ratio = right / left if left and right is not None else float("nan")
        hint = "(higher is better)" if higher_better else ""
        print(f"{label:32} {left or 0:12.3f} {right or 0:12.3f} {ratio:12.2f}x {hint}")
    print(
        f"parenthesized numbers routed (of {paren_total}): "
        f"slapd {slapd.parenthesized.ok}, ixidir {ixidir.parenthesized.ok}"
    )
    valid = all(r.is_all_ok for s in (slapd, ixidir) for r in s.loads.values())
    print("every measured answer held exactly the expected entry and mail:", valid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per scenario")
    parser.add_argument("--workers", type=int, default=2, help="load processes for (b)")
    parser.add_argument(
        "--server-workers", type=int, default=2, help="ixidir serve --workers (SO_REUSEPORT)"
    )
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument(
        "--keep", action="store_true", help="keep/reuse DATA/ixidir-N (pay the import once)"
    )
    parser.add_argument(
        "--ixidir-command", help="how to run ixidir (default: this Python's `-m ixidir`)"
    )
    args = parser.parse_args()
    exit_on_sigterm()
    print(f"ixidir {ixidir_revision()}, slapd {SLAPD}", flush=True)
    args.data.mkdir(parents=True, exist_ok=True)
    queries, paren = fair_queries(args.users), parenthesized_queries(args.users)
    print(f"{len(queries)} fair query numbers, {len(paren)} stored with parentheses", flush=True)
    slapd = run_slapd(args, queries, paren)
    ixidir = run_ixidir(args, queries, paren)
    report(args.users, slapd, ixidir, len(paren))


if __name__ == "__main__":
    main()
