"""Child-process plumbing shared by the benchmark harnesses: free ports, readiness, RSS, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

# How long a server may take to accept connections before the harness gives up.
START_TIMEOUT_SECONDS = 120.0
# How long a server may take to stop: ixidir writes its start-up snapshot then, which took
# longer than 20 s at 1,000,000 users, so the next start was cold. Only an upper bound.
STOP_TIMEOUT_SECONDS = 300.0
_KIB_PER_MIB = 1024


class HarnessError(RuntimeError):
    """A server under test failed to load, start or answer; the message says which and why."""


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (the OS picks it; a small race remains)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_accepting(
    port: int, process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_SECONDS
) -> float:
    """Poll until 127.0.0.1:port accepts; returns the monotonic time it first did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"process {process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.monotonic()
        except OSError:
            time.sleep(0.005)
    raise HarnessError(f"nothing accepted on 127.0.0.1:{port} within {timeout:.0f} s")


def rss_mib(pid: int) -> float:
    """Resident set size from /proc (VmRSS), in MiB."""
    return _status_kib(pid, "VmRSS") / _KIB_PER_MIB


def tree_rss_mib(pid: int) -> float:
    """VmRSS of the process and all its descendants (a server's workers), in MiB.

    Shared pages (the parent's copy-on-write memory a forked child still shares) count once per
    process, as top and ps show them; ixidir's workers are started fresh, so they share little.
    """
    return sum(rss_mib(member) for member in _tree(pid))


def _tree(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(parents.get(current, ()))
    return found


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size so far (VmHWM), in MiB."""
    return _status_kib(pid, "VmHWM") / _KIB_PER_MIB


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise HarnessError(f"/proc/{pid}/status has no {field}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" of comm: state is field 3, utime field 14, stime field 15 (proc(5)).
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """PID and its live descendants (ixidir's workers are child processes, whose CPU time
    /proc/PID/stat does not include until they are reaped)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue  # exited while we looked
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def cpu_seconds_of(pids: list[int]) -> float:
    """cpu_seconds summed over PIDS; a process that has exited counts no more."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `with` blocks stop and delete the servers they started."""

    def handle(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handle)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait, and SIGKILL only if the process ignores that (never leave it running)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
