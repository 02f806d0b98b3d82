"""slapd and ixidir side by side on the same users, both up for the whole run.

The comparison scripts alternate their phases between the two servers (slapd, ixidir, slapd, ...)
so a busy machine slows both alike and the ratios stay meaningful. ixidir is the one this
checkout's venv runs (`python -m ixidir`) unless `--ixidir-command` names another build; it
serves with the configuration `ixidir init` wrote, unless `--server-workers` overrides it.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from background import Client, ClientResult, Phase, checks, routing_under
from dataset import SSHA_TAG
from ixidir_server import ixidir_revision, running_ixidir
from loadgen import LoadResult, fair_queries, next_first, run_load
from processes import exit_on_sigterm
from report import Pair, Row, Target, median, print_table
from slapd import SLAPD, running_slapd

SERVERS = ("slapd", "ixidir")
WARMUP_SECONDS = 2.0  # routing on each server before the first measured phase


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    port: int
    pid: int
    startup_seconds: float


def add_arguments(parser: argparse.ArgumentParser, *, users: int) -> None:
    """The options every comparison script shares (data, reuse, which ixidir)."""
    parser.add_argument("--users", type=int, default=users)
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument(
        "--keep", action="store_true", help="keep/reuse DATA/ixidir-N[-ssha] (pay the import once)"
    )
    parser.add_argument(
        "--ixidir-command", help="how to run ixidir (default: this Python's `-m ixidir`)"
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        help="ixidir serve --workers (default: what `ixidir init` wrote into ixidir.toml)",
    )


@contextmanager
def running_pair(args: argparse.Namespace, *, passwords: bool) -> Iterator[tuple[Server, Server]]:
    """slapd and ixidir loaded with the same LDIF (with {SSHA} passwords if `passwords`);
    both stopped on exit, Ctrl-C or SIGTERM."""
    exit_on_sigterm()
    args.data.mkdir(parents=True, exist_ok=True)
    measured = args.ixidir_command or f"{ixidir_revision()} (this checkout)"
    print(f"ixidir {measured}, slapd {SLAPD}", flush=True)
    tag = SSHA_TAG if passwords else ""
    keep = args.data / f"ixidir-{args.users}{tag}" if args.keep else None
    command = shlex.split(args.ixidir_command) if args.ixidir_command else None
    workers = [] if args.server_workers is None else ["--workers", str(args.server_workers)]
    with running_slapd(args.users, data_dir=args.data, passwords=passwords) as slapd:
        print(f"slapd: {slapd.figures}", flush=True)
        with running_ixidir(
            args.users, data_dir=args.data, keep=keep, command=command, serve_args=workers,
            passwords=passwords,
        ) as ixidir:  # fmt: skip
            print(f"ixidir: {ixidir.figures}", flush=True)
            yield (
                Server("slapd", slapd.port, slapd.pid, slapd.figures.startup_seconds),
                Server("ixidir", ixidir.port, ixidir.pid, ixidir.figures.startup_seconds),
            )


def add_phase_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the scripts that measure routing in alternating phases."""
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of all the phases")
    parser.add_argument("--repeats", action="store_true", help="let routing requests repeat")


def alternate(
    args: argparse.Namespace,
    phases: Sequence[tuple[str, Sequence[Client], bool]],
    around: Callable[[str, int], AbstractContextManager[object]] | None = None,
    *,
    around_both: Callable[[str], AbstractContextManager[object]] | None = None,
) -> list[Phase]:
    """Run the (name, background clients, ixidir only) PHASES on slapd, then ixidir, per
    round; routing on 1 connection x 1 in flight, each server seeing the same requests.
    `around(phase name, ixidir's port)`, when given, wraps each ixidir phase (settings
    changed for that phase only); `around_both(phase name)` wraps each phase of either."""
    queries = fair_queries(args.users)
    done: list[Phase] = []
    with running_pair(args, passwords=True) as servers:
        first = dict.fromkeys(SERVERS, 0)
        for server in servers:
            run_load(server.port, queries, connections=1, depth=1, seconds=WARMUP_SECONDS)
        for round_ in range(args.rounds):
            print(f"round {round_ + 1} of {args.rounds}", flush=True)
            for name, clients, ixidir_only in phases:
                for server in servers:
                    if ixidir_only and server.name != "ixidir":
                        continue
                    wrap = around if around is not None and server.name == "ixidir" else None
                    with (
                        nullcontext() if around_both is None else around_both(name),
                        nullcontext() if wrap is None else wrap(name, server.port),
                    ):
                        phase = routing_under(
                            server.name, name, server.port, args.users, queries, clients,
                            seconds=args.seconds, unique=not args.repeats,
                            first=first[server.name],
                        )  # fmt: skip
                    first[server.name] = next_first(first[server.name], phase.routing, len(queries))
                    done.append(phase)
    return done


def per_server(of: Callable[[str], float | None]) -> Pair:
    """(slapd's, ixidir's) figure, as a report.Row takes them."""
    return of("slapd"), of("ixidir")


def routing_figures(done: Sequence[Phase], name: str, of: Callable[[LoadResult], float]) -> Pair:
    """(slapd, ixidir): the median over the rounds of OF of the routing in phase NAME."""
    return per_server(
        lambda s: median([of(p.routing) for p in done if p.name == name and p.server == s])
    )


def client_figures(
    done: Sequence[Phase], name: str, kind: str, of: Callable[[ClientResult], float]
) -> Pair:
    """(slapd, ixidir): the median over the rounds of OF of the KIND client in phase NAME."""
    return per_server(
        lambda s: median(
            [of(c) for p in done if p.name == name and p.server == s if (c := p.client(kind))]
        )
    )


def routing_rows(done: Sequence[Phase], name: str, tail: Target | None = None) -> list[Row]:
    """Phase NAME's routing ops/s, p50, p99 and p99.9 (the last two held to TAIL, if given)."""
    return [
        Row(f"{name}: routing ops/s", *routing_figures(done, name, lambda r: r.ops_per_second)),
        Row(f"{name}: routing p50 ms", *routing_figures(done, name, lambda r: r.p50_ms)),
        Row(f"{name}: routing p99 ms", *routing_figures(done, name, lambda r: r.p99_ms), tail),
        Row(f"{name}: routing p99.9 ms", *routing_figures(done, name, lambda r: r.p999_ms), tail),
    ]


def print_phases(
    args: argparse.Namespace, what: str, rows: Sequence[Row], done: Sequence[Phase]
) -> int:
    """The table for routing 1x1 WHAT, and whether every answer was right; targets missed."""
    spelling = "repeats" if args.repeats else "every request a new spelling"
    missed = print_table(
        f"routing 1x1 {what}, {args.users:,} users; median of {args.rounds} round(s) of "
        f"{args.seconds:g} s; {spelling}",
        rows,
    )
    print(checks(done))
    return missed
