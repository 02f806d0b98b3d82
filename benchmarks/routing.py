"""Routing searches against slapd and ixidir on the same users: ops/s, p50/p99, and ratios.

Issue 3 item 7 and issue 11 item 5: both servers hold the same datagen users (default 100,000)
and run side by side; each scenario runs on slapd, then on ixidir (alternating, `--rounds` times,
figures the median), each after a short unmeasured warm-up, every answer checked:
(a) 1 connection x 1 request in flight, (b) 8 connections x 16 in flight; (a') and (b') the
same with every request a new spelling of its number (spaces inserted, which both servers ignore),
so no cache of encoded answers can serve a repeat (nor an earlier run's: each unique run goes on
where the last one stopped). The pool of numbers is shuffled once; (a)/(b) cycle through it, so
at small N most requests repeat an earlier one. Also printed: start-up time, RSS, the client's
CPU time and the server's CPU per answer (all its processes, workers included; the median over
1-second intervals), and how many numbers stored with parentheses each server routes at all
(slapd's telephoneNumberMatch keeps parentheses significant, so the kernel's +digits never
match them there).

Targets (issue 11): (b) >= 1.3x slapd's ops/s, (b') >= 1.0x, p99 of (a) and (a') <= 1.0x
slapd's, and an uncached search ((a'), (b')) <= 20 us of ixidir's CPU.

    python benchmarks/routing.py --users 100000 --seconds 10 --keep
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable

from loadgen import LoadResult, Query, fair_queries, next_first, parenthesized_queries, run_load
from processes import tree_rss_mib
from report import Pair, Row, Target, median, print_table
from servers import SERVERS, Server, add_arguments, per_server, running_pair

# (name, connections, in flight each, every request a new spelling so no answer cache helps)
SCENARIOS = (
    ("(a) 1 conn x 1", 1, 1, False),
    ("(b) 8 conn x 16", 8, 16, False),
    ("(a') 1x1 unique", 1, 1, True),
    ("(b') 8x16 unique", 8, 16, True),
)
WARMUP_SECONDS = 2.0
UNCACHED_US_TARGET = 20.0  # ixidir's CPU per uncached search, median per second
TARGETS = {  # (figure, target) per scenario
    "(a) 1 conn x 1": ("p99", Target.ratio(1.0, at_most=True)),
    "(b) 8 conn x 16": ("ops", Target.ratio(1.3, at_most=False)),
    "(a') 1x1 unique": ("p99", Target.ratio(1.0, at_most=True)),
    "(b') 8x16 unique": ("ops", Target.ratio(1.0, at_most=False)),
}


def measure(
    servers: tuple[Server, Server], queries: list[Query], args: argparse.Namespace
) -> dict[tuple[str, str], list[LoadResult]]:
    """Every scenario on slapd then ixidir, `args.rounds` times."""
    loads: dict[tuple[str, str], list[LoadResult]] = defaultdict(list)
    first = dict.fromkeys(SERVERS, 0)
    for round_ in range(args.rounds):
        print(f"round {round_ + 1} of {args.rounds}", flush=True)
        for name, connections, depth, unique in SCENARIOS:
            for server in servers:
                workers = args.workers if connections > 1 else 1
                run_load(
                    server.port, queries, connections=connections, depth=depth, workers=workers,
                    seconds=WARMUP_SECONDS,
                )  # fmt: skip
                result = run_load(
                    server.port, queries, connections=connections, depth=depth, workers=workers,
                    seconds=args.seconds, server_pid=server.pid, unique=unique,
                    first=first[server.name],
                )  # fmt: skip
                if unique:
                    first[server.name] = next_first(first[server.name], result, len(queries))
                loads[name, server.name].append(result)
                print(f"  {server.name:6} {name}: {result.describe()}", flush=True)
    return loads


def report(
    args: argparse.Namespace,
    loads: dict[tuple[str, str], list[LoadResult]],
    servers: dict[str, tuple[float, float, float]],
    routed: dict[str, LoadResult],
    paren_total: int,
) -> None:
    def figure(name: str, of: Callable[[LoadResult], float | None]) -> Pair:
        return per_server(lambda s: median([of(r) for r in loads[name, s]]))

    rows = [
        Row("start-up s", *per_server(lambda s: servers[s][0])),
        Row("RSS after start MiB (all processes)", *per_server(lambda s: servers[s][1])),
        Row("RSS after the load MiB (all processes)", *per_server(lambda s: servers[s][2])),
    ]
    for name, _, _, unique in SCENARIOS:
        checked, target = TARGETS[name]
        uncached = Target.own(UNCACHED_US_TARGET, at_most=True) if unique else None
        slapd_ops, ixidir_ops = figure(name, lambda r: r.ops_per_second)
        slapd_p99, ixidir_p99 = figure(name, lambda r: r.p99_ms)
        slapd_p50, ixidir_p50 = figure(name, lambda r: r.p50_ms)
        slapd_us, ixidir_us = figure(name, lambda r: r.server_us_per_answer)
        slapd_cpu, ixidir_cpu = figure(name, lambda r: r.client_cpu_seconds)
        rows += [
            Row(f"{name} ops/s", slapd_ops, ixidir_ops, target if checked == "ops" else None),
            Row(f"{name} p50 ms", slapd_p50, ixidir_p50),
            Row(f"{name} p99 ms", slapd_p99, ixidir_p99, target if checked == "p99" else None),
            Row(f"{name} server CPU us/answer", slapd_us, ixidir_us, uncached),
            Row(f"{name} client CPU s", slapd_cpu, ixidir_cpu),
        ]
    print_table(
        f"routing search, {args.users:,} users ({time.strftime('%Y-%m-%d %H:%M')}), median of "
        f"{args.rounds} round(s) of {args.seconds:g} s per scenario and server",
        rows,
    )
    print(
        f"parenthesized numbers routed (of {paren_total}): "
        f"slapd {routed['slapd'].ok}, ixidir {routed['ixidir'].ok}"
    )
    valid = all(r.is_all_ok for results in loads.values() for r in results)
    print("every measured answer held exactly the expected entry and mail:", valid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, users=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per scenario")
    parser.add_argument("--rounds", type=int, default=1, help="alternations of all scenarios")
    parser.add_argument("--workers", type=int, default=2, help="load processes for (b)")
    args = parser.parse_args()
    queries, paren = fair_queries(args.users), parenthesized_queries(args.users)
    print(f"{len(queries)} fair query numbers, {len(paren)} stored with parentheses", flush=True)
    with running_pair(args, passwords=False) as servers:
        started = {s.name: (s.startup_seconds, tree_rss_mib(s.pid)) for s in servers}
        loads = measure(servers, queries, args)
        figures = {s.name: (*started[s.name], tree_rss_mib(s.pid)) for s in servers}
        routed = {
            s.name: run_load(s.port, paren, connections=1, depth=16, requests=len(paren))
            for s in servers
        }
        for name, result in routed.items():
            print(f"  {name:6} parenthesized: {result.describe()}", flush=True)
    report(args, loads, figures, routed, len(paren))


if __name__ == "__main__":
    main()
