"""Resource limits (issue 12 item 3) on a real `ixidir serve`, over real sockets: each limit is
refused with its RFC result code or a Notice of Disconnection, as the README says."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from ldap3 import Connection, Server
from server import wire

from integration.conftest import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    init_data_dir,
    start_server,
    stop_server,
)
from ixidir.errors import ResultCode
from ixidir.server.messages import ExtendedResult, Result

NOTICE = "1.3.6.1.4.1.1466.20036"
IDLE_TIMEOUT = 3
LIMITS = f"""
max_connections = 6
idle_timeout = {IDLE_TIMEOUT}
max_pending_requests = 8
anonymous_max_pdu_size = 4096
size_limit = 3
anonymous_read = true
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    init_data_dir(data_dir)
    path = data_dir / "ixidir.toml"
    text = re.sub(r"(?m)^anonymous_read = .*$", "", path.read_text())  # set again below
    path.write_text(text + LIMITS)
    # One worker: max_connections is counted per server process, and with two the kernel
    # spreads the test's connections over both.
    running = start_server(data_dir, workers=1)
    yield running
    stop_server(running)


def _connect(server: RunningServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


def _read_until_closed(sock: socket.socket) -> list[wire.Decoded]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return wire.decode_responses(data)


def _notice(replies: list[wire.Decoded]) -> ExtendedResult:
    message_id, notice, _ = replies[-1]
    assert message_id == 0
    assert isinstance(notice, ExtendedResult)
    assert notice.name == NOTICE
    return notice


def test_a_connection_beyond_max_connections_gets_busy(server: RunningServer) -> None:
    held = [_connect(server) for _ in range(6)]
    try:
        for sock in held:  # each is served (and so counted) before the next is tried
            sock.sendall(wire.search(1, "", scope=0))
            assert sock.recv(65536)
        extra = _connect(server)
        notice = _notice(_read_until_closed(extra))
        assert notice.code == ResultCode.BUSY
        assert "max_connections" in notice.message
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the server sees the closes, and accepts again
        done = server.ldap("ldapsearch", "-LLL", "-b", "", "-s", "base", "1.1")
        if done.returncode == 0:
            break
        time.sleep(0.2)
    assert done.returncode == 0


def test_an_idle_connection_gets_a_notice_of_disconnection(server: RunningServer) -> None:
    sock = _connect(server)
    started = time.monotonic()
    notice = _notice(_read_until_closed(sock))
    assert notice.code == ResultCode.UNAVAILABLE
    assert time.monotonic() - started >= IDLE_TIMEOUT - 0.5


def test_an_anonymous_request_above_its_pdu_size_is_refused(server: RunningServer) -> None:
    big = f"(description={'x' * 8000})"
    sock = _connect(server)
    sock.sendall(wire.search(1, BASE_DN, big))
    notice = _notice(_read_until_closed(sock))
    assert notice.code == ResultCode.PROTOCOL_ERROR
    # The same request after a bind is within the bound limit (max_pdu_size, 4 MiB).
    bound = Connection(
        Server(server.url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, receive_timeout=10
    )
    assert bound.search(BASE_DN, big) is False
    assert bound.result["result"] == ResultCode.SUCCESS
    bound.unbind()


def test_pipelining_beyond_max_pending_requests_is_slowed_not_refused(
    server: RunningServer,
) -> None:
    sock = _connect(server)
    sock.sendall(b"".join(wire.search(i, "", scope=0) for i in range(1, 201)))
    replies: list[wire.Decoded] = []
    data = b""
    while sum(1 for _, r, _ in replies if isinstance(r, Result)) < 200:
        data += sock.recv(65536)
        replies = wire.decode_responses(data)
    sock.close()
    done = [(mid, r.code) for mid, r, _ in replies if isinstance(r, Result)]
    assert done == [(mid, ResultCode.SUCCESS) for mid in range(1, 201)]


def test_the_size_limit_holds_for_anonymous_but_not_for_the_administrator(
    server: RunningServer,
) -> None:
    anonymous = server.ldap(
        "ldapsearch", "-LLL", "-b", BASE_DN, "(objectClass=*)", "1.1", bind=False
    )
    assert anonymous.returncode == ResultCode.SIZE_LIMIT_EXCEEDED
    assert anonymous.stdout.count("dn: ") == 3
    admin = server.ldap("ldapsearch", "-LLL", "-b", BASE_DN, "(objectClass=*)", "1.1")
    assert admin.returncode == 0
    assert admin.stdout.count("dn: ") > 3
