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
  (ixiBindMaxFailures, ixiBindAddressFailures 0), so what issue 12's guard costs the routing
  is measured in the same run (its target: at most 10 % more).

Targets: under the mix, ixidir's routing p99 and p99.9 at most 1.5x slapd's. Figures are the
median over `--rounds`. By default every routing request is a new spelling of its number, so no
answer cache serves it (`--repeats` cycles through the +digits forms instead).

    python benchmarks/mixed.py --users 20000 --seconds 10 --rounds 2 --keep
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

import ldap3
from background import Client, Phase
from dataset import ADMIN_DN, ADMIN_PASSWORD, SUFFIX
from report import Row, Target
from servers import (
    add_arguments,
    add_phase_arguments,
    alternate,
    client_figures,
    print_phases,
    routing_figures,
    routing_rows,
)

MIX_TARGET = 1.5  # routing p99 and p99.9 under the mix, ixidir / slapd
GUARD_TARGET = 1.10  # routing p99 under the mix, bind throttles on / off (issue 12)
APART = "mix + reservations"
DEFAULTS = f"cn=ums-defaults,{SUFFIX}"
UNGUARDED = "mix without bind throttles"
THROTTLES_OFF = {"ixiBindMaxFailures": "0", "ixiBindAddressFailures": "0"}


def phases(rate: float, *, throttles_off: bool) -> tuple[tuple[str, tuple[Client, ...], bool], ...]:
    """(name, background clients, ixidir only) in the order each round runs them."""
    mix = (Client("binds", rate), Client("modifies", rate))
    unguarded = ((UNGUARDED, mix, True),) if throttles_off else ()
    return (
        ("quiet", (), False),
        ("mix", mix, False),
        *unguarded,
        (APART, (*mix, Client("reservations", rate)), True),
    )


@contextmanager
def settings_for(name: str, port: int) -> Iterator[None]:
    """For the UNGUARDED phase, ixidir's bind throttles off (restored afterwards)."""
    if name != UNGUARDED:
        yield
        return
    server = ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE)
    with ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True) as admin:
        admin.search(DEFAULTS, "(objectClass=*)", ldap3.BASE, attributes=list(THROTTLES_OFF))
        found = admin.response[0]["attributes"]
        before = {name: [str(v) for v in found.get(name, [])] for name in THROTTLES_OFF}
        _replace(admin, {name: [value] for name, value in THROTTLES_OFF.items()})
        try:
            yield
        finally:
            _replace(admin, before)


def _replace(admin: ldap3.Connection, values: dict[str, list[str]]) -> None:
    """Replace (an empty list: remove) the settings on cn=ums-defaults."""
    changes = {name: [(ldap3.MODIFY_REPLACE, value)] for name, value in values.items()}
    if not admin.modify(DEFAULTS, changes):
        raise RuntimeError(f"changing {DEFAULTS}: {admin.result}")


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
        rows += _guard_rows(done)
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


def _guard_rows(done: list[Phase]) -> list[Row]:
    """ixidir's routing under the mix with the bind throttles off (in the slapd column) and on
    (in the ixidir column): their ratio against issue 12's target."""
    target = Target.ratio(GUARD_TARGET, at_most=True)
    rows = []
    for label, of in (("p99", lambda r: r.p99_ms), ("p99.9", lambda r: r.p999_ms)):
        off = routing_figures(done, UNGUARDED, of)[1]
        on = routing_figures(done, "mix", of)[1]
        rows.append(Row(f"ixidir mix routing {label} ms, throttles off | on", off, on, target))
    return [*routing_rows(done, UNGUARDED), *rows]


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
    args = parser.parse_args()
    chosen = phases(args.rate, throttles_off=args.throttles_off)
    report(args, alternate(args, chosen, settings_for))


if __name__ == "__main__":
    main()
