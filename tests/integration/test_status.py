"""`ixidir status` against a real server and database: 0 and one line when both answer, 1 and
a line naming what failed when the server is down or the database cannot be reached."""

from __future__ import annotations

import re
import socket
from datetime import datetime
from pathlib import Path

from cryptography import x509

from .conftest import RunningServer, init_data_dir, ixidir

SUMMARY = re.compile(
    r"ok: serving on (?P<where>\S+); (?P<entries>\d+) entries; changelog at (?P<sequence>\d+); "
    r"(?P<workers>\d+) workers; certificate expires (?P<expires>\d{4}-\d\d-\d\d)"
)


def status(server: RunningServer) -> tuple[int, str, str]:
    done = ixidir(server.data_dir, "status", "--address", f"{server.host}:{server.port}",
                  check=False)  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_status_summarizes_a_running_node_in_one_line(server: RunningServer) -> None:
    code, out, err = status(server)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    found = SUMMARY.fullmatch(out.strip())
    assert found is not None, out
    assert found["where"] == f"{server.host}:{server.port}"
    exported = ixidir(server.data_dir, "export").stdout
    assert int(found["entries"]) == sum(line.startswith("dn:") for line in exported.splitlines())
    assert found["workers"] == "2"  # the default, both running
    pem = (server.data_dir / "tls" / "certificate.pem").read_bytes()
    expires = x509.load_pem_x509_certificate(pem).not_valid_after_utc
    assert datetime.strptime(found["expires"], "%Y-%m-%d").date() == expires.date()
    # A write moves the changelog position it shows.
    dn = "uid=jmueller,ou=people,dc=example,dc=com"
    server.ldap("ldapmodify", stdin=f"dn: {dn}\nchangetype: modify\nreplace: l\nl: Dachau\n",
                check=True)  # fmt: skip
    code, out, _ = status(server)
    moved = SUMMARY.fullmatch(out.strip())
    assert code == 0
    assert moved is not None
    assert int(moved["sequence"]) == int(found["sequence"]) + 1


def test_status_fails_when_the_database_cannot_be_reached(server: RunningServer) -> None:
    config = server.data_dir / "ixidir.toml"
    original = config.read_text()
    nothing_listens = _free_port()
    config.write_text(original + f'\nstorage_dsn = "127.0.0.1/{nothing_listens}:/nowhere.fdb"\n')
    try:
        code, out, err = status(server)
    finally:
        config.write_text(original)
    assert (code, out) == (1, "")
    assert err.startswith("ixidir status: the database cannot be read"), err
    assert "server does not answer" not in err  # the server itself still answers


def test_status_fails_when_the_server_is_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    port = _free_port()
    done = ixidir(data_dir, "status", "--address", f"127.0.0.1:{port}", check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"ixidir status: the server does not answer on 127.0.0.1:{port}: "
        "connection refused (is `ixidir serve` running?)\n"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
