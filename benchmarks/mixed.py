"""Routing look-ups under a mixed load, slapd and ixidir on the same users (issue 11 item 5).

Both servers hold the same datagen users with `{SSHA}` passwords (default 20,000) and run side by
side. Routing look-ups go over 1 connection x 1 in flight, each answer checked, in phases that
alternate between the servers:

- quiet: routing alone;
- mix: routing while one client binds RATE times a second as random users (a new connection
  each) and another modifies RATE users a second as the administrator (background.py, each
  client its own process);
- mix + reservations (ixidir only, reported apart): the mix plus RATE daily-limit reservations a
  second;
- with `--throttles-off`, mix without bind throttles (ixidir only): the same mix while
  `cn=ums-defaults` switches the account lockout and the address throttle off
  (throttles.py), so what issue 12's guard costs the routing is measured in the same run (its
  target: at most 10 % more);
- with `--split`, the binds alone and the modifies alone, on both servers: which of the two
  costs the routing tail.

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
from throttles import guard_rows, throttles_off_in

MIX_TARGET = 1.5  # routing p99 and p99.9 under the mix, ixidir / slapd
APART = "mix + reservations"
UNGUARDED = "mix without bind throttles"


def phases(
    rate: float, *, throttles_off: bool, split: bool
) -> tuple[tuple[str, tuple[Client, ...], bool], ...]:
    """(name, background clients, ixidir only) in the order each round runs them."""
    mix = (Client("binds", rate), Client("modifies", rate))
    unguarded = ((UNGUARDED, mix, True),) if throttles_off else ()
    alone = tuple((f"{c.kind} alone", (c,), False) for c in mix) if split else ()
    return (
        ("quiet", (), False),
        ("mix", mix, False),
        *unguarded,
        *alone,
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
    if args.throttles_off:
        rows += guard_rows(done, "mix", UNGUARDED)
    if args.split:
        for kind in ("binds", "modifies"):
            rows += routing_rows(done, f"{kind} alone")[2:]  # p99 and p99.9
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
    parser.add_argument(
        "--throttles-off",
        action="store_true",
        help="add the mix with ixidir's bind throttles off (issue 12's cost)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="add phases with the binds alone and the modifies alone (which one costs the tail)",
    )
    args = parser.parse_args()
    chosen = phases(args.rate, throttles_off=args.throttles_off, split=args.split)
    report(args, alternate(args, chosen, throttles_off_in(UNGUARDED)))


if __name__ == "__main__":
    main()
