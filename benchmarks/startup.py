"""Import, start-up and memory at N users (issue 2 item 9): ixidir next to slapd, with ratios.

For each size: slapd gets `slapadd -q` of the users into a fresh back-mdb database, ixidir gets
`ixidir init` + `ixidir import` into a fresh data directory (or, with --keep, a directory prepared
by an earlier run, whose recorded import time is shown and marked "reused"). Then each server is
started and timed until it accepts (slapd: first successful connect; ixidir: its
`listening on` line), and its RSS is read from /proc (ixidir: every process, workers too,
summed). Every server is stopped before the next.
ixidir starts twice: cold (its snapshot removed: every entry read from Firebird) and warm (from
the snapshot the cold run's clean stop wrote, plus the changes since).

    python benchmarks/startup.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from ixidir_server import IxidirFigures, ixidir_revision, running_ixidir
from processes import exit_on_sigterm
from slapd import SLAPD, SlapdFigures, running_slapd

Figures = tuple[SlapdFigures, IxidirFigures, IxidirFigures]


def measure(size: int, args: argparse.Namespace) -> Figures:
    """slapd, then ixidir twice on one data directory: cold (no snapshot, everything read from
    Firebird), then warm (from the snapshot the cold run's clean stop wrote)."""
    with running_slapd(size, data_dir=args.data) as slapd:
        slapd_figures = slapd.figures
    print(f"slapd  {size:>8,}: {slapd_figures}", flush=True)
    # Both starts need one data directory; without --keep it is a fresh one, removed after.
    keep = args.data / (f"ixidir-{size}" if args.keep else f"ixidir-{size}-startup-run")
    starts = []
    for cold in (True, False):
        with running_ixidir(size, data_dir=args.data, keep=keep, cold=cold) as ixidir:
            starts.append(ixidir.figures)
            time.sleep(args.settle)
        print(f"ixidir {size:>8,}: {starts[-1]}", flush=True)
    if not args.keep:
        shutil.rmtree(keep, ignore_errors=True)
    return slapd_figures, starts[0], starts[1]


def report(results: list[tuple[int, SlapdFigures, IxidirFigures, IxidirFigures]]) -> None:
    print(f"\nload, start-up and memory ({time.strftime('%Y-%m-%d %H:%M')})")
    header = f"{'users':>8} {'figure':24} {'slapd':>10} {'ixidir':>10} {'ixidir/slapd':>13}"
    print(header)
    for size, slapd, ixidir, warm in results:
        reused = " (recorded earlier)" if ixidir.import_reused else ""
        rows = [
            ("load s (slapadd/import)", slapd.slapadd_seconds, ixidir.import_seconds),
            (f"start-up s ({ixidir.start})", slapd.startup_seconds, ixidir.startup_seconds),
            (f"start-up s ({warm.start})", slapd.startup_seconds, warm.startup_seconds),
            ("RSS after cold start MiB (all processes)", slapd.rss_mib, ixidir.rss_mib),
            ("RSS after warm start MiB (all processes)", slapd.rss_mib, warm.rss_mib),
            ("database on disk MiB", slapd.db_mib, ixidir.db_mib),
        ]
        for label, left, right in rows:
            note = reused if label.startswith("load") else ""
            print(f"{size:>8,} {label:24} {left:10.2f} {right:10.2f} {right / left:12.1f}x{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument(
        "--keep", action="store_true", help="keep/reuse DATA/ixidir-N (pay each import once)"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before stopping ixidir")
    args = parser.parse_args()
    exit_on_sigterm()
    print(f"ixidir {ixidir_revision()}, slapd {SLAPD}", flush=True)
    args.data.mkdir(parents=True, exist_ok=True)
    results = [(size, *measure(size, args)) for size in args.sizes]
    report(results)


if __name__ == "__main__":
    main()
