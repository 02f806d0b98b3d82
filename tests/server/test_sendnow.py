"""Direct sends: at once while Twisted holds nothing, in order behind anything it holds."""

from __future__ import annotations

import socket
from typing import cast

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.testing import StringTransport

from ixidir.server.interfaces import Transport
from ixidir.server.listen import bound_addresses, listen
from ixidir.server.sendnow import direct_socket, is_checked_twisted, send_now


class Held(Protocol):
    """Keeps the server side of the connection for the test."""

    connections: list[Held] = []

    def connectionMade(self) -> None:
        Held.connections.append(self)


def serve_one(reactor: SelectReactor) -> tuple[Held, socket.socket, object]:
    Held.connections = []
    (port,) = listen(reactor, Factory.forProtocol(Held), ["127.0.0.1:0"])
    client = socket.create_connection(bound_addresses([port])[0], timeout=5)
    while not Held.connections:
        reactor.iterate(0.01)
    return Held.connections[0], client, port


def receive(reactor: SelectReactor, client: socket.socket, size: int) -> bytes:
    client.setblocking(False)
    got = bytearray()
    while len(got) < size:
        reactor.iterate(0.001)
        try:
            got += client.recv(1 << 20)
        except BlockingIOError:
            continue
    return bytes(got)


def test_what_the_kernel_does_not_take_follows_through_twisted_in_order() -> None:
    reactor = SelectReactor()
    server, client, port = serve_one(reactor)
    try:
        out = cast(Transport, server.transport)
        sock = direct_socket(server.transport)
        assert sock is not None
        big = bytes(range(256)) * (64 * 1024)  # 16 MiB: more than the socket buffers hold
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) < len(big) // 2
        send_now(out, sock, b"first")
        send_now(out, sock, big)
        send_now(out, sock, b"last")  # must queue behind what Twisted still holds
        assert receive(reactor, client, 9 + len(big)) == b"first" + big + b"last"
    finally:
        client.close()
        port.stopListening()  # type: ignore[attr-defined]


def test_only_plain_tcp_server_transports_are_written_directly() -> None:
    assert direct_socket(StringTransport()) is None  # type: ignore[no-untyped-call]


def test_direct_sends_are_limited_to_the_twisted_releases_checked() -> None:
    """Twisted's private buffer fields may change: other releases only use transport.write."""
    assert is_checked_twisted(26, 10)
    assert not is_checked_twisted(27, 0)
    assert not is_checked_twisted(22, 10)
