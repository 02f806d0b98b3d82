"""Issue 13 item 1: `ixidir import` against `slapadd -q` on the same LDIF, alternated, with ratios.

Each round loads the users into a fresh back-mdb database with slapadd, then into a fresh
`ixidir init` directory with `ixidir import` (end to end, until the process exits; init is not
counted). Wall seconds and CPU seconds (user + system of the child) are shown for both: on a
machine shared with other work the CPU ratio moves less than the wall ratio.

    python benchmarks/import_speed.py --users 20000 --rounds 2

`--ixidir-command "/other/checkout/.venv/bin/python -m ixidir"` measures another build; run it
from a folder that is no checkout (`python -m` looks in the current folder first).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dataset import ADMIN_PASSWORD, SUFFIX, users_ldif
from ixidir_server import IXIDIR, ixidir_revision
from processes import HarnessError, exit_on_sigterm
from slapd import SLAPADD, load, write_config

Timed = tuple[float, float]  # wall seconds, CPU seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(action: Callable[[], object]) -> Timed:
    cpu, started = _children_cpu(), time.monotonic()
    action()
    return time.monotonic() - started, _children_cpu() - cpu


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")


def slapadd_round(ldif: Path) -> Timed:
    work = Path(tempfile.mkdtemp(prefix="ixidir-bench-slapadd-"))
    try:
        conf = write_config(work)
        return _timed(lambda: load(conf, ldif))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def import_round(ldif: Path, command: list[str]) -> Timed:
    work = Path(tempfile.mkdtemp(prefix="ixidir-bench-import-"))
    try:
        data = work / "data"
        password = work / "password"
        password.write_text(ADMIN_PASSWORD, encoding="utf-8")
        _run([*command, "--data", str(data), "init", "--base-dn", SUFFIX,
              "--admin-password-file", str(password)])  # fmt: skip
        return _timed(lambda: _run([*command, "--data", str(data), "import", str(ldif)]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument("--ixidir-command", default=" ".join(IXIDIR))
    args = parser.parse_args()
    exit_on_sigterm()
    args.data.mkdir(parents=True, exist_ok=True)
    ldif = users_ldif(args.users, args.data)
    command = args.ixidir_command.split()
    print(f"ixidir {ixidir_revision()}, {SLAPADD} -q, {args.users:,} users", flush=True)
    walls: list[float] = []
    cpus: list[float] = []
    for number in range(1, args.rounds + 1):
        slap_wall, slap_cpu = slapadd_round(ldif)
        ixi_wall, ixi_cpu = import_round(ldif, command)
        walls.append(ixi_wall / slap_wall)
        cpus.append(ixi_cpu / slap_cpu)
        print(
            f"round {number}: slapadd {slap_wall:6.2f} s wall {slap_cpu:6.2f} s CPU | "
            f"ixidir import {ixi_wall:6.2f} s wall {ixi_cpu:6.2f} s CPU | "
            f"ratio wall {walls[-1]:5.1f}x CPU {cpus[-1]:5.1f}x",
            flush=True,
        )
    print(
        f"median ratio ixidir/slapadd ({time.strftime('%Y-%m-%d %H:%M')}): "
        f"wall {statistics.median(walls):.1f}x, CPU {statistics.median(cpus):.1f}x "
        "(target: wall <= 3x)"
    )


if __name__ == "__main__":
    main()
