"""A real `ixidir serve` on 127.0.0.1 with a real embedded Firebird database, per test module.

The server is a subprocess started exactly as an administrator would start it; its port is read
from its `listening on HOST:PORT` line, so modules can run in parallel on free ports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BASE_DN = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "Adm1n-secret"
DEMO_LDIF = Path(__file__).resolve().parents[2] / "demo" / "users.ldif"
_LISTENING = re.compile(r"listening on (?P<host>[^\s]+):(?P<port>\d+)")
START_TIMEOUT = 60.0


@dataclass
class RunningServer:
    """What a test needs to talk to the server: its URL, the admin's bind, the data directory."""

    data_dir: Path
    host: str
    port: int
    process: subprocess.Popen[str]
    startup_log: str = ""  # what the server printed up to its listening line

    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    def ldap(
        self,
        tool: str,
        *args: str,
        bind: bool = True,
        check: bool = False,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run an OpenLDAP client (`ldapsearch`, `ldapmodify`, ...) against this server."""
        command = [tool, "-x", "-H", self.url]
        if bind:
            command += ["-D", ADMIN_DN, "-w", ADMIN_PASSWORD]
        command += list(args)
        return subprocess.run(
            command, input=stdin, capture_output=True, text=True, check=check, timeout=60
        )


def ixidir(
    data_dir: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the `ixidir` command (this checkout's, via the current interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "ixidir", "--data", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
    )


def init_data_dir(data_dir: Path, *, demo: bool = True) -> None:
    password_file = data_dir.parent / f"{data_dir.name}-admin-password"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    ixidir(data_dir, "init", "--base-dn", BASE_DN, "--admin-password-file", str(password_file))
    if demo:
        ixidir(data_dir, "import", str(DEMO_LDIF))


def start_server(data_dir: Path, *extra: str, workers: int | None = None) -> RunningServer:
    """Start `ixidir serve --listen 127.0.0.1:0 [extra...]` and wait for its listening line
    (the LDAP one: it comes first; `startup_log` holds the lines before it); `workers` None
    leaves the count to the configuration (its default)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ixidir",
            "--data",
            str(data_dir),
            "serve",
            "--listen",
            "127.0.0.1:0",
            # Never the default 127.0.0.1:9391: test servers run in parallel (extra may override).
            "--metrics-listen",
            "127.0.0.1:0",
            *extra,
            *([] if workers is None else ["--workers", str(workers)]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = _LISTENING.search(line)
        if match:
            return RunningServer(
                data_dir, match["host"], int(match["port"]), process, "".join(seen)
            )
    process.kill()
    raise RuntimeError("ixidir serve did not start:\n" + "".join(seen))


def metrics_url(server: RunningServer) -> str:
    """The server's `metrics on http://HOST:PORT` line, printed after its listening lines."""
    assert server.process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = server.process.stdout.readline()
        if not line:
            break
        if line.startswith("metrics on "):
            return line.removeprefix("metrics on ").strip()
    raise RuntimeError("ixidir serve printed no 'metrics on' line")


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    """A server with the demo users, shared by one test module; the configured (default)
    workers unless the module sets SERVER_WORKERS."""
    data_dir = tmp_path_factory.mktemp("ixidir") / "data"
    init_data_dir(data_dir)
    running = start_server(data_dir, workers=getattr(request.module, "SERVER_WORKERS", None))
    yield running
    stop_server(running)


@pytest.fixture(scope="session", autouse=True)
def _ldap_utils_installed() -> None:
    if shutil.which("ldapsearch") is None:
        pytest.fail("OpenLDAP's ldap-utils are missing: run ./dev setup")
