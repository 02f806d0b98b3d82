"""TLS with real clients: StartTLS and LDAPS against the certificate `ixidir init` makes."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from server import wire

from .conftest import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)
from .test_workers import worker_pids

_LDAPS = re.compile(r"listening on ldaps://127\.0\.0\.1:(\d+)")
START_TLS = "1.3.6.1.4.1.1466.20037"


class TLSServer:
    """A running server with LDAP and LDAPS ports and the CA file clients trust."""

    def __init__(self, running: RunningServer) -> None:
        assert running.process.stdout is not None
        match = _LDAPS.search(running.process.stdout.readline())
        assert match is not None, "no 'listening on ldaps://' line after the LDAP one"
        self.running = running
        self.ldaps_port = int(match[1])
        self.ca = running.data_dir / "tls" / "certificate.pem"

    def tool(
        self, *args: str, url: str, ca: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, LDAPTLS_CACERT=str(ca or self.ca), LDAPTLS_REQCERT="demand")
        command = ["ldapsearch", "-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, *args]
        return subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=60, check=False
        )


def start_tls_server(data_dir: Path, *extra: str) -> TLSServer:
    return TLSServer(start_server(data_dir, "--listen-ldaps", "127.0.0.1:0", *extra))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    data_dir = tmp_path_factory.mktemp("tls") / "data"
    init_data_dir(data_dir)
    running = start_tls_server(data_dir)
    yield running
    stop_server(running.running)


def test_ldapsearch_with_start_tls(server: TLSServer) -> None:
    done = server.tool(
        "-ZZ", "-b", BASE_DN, "-LLL", "(uid=jmueller)", "mail", url=server.running.url
    )
    assert done.returncode == 0, done.stderr
    assert "mail: juergen.mueller@example.com" in done.stdout


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_ldapsearch_over_ldaps(server: TLSServer, host: str) -> None:
    url = f"ldaps://{host}:{server.ldaps_port}"
    done = server.tool("-b", BASE_DN, "-LLL", "(uid=jmueller)", "mail", url=url)
    assert done.returncode == 0, done.stderr
    assert "mail: juergen.mueller@example.com" in done.stdout


def test_ldap3_over_ldaps_and_start_tls(server: TLSServer) -> None:
    tls = ldap3.Tls(ca_certs_file=str(server.ca), validate=ssl.CERT_REQUIRED)
    ldaps = ldap3.Server("127.0.0.1", port=server.ldaps_port, use_ssl=True, tls=tls)
    with ldap3.Connection(ldaps, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True) as connection:
        assert connection.extend.standard.who_am_i() == f"dn:{ADMIN_DN}"
    plain = ldap3.Server("127.0.0.1", port=server.running.port, tls=tls)
    connection = ldap3.Connection(plain, ADMIN_DN, ADMIN_PASSWORD)
    connection.open()
    assert connection.start_tls()
    assert connection.bind()
    assert connection.extend.standard.who_am_i() == f"dn:{ADMIN_DN}"
    connection.unbind()


def test_tls_1_1_is_refused_by_the_server(server: TLSServer) -> None:
    def handshake(version: ssl.TLSVersion) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(server.ca)
        context.minimum_version = context.maximum_version = version
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that our side would speak TLS 1.1
        with (
            socket.create_connection(("127.0.0.1", server.ldaps_port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            pass

    handshake(ssl.TLSVersion.TLSv1_2)
    with pytest.raises(ssl.SSLError, match="alert protocol version"):  # the server's answer
        handshake(ssl.TLSVersion.TLSv1_1)


def test_start_tls_twice_is_an_operations_error(server: TLSServer) -> None:
    context = ssl.create_default_context(cafile=str(server.ca))
    with socket.create_connection(("127.0.0.1", server.running.port), timeout=10) as raw:
        raw.sendall(start_tls_request(1))
        assert result_code(raw.recv(4096)) == 0
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as secure:
            secure.sendall(start_tls_request(2))
            assert result_code(secure.recv(4096)) == 1  # operationsError, RFC 4511 §4.14.2


def test_start_tls_while_another_operation_is_outstanding_is_an_operations_error(
    server: TLSServer,
) -> None:
    """RFC 4511 §4.14.1: a bind whose password is still being hashed is outstanding when the
    StartTLS behind it arrives; the StartTLS fails and the connection stays in clear text."""
    with socket.create_connection(("127.0.0.1", server.running.port), timeout=10) as raw:
        raw.sendall(wire.bind(1, ADMIN_DN, "not the password") + start_tls_request(2))
        data = b""
        while len(messages := split_messages(data)) < 2:
            chunk = raw.recv(4096)
            assert chunk, "the server closed the connection"
            data += chunk
        bind, started = messages
        assert bind[5] == 0x61  # the BindResponse comes first, in clear text
        assert result_code(started) == 1  # operationsError
        raw.sendall(start_tls_request(3))  # nothing outstanding now: TLS starts
        assert result_code(raw.recv(4096)) == 0


def split_messages(data: bytes) -> list[bytes]:
    """The complete BER messages at the start of `data` (short or long form lengths)."""
    found = []
    while len(data) >= 2:
        size, header = data[1], 2
        if size & 0x80:
            header = 2 + (size & 0x7F)
            size = int.from_bytes(data[2:header], "big")
        if len(data) < header + size:
            break
        found.append(data[: header + size])
        data = data[header + size :]
    return found


def test_a_password_bind_from_this_machine_needs_no_tls(server: TLSServer) -> None:
    # `ixidir init` writes simple_bind_tls = "off-host"; loopback clients may bind in clear.
    assert 'simple_bind_tls = "off-host"' in (server.running.data_dir / "ixidir.toml").read_text()
    done = server.running.ldap("ldapsearch", "-b", "", "-s", "base")
    assert done.returncode == 0, done.stderr


def start_tls_request(message_id: int) -> bytes:
    """LDAPMessage { messageID, ExtendedRequest { requestName [0] StartTLS OID } }."""
    oid = START_TLS.encode("ascii")
    request = b"\x77" + bytes([len(oid) + 2]) + b"\x80" + bytes([len(oid)]) + oid
    body = b"\x02\x01" + bytes([message_id]) + request
    return b"\x30" + bytes([len(body)]) + body


def result_code(response: bytes) -> int:
    """The resultCode of a short ExtendedResponse: 30 LL 02 01 ID 78 LL 0A 01 CODE ..."""
    assert (response[0], response[5]) == (0x30, 0x78)
    assert response[7:9] == b"\x0a\x01"
    return response[9]


def data_dir_with(tmp_path: Path, old: str, new: str) -> Path:
    """A new data directory whose ixidir.toml has `old` replaced by `new`."""
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    toml = data_dir / "ixidir.toml"
    assert old in toml.read_text()
    toml.write_text(toml.read_text().replace(old, new))
    return data_dir


def test_always_refuses_clear_text_password_binds_even_from_this_machine(
    tmp_path: Path,
) -> None:
    running = start_tls_server(data_dir_with(tmp_path, '"off-host"', '"always"'))
    try:
        clear = running.running.ldap("ldapsearch", "-b", "", "-s", "base")
        assert clear.returncode == 13, clear.stderr  # confidentialityRequired
        assert "Confidentiality required" in clear.stderr
        secure = running.tool("-ZZ", "-b", "", "-s", "base", url=running.running.url)
        assert secure.returncode == 0, secure.stderr
    finally:
        stop_server(running.running)


def test_a_data_directory_from_before_tls_keeps_clear_text_binds_and_says_so(
    tmp_path: Path,
) -> None:
    data_dir = data_dir_with(tmp_path, 'simple_bind_tls = "off-host"\n', "")
    for _ in range(2):  # at every start
        running = start_server(data_dir)
        try:
            assert "simple_bind_tls is not set" in running.startup_log
            assert running.ldap("ldapsearch", "-b", "", "-s", "base").returncode == 0
        finally:
            stop_server(running)


def test_init_without_a_certificate_leaves_tls_off(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    password = tmp_path / "password"
    password.write_text(ADMIN_PASSWORD)
    ixidir(
        data_dir, "init", "--base-dn", BASE_DN, "--admin-password-file", str(password),
        "--no-certificate",
    )  # fmt: skip
    assert not (data_dir / "tls").exists()
    shown = ixidir(data_dir, "cert", "show", check=False)
    assert shown.returncode == 2
    assert "ixidir cert create" in shown.stderr
    refused = ixidir(data_dir, "serve", "--listen-ldaps", "127.0.0.1:0", check=False)
    assert refused.returncode == 2
    assert "LDAPS needs a certificate" in refused.stderr


def serving_pid(client: socket.socket, pids: list[int]) -> int:
    """Which of `pids` holds the server side of `client`'s connection (from /proc)."""
    server_port, client_port = client.getpeername()[1], client.getsockname()[1]
    wanted = f":{server_port:04X} 0100007F:{client_port:04X} "
    lines = Path("/proc/net/tcp").read_text().splitlines()
    inode = next(line.split()[9] for line in lines if wanted in line)
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no process holds socket inode {inode}")


def test_every_worker_serves_ldaps_and_takes_a_new_certificate_on_sighup(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    running = start_tls_server(data_dir, "--workers", "2")
    try:
        pids = [running.running.process.pid, *worker_pids(running.running.process.pid)]
        assert len(pids) == 2
        seen = {pid: 0 for pid in pids}
        for _ in range(16):
            with tls_connection(running, running.ca, "127.0.0.1") as client:
                seen[serving_pid(client, pids)] += 1
        assert all(seen.values()), seen  # the kernel spread the connections over both

        renewed = ixidir(data_dir, "cert", "create", "--hostname", "ldap.example.test")
        assert "ldap.example.test" in renewed.stdout
        os.kill(running.running.process.pid, signal.SIGHUP)  # forwarded to the worker
        time.sleep(2)
        served: dict[int, set[bytes]] = {pid: set() for pid in pids}
        for _ in range(16):
            with tls_connection(running, running.ca, "ldap.example.test") as client:
                der = client.getpeercert(binary_form=True)
                assert der is not None
                served[serving_pid(client, pids)].add(der)
        new = ssl.PEM_cert_to_DER_cert(running.ca.read_text())
        assert served == {pid: {new} for pid in pids}, "a worker still serves the old one"

        # The new certificate names only ldap.example.test: a client that connects to
        # 127.0.0.1 refuses it (RFC 6125), ldapsearch as well as Python's ssl.
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            tls_connection(running, running.ca, "127.0.0.1").close()
        url = f"ldaps://127.0.0.1:{running.ldaps_port}"
        refused = running.tool("-b", "", "-s", "base", url=url)
        assert refused.returncode != 0
    finally:
        stop_server(running.running)


def tls_connection(server: TLSServer, ca: Path, name: str) -> ssl.SSLSocket:
    """A verified TLS connection to the LDAPS port, checking the certificate for `name`."""
    context = ssl.create_default_context(cafile=str(ca))
    raw = socket.create_connection(("127.0.0.1", server.ldaps_port), timeout=10)
    try:
        return context.wrap_socket(raw, server_hostname=name)
    except BaseException:
        raw.close()
        raise


def test_cert_show_prints_subject_names_fingerprint_and_expiry(server: TLSServer) -> None:
    shown = ixidir(server.running.data_dir, "cert", "show").stdout
    fields = dict(line.split(":", 1) for line in shown.splitlines())
    assert "127.0.0.1" in fields["names"]
    assert "localhost" in fields["names"]
    assert fields["subject"].strip().startswith("CN=")
    assert re.fullmatch(r" +([0-9A-F]{2}:){31}[0-9A-F]{2}", fields["SHA-256"])
    assert "(825 days left)" in fields["expires"]
