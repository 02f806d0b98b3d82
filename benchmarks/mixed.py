"""Routing look-ups under a mixed load, slapd and ixidir on the same users (issue 11 item 5).

Both servers hold the same datagen users with `{SSHA}` passwords (default 20,000) and run side by
side. Routing look-ups go over 1 connection x 1 in flight, each answer checked, in phases that
alternate between the servers:

- quiet: routing alone;
- mix: routing while one client binds RATE times a second as random users (a new connection
  each) and another modifies RATE users a second as the administrator (background.py, each
  client its own process);
- mix + reservations (ixidir only, reported apart): the mix plus RATE daily-limit reservations a
  second.

Targets: under the mix, ixidir's routing p99 and p99.9 at most 1.5x slapd's. Figures are the
median over `--rounds`. By default every routing request is a new spelling of its number, so no
answer cache serves it (`--repeats` cycles through the +digits forms instead).

    python benchmarks/mixed.py --users 20000 --seconds 10 --rounds 2 --keep
"""

from __future__ import annotations

import argparse

from background import Client, Phase
from report import Row, Target
from servers import (
    add_arguments,
    add_phase_arguments,
    alternate,
    client_figures,
    print_phases,
    routing_rows,
)

MIX_TARGET = 1.5  # routing p99 and p99.9 under the mix, ixidir / slapd
APART = "mix + reservations"


def phases(rate: float) -> tuple[tuple[str, tuple[Client, ...], bool], ...]:
    """(name, background clients, ixidir only) in the order each round runs them."""
    mix = (Client("binds", rate), Client("modifies", rate))
    return (
        ("quiet", (), False),
        ("mix", mix, False),
        (APART, (*mix, Client("reservations", rate)), True),
    )


def report(args: argparse.Namespace, done: list[Phase]) -> int:
    target = Target.ratio(MIX_TARGET, at_most=True)
    rows = [*routing_rows(done, "quiet"), *routing_rows(done, "mix", target)]
    for kind in ("binds", "modifies"):
        rows += [
            Row(f"mix: {kind}/s done", *client_figures(done, "mix", kind, lambda c: c.rate)),
            Row(
                f"mix: {kind} p99 ms",
                *client_figures(done, "mix", kind, lambda c: c.percentile_ms(0.99)),
            ),
        ]
    rows += [
        *routing_rows(done, APART),
        Row(
            f"{APART}: reservations/s",
            *client_figures(done, APART, "reservations", lambda c: c.rate),
        ),
        Row(
            f"{APART}: reservation p99 ms",
            *client_figures(done, APART, "reservations", lambda c: c.percentile_ms(0.99)),
        ),
    ]
    return print_phases(
        args,
        f"under the mix of {args.rate:g}/s binds + modifies (+ reservations, ixidir only)",
        rows,
        done,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, users=20_000)
    add_phase_arguments(parser)
    parser.add_argument("--rate", type=float, default=20.0, help="binds, modifies, reservations /s")
    args = parser.parse_args()
    report(args, alternate(args, phases(args.rate)))


if __name__ == "__main__":
    main()
