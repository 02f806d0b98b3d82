"""Several worker processes on one port (SO_REUSEPORT): all answer, all see every write."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, init_data_dir

CONNECTIONS = 8
SEEN_WITHIN_SECONDS = 10.0


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    data_dir = tmp_path_factory.mktemp("workers") / "data"
    init_data_dir(data_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "ixidir", "--data", str(data_dir), "serve",
         "--listen", "127.0.0.1:0", "--workers", "2", "--web-listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    assert process.stdout is not None
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", process.stdout.readline())
    assert match is not None
    yield int(match[1]), process
    process.terminate()
    process.wait(timeout=30)


STORE_PROCESS = b"ixidir.admin.storeproc"  # in the cmdline of a worker's entry-writer process


def child_pids(parent: int) -> list[int]:
    """Children of `parent`, from /proc (field 4 of /proc/PID/stat is the parent's pid)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def is_store_process(pid: int) -> bool:
    """Whether `pid` is a worker's entry-writer process (admin.storeproc), not a worker."""
    try:
        return STORE_PROCESS in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False  # ended while we looked


def worker_pids(parent: int) -> list[int]:
    """The workers `parent` started (its other children are its entry-writer process)."""
    return [pid for pid in child_pids(parent) if not is_store_process(pid)]


def connect(port: int) -> ldap3.Connection:
    server = ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE)
    return ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)


def mails(connection: ldap3.Connection, uid: str) -> list[str]:
    connection.search(BASE_DN, f"(uid={uid})", attributes=["mail"])
    return [str(entry.mail) for entry in connection.entries]


def test_a_second_worker_serves_the_same_port(
    workers: tuple[int, subprocess.Popen[str]],
) -> None:
    port, parent = workers
    deadline = time.monotonic() + SEEN_WITHIN_SECONDS
    while len(worker_pids(parent.pid)) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(worker_pids(parent.pid)) == 1
    for _ in range(CONNECTIONS):
        assert mails(connect(port), "jmueller") == ["juergen.mueller@example.com"]


def test_a_write_on_one_worker_is_seen_by_all(workers: tuple[int, subprocess.Popen[str]]) -> None:
    """Every new connection (spread over the workers by the kernel) finds a fresh entry."""
    port, _ = workers
    writer = connect(port)
    dn = f"uid=worker-test,ou=people,{BASE_DN}"
    attributes = {"cn": "w", "sn": "W", "mail": "worker-test@example.com"}
    assert writer.add(dn, ["inetOrgPerson"], attributes)
    deadline = time.monotonic() + SEEN_WITHIN_SECONDS
    found: list[list[str]] = []
    while time.monotonic() < deadline:
        found = [mails(connect(port), "worker-test") for _ in range(CONNECTIONS)]
        if all(found):
            break
        time.sleep(0.2)
    assert found == [["worker-test@example.com"]] * CONNECTIONS


SCHED_OTHER, SCHED_IDLE = 0, 5  # Linux's policy numbers (field 41 of /proc/PID/task/TID/stat)


def policies(pid: int) -> dict[int, int]:
    """Each thread of process `pid`: its scheduling policy."""
    found = {}
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended while we looked
        found[int(stat.parent.name)] = int(fields[38])
    return found


def test_background_threads_yield_the_cores_to_the_reactors(
    workers: tuple[int, subprocess.Popen[str]],
) -> None:
    """server.priority: in every worker the reactor keeps its priority while the changelog
    follower and the audit log run SCHED_IDLE (the writers' own lowering: test_threads)."""
    port, parent = workers
    writer = connect(port)
    dn = f"uid=priority-test,ou=people,{BASE_DN}"
    assert writer.add(dn, ["inetOrgPerson"], {"cn": "p", "sn": "P"})
    processes = [parent.pid, *worker_pids(parent.pid)]
    assert len(processes) == 2
    for pid in processes:
        threads = policies(pid)
        assert threads[pid] == SCHED_OTHER  # the main thread: the reactor
        assert list(threads.values()).count(SCHED_IDLE) >= 2
        # Each worker's entry writer is a process of its own, lowered whole (admin.storeproc).
        (writer,) = [child for child in child_pids(pid) if is_store_process(child)]
        assert set(policies(writer).values()) == {SCHED_IDLE}


def test_stopping_the_parent_stops_every_worker(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "ixidir", "--data", str(data_dir), "serve",
         "--listen", "127.0.0.1:0", "--workers", "2", "--web-listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.readline()
    workers = worker_pids(process.pid)
    # Every process of the site: the workers and each one's entry-writer process.
    children = [*child_pids(process.pid), *(pid for w in workers for pid in child_pids(w))]
    assert len(children) == 3  # a worker, and two writers (the parent's, the worker's)
    process.terminate()
    assert process.wait(timeout=30) == 0
    for pid in children:
        deadline = time.monotonic() + SEEN_WITHIN_SECONDS
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(f"/proc/{pid}").exists()
