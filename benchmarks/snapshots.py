"""Routing while ixidir writes periodic snapshots, next to slapd on the same users (issue 13).

Both servers hold the same datagen users (`{SSHA}` passwords, as mixed.py) and run side by side.
Routing look-ups go over 1 connection x 1 in flight, each answer checked, in phases that
alternate between the servers: quiet, then while an administrator modifies one user every
`--modify-every` seconds. ixidir serves with `snapshot_every_changes = 1` written into the kept
data folder's ixidir.toml, so during the second phase its serving process forks a snapshot
writer about every 5 s (admin.snapshots.CHECK_SECONDS); the server log says each one.

Target: ixidir's routing p99 while snapshots are written at most 2x its quiet p99.

    python benchmarks/snapshots.py --users 100000 --seconds 10 --rounds 2 --keep
"""

from __future__ import annotations

import argparse
import re

from background import Client, Phase
from dataset import SSHA_TAG
from ixidir_server import prepare
from report import Row, Target, ratio
from servers import (
    add_arguments,
    add_phase_arguments,
    alternate,
    print_phases,
    routing_figures,
    routing_rows,
)

SNAPSHOT_TARGET = 2.0  # routing p99 while snapshots are written / quiet p99


def configure(args: argparse.Namespace) -> None:
    """Prepare the kept ixidir folder and make its server snapshot after every change."""
    folder = args.data / f"ixidir-{args.users}{SSHA_TAG}"
    prepare(args.users, folder, args.data, passwords=True)
    config = folder / "ixidir.toml"
    text = re.sub(r"(?m)^snapshot_every_changes = .*\n", "", config.read_text())
    config.write_text(text + "snapshot_every_changes = 1\n")


def report(args: argparse.Namespace, done: list[Phase]) -> int:
    target = Target.own(SNAPSHOT_TARGET, at_most=True)
    rows = [*routing_rows(done, "quiet"), *routing_rows(done, "snapshots")]
    quiet = routing_figures(done, "quiet", lambda r: r.p99_ms)
    busy = routing_figures(done, "snapshots", lambda r: r.p99_ms)
    rows.append(
        Row("snapshots p99 / quiet p99", ratio(quiet[0], busy[0]), ratio(quiet[1], busy[1]), target)
    )
    return print_phases(args, "while ixidir writes a snapshot after each modify", rows, done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, users=100_000)
    add_phase_arguments(parser)
    parser.add_argument("--modify-every", type=float, default=2.0, help="seconds between modifies")
    args = parser.parse_args()
    if not args.keep:
        parser.error("--keep is needed: the kept folder's ixidir.toml turns the snapshots on")
    args.data.mkdir(parents=True, exist_ok=True)
    configure(args)
    phases = (
        ("quiet", (), False),
        ("snapshots", (Client("modifies", 1.0 / args.modify_every),), False),
    )
    report(args, alternate(args, phases))


if __name__ == "__main__":
    main()
