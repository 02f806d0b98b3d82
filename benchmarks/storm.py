"""Other clients' routing during a wrong-password storm, slapd and ixidir on the same users.

Issue 11 item 5: both servers hold the same datagen users (default 10,000, `{SSHA}` passwords)
and run side by side. Routing look-ups go over 1 connection x 1 in flight, each answer checked,
in phases that alternate between the servers: quiet, then while one client (its own process)
sends wrong-password binds for one user one after another, a new connection each, from
127.0.0.2, each of which must be refused: invalidCredentials (49), or from ixidir, once its
address throttle blocks 127.0.0.2, unwillingToPerform (53) (background.py).

With ixidir's bind lockout (issue 12, on by default) the user is locked after 5 wrong passwords
and the address blocked after 10 failed binds in 10 s: from then on a storm bind costs one
batched read of the failure counts and no hash, and is answered after the 0.25 s a hash would
take (bindguard.REFUSAL_DELAY); "wrong bind p50 ms" shows it. The target user is not the
administrator, whom the routing clients bind as.

Target: ixidir's routing p99 under the storm at most 2x its quiet p99. With `--throttles-off`
an ixidir-only phase runs the same storm with the lockout and the address throttle off
(throttles.py): what issue 12's guard costs the routing (its target: at most 10 % more). Without
the guard the storm user's wrong password is remembered (bindcache.py) and answered after the
same delay, so both phases see the same pace of binds. Figures are the median
over `--rounds`; by default every routing request is a new spelling of its number.

    python benchmarks/storm.py --users 10000 --seconds 10 --rounds 2 --keep
"""

from __future__ import annotations

import argparse

from background import INVALID_CREDENTIALS, STORM_UID, UNWILLING_TO_PERFORM, Client, Phase
from report import Row, Target, ratio
from servers import (
    add_arguments,
    add_phase_arguments,
    alternate,
    client_figures,
    print_phases,
    routing_figures,
    routing_rows,
)
from throttles import guard_rows, throttles_off_in

STORM_TARGET = 2.0  # routing p99 under the storm / quiet p99, per server
STORM = (Client("wrong-binds", None),)
UNGUARDED = "storm without bind throttles"
PHASES = (("quiet", (), False), ("storm", STORM, False))


def report(args: argparse.Namespace, done: list[Phase]) -> int:
    target = Target.own(STORM_TARGET, at_most=True)
    rows = [*routing_rows(done, "quiet"), *routing_rows(done, "storm")]
    quiet = routing_figures(done, "quiet", lambda r: r.p99_ms)
    storm = routing_figures(done, "storm", lambda r: r.p99_ms)
    rows += [
        Row("storm p99 / quiet p99", ratio(quiet[0], storm[0]), ratio(quiet[1], storm[1]), target),
        Row(
            "storm: wrong binds/s", *client_figures(done, "storm", "wrong-binds", lambda c: c.rate)
        ),
        Row(
            "storm: wrong bind p50 ms",
            *client_figures(done, "storm", "wrong-binds", lambda c: c.percentile_ms(0.5)),
        ),
    ]
    if args.throttles_off:
        rows += guard_rows(done, "storm", UNGUARDED)
    return print_phases(
        args,
        f"during wrong-password binds for {STORM_UID} from 127.0.0.2 (each must get resultCode "
        f"{INVALID_CREDENTIALS}, or {UNWILLING_TO_PERFORM} once ixidir blocks the address)",
        rows,
        done,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, users=10_000)
    add_phase_arguments(parser)
    parser.add_argument(
        "--throttles-off",
        action="store_true",
        help="add the storm with ixidir's bind throttles off (issue 12's cost)",
    )
    args = parser.parse_args()
    phases = (*PHASES, (UNGUARDED, STORM, True)) if args.throttles_off else PHASES
    report(args, alternate(args, phases, throttles_off_in(UNGUARDED)))


if __name__ == "__main__":
    main()
