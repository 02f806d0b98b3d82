"""Lag between two nodes on one Firebird server (issue 14 item 2): how long after node A
acknowledges a write node B answers with it.

Starts a private Firebird server (tests/private_firebird.py, the tests' own fixture logic: Debian's
server program in a temporary root on a free port of 127.0.0.1), `ixidir init --storage-dsn` for
node A (creates the site's database) and node B (joins it), and `ixidir serve` for each. Writers
on A (`--writers` clients, each modifying an entry of its own, one write after the other, so the
writes share group commits) then make `--writes` writes and record when each was acknowledged; a
watcher process on B searches those entries in a loop and records when it first answered each
value. The lag of write i is B's first answer with i (or later) minus A's
acknowledgement of i; a negative lag (B answered before A's answer reached the writer) counts 0.

    python benchmarks/nodes.py --writes 1000
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

import ldap3
from dataset import ADMIN_DN, ADMIN_PASSWORD, PEOPLE, SUFFIX
from ixidir_server import IXIDIR, ixidir_revision, read_port
from processes import HarnessError, exit_on_sigterm, stop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import private_firebird  # the tests' private server, shared rather than copied

PROBE = "lag-probe-{}"
WATCH_PAUSE_SECONDS = 0.0005  # between the watcher's searches: ~1 ms resolution, spare CPU
WATCH_TIMEOUT_SECONDS = 60.0

Seen = list[tuple[int, float]]  # (value, monotonic time B first answered it), values rising


def init_node(data: Path, dsn: str, server: private_firebird.PrivateFirebird) -> None:
    """`ixidir init` with the server DSN: the first call creates the database, later ones join."""
    admin = data.parent / f"{data.name}-admin-password"
    admin.write_text(ADMIN_PASSWORD + "\n")
    storage = data.parent / f"{data.name}-storage-password"
    storage.write_text(server.password + "\n")
    command = [*IXIDIR, "--data", str(data), "init", "--base-dn", SUFFIX,
               "--admin-password-file", str(admin), "--storage-dsn", dsn,
               "--storage-user", server.user, "--storage-password-file", str(storage)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HarnessError(f"ixidir init of {data.name} failed: {done.stderr.strip()[-2000:]}")


@contextmanager
def serving(data: Path, workers: int) -> Iterator[int]:
    """`ixidir serve` of one node on 127.0.0.1:0; yields its port, stops it on exit."""
    log = (data.parent / f"{data.name}-serve.log").open("wb")
    process = subprocess.Popen(
        [
            *IXIDIR,
            "--data",
            str(data),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            str(workers),
            # Two nodes on one machine: no web UI and no metrics (their default ports collide).
            "--web-listen",
            "",
            "--metrics-listen",
            "",
        ],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        yield read_port(process)
    finally:
        stop(process)
        log.close()


@contextmanager
def two_nodes(work: Path, workers: int) -> Iterator[tuple[int, int, str]]:
    """A private Firebird server and two nodes serving its one database; yields the ports
    of A and B and the server's version."""
    with ExitStack() as stack:
        server = stack.enter_context(private_firebird.running(work / "firebird"))
        dsn = server.dsn_for("site.fdb")
        init_node(work / "a", dsn, server)
        init_node(work / "b", dsn, server)
        port_a = stack.enter_context(serving(work / "a", workers))
        port_b = stack.enter_context(serving(work / "b", workers))
        yield port_a, port_b, server.version


def connect(port: int) -> ldap3.Connection:
    server = ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE)
    return ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)


def probe_dn(writer: int) -> str:
    return f"uid={PROBE.format(writer)},{PEOPLE}"


def watch(port: int, writers: int, last: int, pipe: Pipe) -> None:
    """The watcher process: search the probes on node B until each shows `last`; send back when
    each value was first seen (monotonic clock: the same in every process of the machine)."""
    connection = connect(port)
    seen: list[Seen] = [[] for _ in range(writers)]
    newest = [0] * writers
    pipe.send("ready")
    deadline = time.monotonic() + WATCH_TIMEOUT_SECONDS
    while min(newest) < last and time.monotonic() < deadline:
        connection.search(PEOPLE, f"(uid={PROBE.format('*')})", attributes=["uid", "description"])
        now = time.monotonic()
        for entry in connection.response or ():
            attributes = entry["attributes"]
            writer = int(attributes["uid"][0].rsplit("-", 1)[1])
            value = int(attributes["description"][0])
            if value > newest[writer]:
                newest[writer] = value
                seen[writer].append((value, now))
        time.sleep(WATCH_PAUSE_SECONDS)
    connection.unbind()
    pipe.send(seen)


def write(port: int, writer: int, writes: int, acknowledged: list[float]) -> None:
    """Modify the writer's probe on node A `writes` times in a row; note each acknowledgement."""
    connection = connect(port)
    for value in range(1, writes + 1):
        connection.modify(probe_dn(writer), {"description": [(ldap3.MODIFY_REPLACE, [str(value)])]})
        acknowledged.append(time.monotonic())
        if connection.result["result"] != 0:
            raise HarnessError(f"write {value} on node A failed: {connection.result}")
    connection.unbind()


def lags(acknowledged: list[float], seen: Seen) -> list[float]:
    """Seconds from each write's acknowledgement on A to B's first answer holding it."""
    result = []
    found = iter(seen)
    value, at = 0, 0.0
    for index, acked in enumerate(acknowledged, start=1):
        while value < index:
            value, at = next(found)  # B shows values in order: the first at or past this one
        result.append(max(0.0, at - acked))
    return result


def measure(port_a: int, port_b: int, writers: int, writes: int) -> list[float]:
    """`writers` clients on A, `writes` each in total, watched on B; every write's lag."""
    setup = connect(port_a)
    for writer in range(writers):
        attributes = {"cn": "lag probe", "sn": "probe", "description": "0"}
        setup.add(probe_dn(writer), ["inetOrgPerson"], attributes)
    setup.unbind()
    each = writes // writers
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    watcher = context.Process(target=watch, args=(port_b, writers, each, there))
    watcher.start()
    try:
        if not here.poll(WATCH_TIMEOUT_SECONDS):
            raise HarnessError("the watcher on node B did not start")
        here.recv()
        acknowledged: list[list[float]] = [[] for _ in range(writers)]
        threads = [
            threading.Thread(target=write, args=(port_a, writer, each, acknowledged[writer]))
            for writer in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not here.poll(WATCH_TIMEOUT_SECONDS + 5):
            raise HarnessError("the watcher on node B did not report")
        seen: list[Seen] = here.recv()
    finally:
        watcher.join(10)
        if watcher.is_alive():
            watcher.kill()
    result = []
    for writer in range(writers):
        if len(acknowledged[writer]) < each or not seen[writer] or seen[writer][-1][0] < each:
            raise HarnessError(f"writer {writer}: {len(acknowledged[writer])} acknowledged, "
                               f"node B showed up to {seen[writer][-1:]}")  # fmt: skip
        result += lags(acknowledged[writer], seen[writer])
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=8, help="clients writing on node A")
    parser.add_argument("--workers", type=int, default=1, help="workers per node")
    args = parser.parse_args()
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="ixidir-bench-nodes-") as folder:
        started = time.monotonic()
        with two_nodes(Path(folder), args.workers) as (
            port_a,
            port_b,
            version,
        ):
            ready = time.monotonic() - started
            print(
                f"ixidir {ixidir_revision()}, Firebird server {version}, 2 nodes x "
                f"{args.workers} worker(s), "
                f"ready in {ready:.1f} s"
            )
            started = time.monotonic()
            measured = measure(port_a, port_b, args.writers, args.writes)
            seconds = time.monotonic() - started
    ms = [lag * 1000 for lag in measured]
    print(
        f"{len(ms)} writes by {args.writers} clients on A in {seconds:.1f} s "
        f"({len(ms) / seconds:.0f}/s); lag until B answers: p50 {statistics.median(ms):.1f} ms, "
        f"p90 {percentile(ms, 0.9):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
