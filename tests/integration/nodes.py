"""Nodes of one site on the session's private Firebird server: `ixidir init --storage-dsn`
creates the site's database for the first node and joins it for the others."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from private_firebird import PrivateFirebird

from .conftest import ADMIN_PASSWORD, BASE_DN, ixidir


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
