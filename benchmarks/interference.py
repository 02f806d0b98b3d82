"""Routing 1 x 1 on slapd and ixidir while an unrelated process works: what the machine costs.

Issue 11's mix target holds ixidir's routing tail under 20 modifies/s to 1.5x slapd's. This
asks what a write costs the routing of a server that never sees it: a separate process, talking
to neither server, does at RATE per second one of

- `cpu`: a burst of pure-Python CPU (BURST ms; about one ixidir modify's commit);
- `io`: PAGES synchronous 16 KiB page writes (O_DSYNC) to a file of its own, as a commit with
  Firebird's forced writes does, and nothing else;
- `firebird`: one modify committed through ixidir's own store into a database of its own
  (embedded Firebird, forced writes on): the transaction each ixidir modify commits.

With `--disturber-idle` the disturbing process runs with Linux's SCHED_IDLE policy: does work
that yields the core at once to anything else keep the tails?

Both servers are measured alike, alternated, each with the same disturbance; every answer is
checked. If a disturbance that touches neither server raises both tails, that part of the tail
is the machine's (two cores shared by the servers, the load generator and the work), not the
server's.

    python benchmarks/interference.py --users 20000 --seconds 10 --rounds 2 --keep
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from report import Row
from servers import add_arguments, add_phase_arguments, alternate, print_phases, routing_rows

KINDS = ("none", "cpu", "io", "firebird")
PAGE_BYTES = 16384
_FILE_PAGES = 4096  # the io disturber's file: 64 MiB, pages written at scattered offsets
_ADMIN_PASSWORD = "interference"  # noqa: S105 (a throw-away directory's administrator)


def _burn(milliseconds: float) -> Callable[[int], None]:
    def burst(_: int) -> None:
        until = time.thread_time() + milliseconds / 1000
        while time.thread_time() < until:
            pass

    return burst


@contextmanager
def _page_writes(folder: Path, pages: int) -> Iterator[Callable[[int], None]]:
    descriptor = os.open(folder / "pages.bin", os.O_RDWR | os.O_CREAT | os.O_DSYNC, 0o600)
    os.ftruncate(descriptor, _FILE_PAGES * PAGE_BYTES)
    page = b"\x5a" * PAGE_BYTES

    def write(number: int) -> None:
        for k in range(pages):
            offset = (number * pages + k) * 7919 % _FILE_PAGES * PAGE_BYTES
            os.pwrite(descriptor, page, offset)

    try:
        yield write
    finally:
        os.close(descriptor)


@contextmanager
def _firebird_modifies(folder: Path) -> Iterator[Callable[[int], None]]:
    """A directory of its own (`ixidir init`, one user); each call commits one modify of it."""
    from ixidir.admin.runtime import opened
    from ixidir.directory.requests import (
        AccessClass,
        AddRequest,
        Modification,
        ModifyRequest,
        ModOp,
        Principal,
    )

    secret = folder / "password"
    secret.write_text(_ADMIN_PASSWORD)
    data = folder / "data"
    base = "dc=example,dc=com"
    subprocess.run(
        [sys.executable, "-m", "ixidir", "--data", str(data), "init", "--base-dn", base,
         "--admin-password-file", str(secret)],
        check=True, capture_output=True,
    )  # fmt: skip
    admin = Principal(f"cn=admin,{base}", AccessClass.ADMIN)
    dn = f"uid=disturber,ou=people,{base}"
    with opened(data) as site:
        directory, store = site.directory, site.store

        def commit(prepared: Any) -> None:
            (sequence,) = store.commit_many([prepared.writes])
            directory.apply_write(prepared, sequence)

        commit(directory.prepare_add(admin, AddRequest(dn, (
            ("objectClass", (b"inetOrgPerson",)), ("uid", (b"disturber",)),
            ("cn", (b"Dis Turber",)), ("sn", (b"Turber",)),
        ))))  # fmt: skip

        def modify(number: int) -> None:
            change = Modification(ModOp.REPLACE, "description", (f"change {number}".encode(),))
            commit(directory.prepare_modify(admin, ModifyRequest(dn, (change,))))

        yield modify


def _work(kind: str, args: argparse.Namespace, folder: Path) -> Any:
    """A context manager giving the disturbance's one-step function (step number -> None)."""
    if kind == "cpu":
        return _just(_burn(args.burst_ms))
    if kind == "io":
        return _page_writes(folder, args.pages)
    return _firebird_modifies(folder)


@contextmanager
def _just(value: Any) -> Iterator[Any]:
    yield value


def _disturber(kind: str, args: argparse.Namespace, ready: Any, stop: Any) -> None:
    if args.disturber_idle:  # only runs on a core nothing else wants (Linux)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    with (
        tempfile.TemporaryDirectory(prefix="ixidir-disturber-") as folder,
        _work(kind, args, Path(folder)) as step,
    ):
        ready.set()
        interval, due, number = 1.0 / args.rate, time.monotonic(), 0
        while not stop.is_set():
            step(number)
            number += 1
            due += interval
            stop.wait(max(0.0, due - time.monotonic()))


@contextmanager
def disturbing(kind: str, args: argparse.Namespace) -> Iterator[None]:
    """Run disturbance KIND in a process of its own for as long as the block runs."""
    if kind == "none":
        yield
        return
    context = multiprocessing.get_context("fork")
    ready, stop = context.Event(), context.Event()
    process = context.Process(target=_disturber, args=(kind, args, ready, stop), daemon=True)
    process.start()
    try:
        if not ready.wait(120):
            raise RuntimeError(f"the {kind} disturber did not start (see its traceback)")
        time.sleep(0.5)  # let it reach its pace
        yield
    finally:
        stop.set()
        process.join(30)
        if process.is_alive():
            process.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, users=20_000)
    add_phase_arguments(parser)
    parser.add_argument("--rate", type=float, default=20.0, help="disturbances per second")
    parser.add_argument("--burst-ms", type=float, default=1.3, help="CPU per `cpu` disturbance")
    parser.add_argument("--pages", type=int, default=10, help="page writes per `io` disturbance")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument(
        "--disturber-idle",
        action="store_true",
        help="run the disturbing process with the SCHED_IDLE policy",
    )
    args = parser.parse_args()
    phases = [(kind, (), False) for kind in args.kinds]
    done = alternate(args, phases, around_both=lambda kind: disturbing(kind, args))
    rows: list[Row] = []
    for kind in args.kinds:
        rows += routing_rows(done, kind)[2:]  # p99 and p99.9
    what = (
        f"while another process does {args.rate:g}/s of: nothing, {args.burst_ms:g} ms of CPU,"
        f" {args.pages} O_DSYNC page writes, one Firebird modify"
    )
    sys.exit(print_phases(args, what, rows, done))


if __name__ == "__main__":
    main()
