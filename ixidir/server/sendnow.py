"""Send replies straight to the socket when Twisted holds nothing unsent for it.

Measured on a 1-connection, 1-in-flight routing load: `transport.write` only buffers, so every
answer costs a second reactor turn (epoll_ctl to ask for writability, epoll_wait, doWrite,
epoll_ctl again), about as much Python as the search itself. For a plain TCP server
transport whose send buffer is empty, a direct `send` does the same thing at once; whatever
the kernel does not take goes to `transport.write`, so ordering, flow control and producer
pausing stay Twisted's. TLS transports (LDAPS, and a connection once StartTLS began: the
protocol also stops sending directly before it calls startTLS) and test transports always go
through `transport.write`.

This reads FileDescriptor's buffer fields (`dataBuffer`, `offset`, `_tempDataLen`,
`_writeDisconnected`), which are not public API. So `direct_socket` accepts only the exact
`tcp.Server` class it was written for, and only on the Twisted releases it was checked
against (`TWISTED_CHECKED`); on any other, every reply goes through `transport.write`.
"""

from __future__ import annotations

import socket

import twisted
from twisted.internet import tcp

from ixidir.server.interfaces import Transport

# Twisted releases whose FileDescriptor keeps the fields `_idle` reads (checked up to 26.10;
# raise the bound after reading abstract.FileDescriptor.write/doWrite of a newer release).
TWISTED_CHECKED = ((23, 10), (27, 0))


def is_checked_twisted(major: int, minor: int) -> bool:
    low, high = TWISTED_CHECKED
    return low <= (major, minor) < high


def _installed() -> tuple[int, int]:
    major, minor = twisted.__version__.split(".")[:2]
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (0, 0)


_USABLE = is_checked_twisted(*_installed())


def direct_socket(transport: object) -> socket.socket | None:
    """The socket to send on directly, for a plain TCP server connection on a checked Twisted
    release; None otherwise (then replies go through `transport.write`)."""
    if not _USABLE or type(transport) is not tcp.Server or transport.TLS:
        return None  # LDAPS wraps the connection in another transport; StartTLS sets TLS
    handle = transport.getHandle()
    return handle if isinstance(handle, socket.socket) else None


def send_now(transport: Transport, sock: socket.socket, data: bytes) -> None:
    """Write `data`: at once when nothing is waiting before it, the rest through Twisted."""
    if not _idle(transport):
        transport.write(data)
        return
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        transport.write(data)  # Twisted sees the same error on its own write and closes
        return
    if sent < len(data):
        transport.write(data[sent:])


def _idle(transport: object) -> bool:
    """Twisted has no unsent bytes and the connection is open for writing."""
    if type(transport) is not tcp.Server:
        return False
    server: tcp.Server = transport
    return bool(
        server.connected
        and not server.TLS
        and not server.disconnecting
        and not server._writeDisconnected  # private fields: see the module docstring
        and server._tempDataLen == 0
        and server.offset == len(server.dataBuffer)
    )
