"""Binding the server to `HOST:PORT` addresses (`[::1]:389` for IPv6, port 0 for any free port)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any, Protocol

from twisted.internet.protocol import Factory

from ixidir.server.tls import ServerTLS, ldaps_factory


class ListeningPort(Protocol):
    def getHost(self) -> Any: ...  # noqa: N802 (Twisted's name)

    def stopListening(self) -> object: ...  # noqa: N802


class TCPReactor(Protocol):
    """The part of IReactorTCP that `listen` calls (LDAPS too: TLS wraps the factory)."""

    def listenTCP(  # noqa: N802
        self, port: int, factory: Factory, backlog: int = 50, interface: str = ""
    ) -> ListeningPort: ...


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPV6]:PORT` into (host, port); ValueError names what is wrong."""
    host, separator, port_text = text.rpartition(":")
    if not separator or not host or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"write IPv6 addresses in brackets, as [::1]:389, got {text!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port out of range in {text!r}")
    return host, port


def format_address(host: str, port: int) -> str:
    """The inverse of `parse_address`, for `listening on HOST:PORT` lines."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(
    reactor: TCPReactor,
    factory: Factory,
    endpoints: Sequence[str],
    *,
    tls: ServerTLS | None = None,
    reuse_port: bool = False,
) -> list[ListeningPort]:
    """Listen on every address (all or none: on failure the ports opened so far are closed).

    With `reuse_port` several server processes listen on the same address (SO_REUSEPORT: the
    kernel spreads connections over them).

    With `tls` the ports speak LDAPS: TLS from the first byte, as `listenSSL` would do it, but
    on plain TCP ports, so SO_REUSEPORT works for LDAPS too.
    """
    addresses = [parse_address(text) for text in endpoints]
    if tls is not None:
        factory = ldaps_factory(tls, factory)
    ports: list[ListeningPort] = []
    try:
        for host, port in addresses:
            if reuse_port:
                ports.append(_listen_reusing(reactor, factory, host, port))
            else:
                ports.append(reactor.listenTCP(port, factory, interface=host))
    except BaseException:
        for opened in ports:
            opened.stopListening()
        raise
    return ports


def reserve_port(host: str, port: int) -> socket.socket:
    """A bound, not listening, SO_REUSEPORT socket: holds the port (0 = pick one) while the
    server processes that will share it start; the kernel gives connections only to
    listening sockets."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _listen_reusing(reactor: Any, factory: Factory, host: str, port: int) -> ListeningPort:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with reserve_port(host, port) as sock:
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
        # The reactor takes a duplicate of the descriptor; ours closes with the with-block.
        adopted: ListeningPort = reactor.adoptStreamPort(sock.fileno(), family, factory)
    return adopted


def bound_addresses(ports: Sequence[ListeningPort]) -> list[tuple[str, int]]:
    """The (host, port) each port really listens on (the real port where 0 was asked)."""
    return [(port.getHost().host, port.getHost().port) for port in ports]
