"""TLS at the protocol: simple_bind_tls by the peer's address, LDAPS connections, StartTLS."""

from __future__ import annotations

from typing import Any, cast

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, Logger
from zope.interface import directlyProvides  # type: ignore[import-untyped]

from ixidir.errors import ResultCode
from ixidir.server.confidentiality import SimpleBindTLS
from ixidir.server.messages import ExtendedResult, Result
from ixidir.server.protocol import LDAPServerFactory, LDAPServerProtocol

from . import wire
from .fake_directory import ADMIN, FakeDirectory
from .test_protocol import START_TLS, TLSRecordingTransport

OFF_HOST = IPv4Address("TCP", "192.0.2.10", 50000)  # TEST-NET-1: some other machine
LOOPBACK = IPv4Address("TCP", "127.0.0.1", 50000)


class Peer(TLSRecordingTransport):
    """A transport whose client sits at `address`."""

    def __init__(self, address: IPv4Address | IPv6Address, *, ldaps: bool = False) -> None:
        super().__init__()
        self.peerAddr = address
        if ldaps:  # what a connection on the LDAPS port provides (TLSMemoryBIOProtocol)
            directlyProvides(self, ISSLTransport)


def connect(
    transport: Peer, policy: SimpleBindTLS, *, tls: object | None = None
) -> LDAPServerProtocol:
    events: list[dict[str, Any]] = []
    factory = LDAPServerFactory(
        FakeDirectory(),
        reactor=Clock(),
        log=Logger(observer=cast(ILogObserver, events.append)),
        simple_bind_tls=policy,
        tls=tls,
    )
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(transport)  # type: ignore[no-untyped-call]
    return protocol


def codes(transport: Peer, protocol: LDAPServerProtocol, *pdus: bytes) -> list[ResultCode]:
    transport.reset()
    protocol.dataReceived(b"".join(pdus))
    replies = wire.decode_responses(transport.written())
    return [r.code for _, r, _ in replies if isinstance(r, Result | ExtendedResult)]


@pytest.mark.parametrize(
    ("policy", "peer", "expected"),
    [
        (SimpleBindTLS.OFF_HOST, OFF_HOST, ResultCode.CONFIDENTIALITY_REQUIRED),
        (SimpleBindTLS.OFF_HOST, LOOPBACK, ResultCode.SUCCESS),
        (SimpleBindTLS.OFF_HOST, IPv6Address("TCP", "::1", 50000), ResultCode.SUCCESS),
        (SimpleBindTLS.ALWAYS, LOOPBACK, ResultCode.CONFIDENTIALITY_REQUIRED),
        (SimpleBindTLS.NEVER, OFF_HOST, ResultCode.SUCCESS),
    ],
)
def test_password_bind_in_clear_text_follows_simple_bind_tls(
    policy: SimpleBindTLS, peer: IPv4Address | IPv6Address, expected: ResultCode
) -> None:
    transport = Peer(peer)
    protocol = connect(transport, policy)
    assert codes(transport, protocol, wire.bind(1, ADMIN, "secret")) == [expected]


def test_an_anonymous_bind_needs_no_tls() -> None:
    transport = Peer(OFF_HOST)
    protocol = connect(transport, SimpleBindTLS.ALWAYS)
    anonymous = bytes.fromhex("300c020101600702010304008000")  # version 3, name "", simple ""
    assert codes(transport, protocol, anonymous) == [ResultCode.SUCCESS]


def test_password_bind_after_start_tls_is_accepted_from_another_host() -> None:
    transport = Peer(OFF_HOST)
    protocol = connect(transport, SimpleBindTLS.OFF_HOST, tls=object())
    assert codes(transport, protocol, wire.extended(1, START_TLS)) == [ResultCode.SUCCESS]
    assert transport.tls_started_after is not None
    assert codes(transport, protocol, wire.bind(2, ADMIN, "secret")) == [ResultCode.SUCCESS]


def test_an_ldaps_connection_is_encrypted_from_the_start() -> None:
    transport = Peer(OFF_HOST, ldaps=True)
    protocol = connect(transport, SimpleBindTLS.ALWAYS, tls=object())
    assert codes(transport, protocol, wire.bind(1, ADMIN, "secret")) == [ResultCode.SUCCESS]
    # RFC 4511 §4.14.2: TLS is already established.
    assert codes(transport, protocol, wire.extended(2, START_TLS)) == [ResultCode.OPERATIONS_ERROR]
