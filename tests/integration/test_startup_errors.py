"""Start-up and command failures as a new user meets them: each is one line on standard error
that names the cause and what to do, with a non-zero exit status, and never a traceback.

Cases that only an unprivileged user meets (ports below 1024, unreadable files) run the command
under `setpriv` as nobody, in a data directory made readable for it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ixidir import __version__

from .conftest import init_data_dir

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def run(data_dir: Path, *args: str, as_nobody: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ixidir", "--data", str(data_dir), *args]
    return subprocess.run(
        [*NOBODY, *command] if as_nobody else command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )


def one_line_failure(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The failure's single stderr line, checked for what it must say."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("ixidir: ")]
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """An initialized data directory that nobody may read (setpriv cases): pytest's own
    temporary folders are private to root."""
    shared = Path(tempfile.mkdtemp(prefix="ixidir-startup-", dir="/tmp"))
    shared.chmod(0o755)
    made = shared / "data"
    init_data_dir(made, demo=False)
    for path in (made, *made.rglob("*")):
        path.chmod(path.stat().st_mode | 0o005 | (0o001 if path.is_dir() else 0))
    yield made
    shutil.rmtree(shared, ignore_errors=True)


def test_version_is_printed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ixidir", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"ixidir {__version__}"


def test_a_port_held_by_another_server_is_said_plainly(data_dir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = run(data_dir, "serve", "--listen", f"127.0.0.1:{port}")
        one_line_failure(done, f"127.0.0.1:{port}", "in use by another program", "--listen")
        workers = run(data_dir, "serve", "--workers", "2", "--listen", f"127.0.0.1:{port}")
        one_line_failure(workers, "in use by another program")


def test_a_privileged_port_as_an_ordinary_user_names_the_capability(data_dir: Path) -> None:
    done = run(data_dir, "serve", "--listen", "127.0.0.1:391", as_nobody=True)
    one_line_failure(done, "127.0.0.1:391", "permission denied", "CAP_NET_BIND_SERVICE", "1024")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1:99999", "port out of range"),
        ("127.0.0.1:391x", "expected HOST:PORT"),
        ("::1:391", "brackets"),
        ("localhost", "expected HOST:PORT"),
    ],
)
def test_a_malformed_address_says_how_to_write_one(
    data_dir: Path, address: str, reason: str
) -> None:
    done = run(data_dir, "serve", "--listen", address)
    one_line_failure(done, f"--listen {address!r}", reason, "HOST:PORT", "65535")


def test_an_address_of_another_machine_is_refused_before_loading(data_dir: Path) -> None:
    done = run(data_dir, "serve", "--listen", "192.0.2.1:3891")  # TEST-NET-1: never ours
    one_line_failure(done, "192.0.2.1:3891", "not one of this machine's")


def test_missing_and_unreadable_files_are_named(data_dir: Path, tmp_path: Path) -> None:
    one_line_failure(run(data_dir, "import", "/nonexistent/users.ldif"),
                     "/nonexistent/users.ldif: no such file")  # fmt: skip
    one_line_failure(
        run(tmp_path / "fresh", "init", "--base-dn", "dc=x", "--admin-password-file", "/nope"),
        "/nope: no such file",
    )
    one_line_failure(run(tmp_path / "nowhere", "serve"), "ixidir.toml", "ixidir init")
    binary = tmp_path / "latin1.ldif"
    binary.write_bytes(("# x\n" * 5000 + "dn: cn=Jürgen,dc=example,dc=com\n").encode("latin-1"))
    one_line_failure(run(data_dir, "import", str(binary)), "line 5001: not UTF-8", "0xfc")
    secret = data_dir.parent / "secret.ldif"
    secret.write_text("dn: ou=x,dc=example,dc=com\nobjectClass: organizationalUnit\n")
    secret.chmod(0o600)
    one_line_failure(
        run(data_dir, "import", str(secret), as_nobody=True), str(secret), "permission denied"
    )


def test_a_database_that_cannot_be_opened_or_migrated_is_one_line(
    data_dir: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(data_dir, damaged, symlinks=True)
    (damaged / "ixidir.fdb").write_bytes(b"not a database")
    for command in (["export"], ["serve", "--listen", "127.0.0.1:0"]):
        one_line_failure(run(damaged, *command), "cannot open the database")
        # Readable but not writable for this user (Firebird's lock folder): also one line,
        # with no traceback from the driver's exit hook after it.
        one_line_failure(
            run(data_dir, *command, as_nobody=True), "cannot open the database", "read and write"
        )
    newer = tmp_path / "newer"
    shutil.copytree(data_dir, newer, symlinks=True)
    script = (
        "import sys; from pathlib import Path\n"
        "from ixidir.storage import DATABASE_FILE, SCHEMA_VERSION, open_entry_store\n"
        "from ixidir.storage.database import open_database\n"
        "data = Path(sys.argv[1]); open_entry_store(data, None, create=False).close()\n"
        "c = open_database(data / DATABASE_FILE, create=False)\n"
        'cur = c.cursor(); cur.execute("INSERT INTO SCHEMA_VERSION (VERSION, PURPOSE, '
        "APPLIED_AT) VALUES (?, 'future', CURRENT_TIMESTAMP)\", (SCHEMA_VERSION + 1,))\n"
        "c.commit(); c.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(newer)], check=True, timeout=120)
    one_line_failure(run(newer, "serve", "--listen", "127.0.0.1:0"), "newer", "upgrade ixidir")
