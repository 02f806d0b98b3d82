"""Connection limits (issue 12 item 3): counting, idle connections, and what the protocol sends."""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock

from ixidir.errors import ResultCode
from ixidir.server.admission import Admission, ConnectionLimits, IdleTimer, is_loopback
from ixidir.server.messages import ExtendedResult, Result, ResultKind

from . import wire
from .fake_directory import BASE, FakeDirectory
from .test_protocol import Connection, closing_notice


def test_loopback_addresses_are_recognized() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.9.10")
    assert is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("192.0.2.7")
    assert not is_loopback("2001:db8::1")
    assert not is_loopback("not an address")


def test_max_connections_refuses_the_one_too_many_until_one_closes() -> None:
    admission = Admission(max_connections=2)
    assert admission.admit("192.0.2.1") is None
    assert admission.admit("127.0.0.1") is None
    refusal = admission.admit("192.0.2.2")
    assert refusal is not None
    assert "max_connections 2" in refusal.message
    admission.release("192.0.2.1")
    assert admission.admit("192.0.2.2") is None


def test_per_address_limit_counts_each_address_and_spares_loopback() -> None:
    """The Messaging Connector runs on the server's machine with many connections."""
    admission = Admission(max_per_address=2)
    assert admission.admit("192.0.2.1") is None
    assert admission.admit("192.0.2.1") is None
    refusal = admission.admit("192.0.2.1")
    assert refusal is not None
    assert "192.0.2.1" in refusal.message
    assert admission.admit("192.0.2.2") is None
    assert all(admission.admit("127.0.0.1") is None for _ in range(10))
    admission.release("192.0.2.1")
    assert admission.admit("192.0.2.1") is None
    assert admission.open == 13


def test_idle_timer_fires_only_after_the_whole_timeout_without_activity() -> None:
    clock = Clock()
    expired: list[bool] = []
    timer = IdleTimer(clock, 10, expire=lambda: expired.append(True), is_busy=lambda: False)
    clock.advance(6)
    timer.touch()
    clock.advance(6)
    assert not expired
    clock.advance(4)
    assert expired == [True]


def test_idle_timer_spares_a_connection_that_still_owes_replies() -> None:
    clock = Clock()
    expired: list[bool] = []
    busy = [True]
    IdleTimer(clock, 10, expire=lambda: expired.append(True), is_busy=lambda: busy[0])
    clock.advance(25)
    assert not expired
    busy[0] = False
    clock.advance(10)
    assert expired == [True]


def test_a_connection_beyond_max_connections_gets_busy_and_is_closed() -> None:
    directory = FakeDirectory()
    first = Connection(directory, limits=ConnectionLimits(max_connections=1))
    factory = first.factory
    second = factory.buildProtocol(None)
    transport = type(first.transport)()
    second.makeConnection(transport)  # type: ignore[no-untyped-call]
    replies = wire.decode_responses(transport.written())
    assert [(mid, r.code) for mid, r, _ in replies if isinstance(r, ExtendedResult)] == [
        (0, ResultCode.BUSY)
    ]
    assert transport.disconnecting
    second.connectionLost()
    assert factory.admission.open == 1  # the refused one was never counted
    first.protocol.connectionLost()
    assert factory.admission.open == 0


def test_the_per_address_limit_applies_to_connections_from_elsewhere() -> None:
    """StringTransport's peer is 192.168.1.1 (not loopback)."""
    limits = ConnectionLimits(max_connections_per_address=1)
    first = Connection(FakeDirectory(), limits=limits)
    peer = first.transport.getPeer()  # type: ignore[no-untyped-call]
    assert peer == IPv4Address("TCP", "192.168.1.1", 54321)
    second = first.factory.buildProtocol(None)
    transport = type(first.transport)()
    second.makeConnection(transport)  # type: ignore[no-untyped-call]
    notice = wire.decode_responses(transport.written())[0][1]
    assert isinstance(notice, ExtendedResult)
    assert notice.code == ResultCode.BUSY
    assert "192.168.1.1" in notice.message


def test_an_idle_connection_gets_a_notice_of_disconnection() -> None:
    connection = Connection(FakeDirectory(), limits=ConnectionLimits(idle_timeout=60))
    connection.clock.advance(30)
    connection.protocol.dataReceived(wire.search(1, BASE))  # (send() waits for every timer)
    connection.clock.advance(0)
    assert len(wire.decode_responses(connection.transport.written())) == 5
    connection.transport.reset()
    connection.clock.advance(59)  # 89 s: 59 s after the search
    assert not connection.transport.disconnecting
    connection.clock.advance(2)
    notice = closing_notice(connection)
    assert notice.code == ResultCode.UNAVAILABLE
    assert "idle_timeout" in notice.message


def test_without_idle_timeout_a_connection_stays_open() -> None:
    connection = Connection(FakeDirectory(), limits=ConnectionLimits(idle_timeout=0))
    connection.clock.advance(10**6)
    assert not connection.transport.disconnecting


def test_anonymous_requests_are_limited_to_the_smaller_pdu_size_until_a_bind() -> None:
    limits = ConnectionLimits(anonymous_max_pdu_size=1024)
    big = wire.add(2, f"uid=big,{BASE}", {"objectClass": ["person"], "description": ["x" * 2000]})
    anonymous = Connection(FakeDirectory(), limits=limits, max_pdu_size=64 * 1024)
    anonymous.send(big)
    notice = closing_notice(anonymous)
    assert notice.code == ResultCode.PROTOCOL_ERROR
    bound = Connection(FakeDirectory(), limits=limits, max_pdu_size=64 * 1024)
    bound.bind_admin()
    replies = bound.send(big)
    assert [r for _, r, _ in replies] == [Result(ResultKind.ADD, ResultCode.SUCCESS)]


def test_a_client_pipelining_beyond_max_pending_requests_stops_being_read() -> None:
    """Back-pressure: the requests beyond the limit wait in the client's socket buffer, and
    every one is answered, in order, once the queue drains."""
    connection = Connection(FakeDirectory(), limits=ConnectionLimits(max_pending_requests=4))
    connection.protocol.pauseProducing()
    compares = [wire.compare(i, f"uid=user0,{BASE}", "uid", "user0") for i in range(1, 11)]
    connection.send(*compares)
    assert connection.transport.producerState == "paused"
    assert len(connection.protocol._work) == 4
    connection.protocol.resumeProducing()
    connection.drain()
    replies = wire.decode_responses(connection.transport.written())
    assert [mid for mid, _, _ in replies] == list(range(1, 11))
