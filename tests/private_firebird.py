"""A private Firebird server for the tests: Debian's server program with its own root folder.

Never the system service: the server runs from a temporary root (`FIREBIRD`, `FIREBIRD_LOCK`,
`FIREBIRD_TMP`) with its own `firebird.conf` and security database, listens on 127.0.0.1 on a
free port, and is stopped by its PID. `./dev` installs the packages (Debian 12: 3.0, Debian 13:
4.0). Databases may live only in the root's `databases` folder (`DatabaseAccess = Restrict`).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SERVER_PROGRAM = Path("/usr/sbin/firebird")
ISQL = "isql-fb"
# Debian installs the server's plugins, character sets and messages here, one folder per version.
_LIBRARY_GLOB = "/usr/lib/*/firebird/[0-9]*.[0-9]*"
_LINKED = ("plugins", "intl", "UDF", "lib", "tzdata", "firebird.msg", "plugins.conf")
USER = "SYSDBA"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass
class PrivateFirebird:
    """A running private server; `dsn_for` names a database file in its databases folder."""

    root: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]
    version: str = ""
    _count: int = field(default=0)

    @property
    def databases(self) -> Path:
        return self.root / "databases"

    @property
    def user(self) -> str:
        return USER

    def dsn_for(self, name: str) -> str:
        """ixidir's server DSN form, `HOST:PORT:/abs/path`, for a database `name` here."""
        return f"127.0.0.1:{self.port}:{self.databases / name}"

    def new_dsn(self, prefix: str = "test") -> str:
        """A DSN for a database file no test has used yet."""
        self._count += 1
        return self.dsn_for(f"{prefix}-{os.getpid()}-{self._count}.fdb")

    def restart(self) -> None:
        """Stop the server and start it again on the same port, as an administrator restarting
        the service does: every client's connection breaks."""
        self.stop()
        self.process = _launch(self.root)
        _wait_until_listening(self)

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


@contextmanager
def running(root: Path, *, settings: str = "") -> Iterator[PrivateFirebird]:
    """A server in `root` with a random SYSDBA password, stopped on leaving."""
    server = start(root, password=secrets.token_urlsafe(12), settings=settings)
    try:
        yield server
    finally:
        server.stop()


def library_folder() -> Path:
    """The newest Firebird version's library folder that Debian's packages installed."""
    folders = sorted(Path("/").glob(_LIBRARY_GLOB.lstrip("/")), key=_version_key)
    if not folders or not SERVER_PROGRAM.is_file():
        raise RuntimeError(
            "no Firebird server installed: run ./dev setup (Debian 12: firebird3.0-server, "
            "firebird3.0-utils; Debian 13: firebird4.0-server, firebird4.0-utils)"
        )
    return folders[-1]


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.split("."))


def start(root: Path, *, password: str, settings: str = "") -> PrivateFirebird:
    """Prepare `root` and start a server in it; the caller stops it (`PrivateFirebird.stop`).
    `settings`: more lines for its firebird.conf."""
    library = library_folder()
    port = _free_port()
    _prepare_root(root, library, port, settings)
    _create_security_database(root, password)
    server = PrivateFirebird(root=root, port=port, password=password, process=_launch(root))
    try:
        _wait_until_listening(server)
    except BaseException:
        server.stop()
        raise
    server.version = library.name
    return server


def _launch(root: Path) -> subprocess.Popen[bytes]:
    """Start the server program in `root`, its output appended to `root/server.out`."""
    with (root / "server.out").open("ab") as log:
        return subprocess.Popen(
            [str(SERVER_PROGRAM)],
            env=_environment(root),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of pytest reaches the server only through stop()
        )


def _prepare_root(root: Path, library: Path, port: int, settings: str) -> None:
    for folder in ("lock", "tmp", "databases"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in _LINKED:
        if (library / name).exists():
            (root / name).symlink_to(library / name)
    (root / "databases.conf").write_text("")
    # Only this machine, only our folder, encrypted wire (Srp gives the session key).
    (root / "firebird.conf").write_text(
        f"RemoteServicePort = {port}\n"
        "RemoteBindAddress = 127.0.0.1\n"
        f"SecurityDatabase = {root / 'security.fdb'}\n"
        f"DatabaseAccess = Restrict {root / 'databases'}\n"
        "WireCrypt = Required\n"
        "AuthServer = Srp256, Srp\n"
        "UserManager = Srp\n" + settings
    )


def _create_security_database(root: Path, password: str) -> None:
    """The security database, created with isql-fb embedded, holding SYSDBA's Srp verifier."""
    script = (
        f"CREATE DATABASE '{root / 'security.fdb'}';\n"
        f"CREATE USER {USER} PASSWORD '{password}' USING PLUGIN Srp;\n"
        "COMMIT;\n"
    )
    result = subprocess.run(
        [ISQL, "-q", "-user", USER],
        input=script,
        env=_environment(root),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or result.stderr.strip():
        raise RuntimeError(f"creating the security database failed: {result.stderr.strip()}")


def _environment(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FIREBIRD": str(root),
        "FIREBIRD_LOCK": str(root / "lock"),
        "FIREBIRD_TMP": str(root / "tmp"),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(server: PrivateFirebird) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = (server.root / "server.out").read_text(errors="replace")
            raise RuntimeError(f"the Firebird server exited at start: {output.strip()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the Firebird server did not listen on port {server.port}")
