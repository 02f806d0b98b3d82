"""Nodes of one site on the session's private Firebird server: `ixidir init --storage-dsn`
creates the site's database for the first node and joins it for the others."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from private_firebird import PrivateFirebird

from .conftest import ADMIN_PASSWORD, BASE_DN, RunningServer, ixidir, start_server, stop_server


@dataclass(frozen=True)
class Node:
    data_dir: Path
    dsn: str


def password_files(tmp_path: Path, server: PrivateFirebird) -> tuple[Path, Path]:
    """The administrator's and the Firebird user's password files, as init reads them."""
    admin = tmp_path / "admin-password"
    admin.write_text(ADMIN_PASSWORD + "\n")
    storage = tmp_path / "storage-password"
    storage.write_text(server.password + "\n")
    return admin, storage


def init_node(
    data_dir: Path,
    server: PrivateFirebird,
    dsn: str,
    *extra: str,
    admin_password: Path,
    storage_password: Path,
) -> subprocess.CompletedProcess[str]:
    return ixidir(
        data_dir,
        "init",
        "--base-dn",
        BASE_DN,
        "--admin-password-file",
        str(admin_password),
        "--storage-dsn",
        dsn,
        "--storage-user",
        server.user,
        "--storage-password-file",
        str(storage_password),
        *extra,
        check=False,
    )


@dataclass
class Site:
    """Node a and node b of one site; `servers[i]` serves `nodes[i]` (replaced on restart)."""

    nodes: list[Node]
    servers: list[RunningServer] = field(default_factory=list)

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown, no snapshot, the Firebird attachment just drops."""
        process = self.servers[index].process
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def restart(self, index: int) -> RunningServer:
        """Start the node again on the port it had, the one its clients know."""
        old = self.servers[index]
        self.servers[index] = start_server(old.data_dir, workers=1, listen=f"{old.host}:{old.port}")
        return self.servers[index]


@contextmanager
def serving_site(server: PrivateFirebird, folder: Path, dsn: str, *ldifs: Path) -> Iterator[Site]:
    """Node a creates the site's database at `dsn` and imports `ldifs`, node b joins it; both
    serve, one worker each (SIGKILL of its process stops a whole node), until the block ends."""
    admin, storage = password_files(folder, server)
    site = Site([Node(folder / name, dsn) for name in "ab"])
    for node in site.nodes:
        done = init_node(node.data_dir, server, dsn, admin_password=admin, storage_password=storage)
        assert done.returncode == 0, done.stderr
    for ldif in ldifs:
        ixidir(site.nodes[0].data_dir, "import", str(ldif))
    try:
        for node in site.nodes:
            site.servers.append(start_server(node.data_dir, workers=1))
        yield site
    finally:
        for running in site.servers:
            stop_server(running)
