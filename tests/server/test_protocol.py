"""The Twisted protocol, bytes in and bytes out over a StringTransport with a fake clock."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import ILogObserver, Logger

from ixidir.directory.requests import SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.facade import Directory
from ixidir.server.messages import ExtendedResult, Result, ResultKind
from ixidir.server.protocol import TURN_BYTES, LDAPServerFactory, LDAPServerProtocol

from . import wire
from .fake_directory import ADMIN, BASE, BOOM_DN, LEAKY_SECRET, FakeDirectory

NOTICE = "1.3.6.1.4.1.1466.20036"
WHO_AM_I = "1.3.6.1.4.1.4203.1.11.3"
PASSWORD_MODIFY = "1.3.6.1.4.1.4203.1.11.1"
START_TLS = "1.3.6.1.4.1.1466.20037"
D = TypeVar("D", bound=Directory)


class TLSRecordingTransport(StringTransport):
    """StringTransport plus ITLSTransport.startTLS, recording what was written before it."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.tls_started_after: bytes | None = None

    def startTLS(self, context: object) -> None:  # noqa: N802
        self.tls_started_after = self.written()

    def written(self) -> bytes:
        data: bytes = self.value()  # type: ignore[no-untyped-call]
        return data

    def reset(self) -> None:
        self.clear()  # type: ignore[no-untyped-call]


class Connection(Generic[D]):
    """A protocol on a StringTransport, driven by a fake clock, in front of `directory`."""

    def __init__(self, directory: D, *, clock: Clock | None = None, **factory: Any) -> None:
        self.directory = directory
        self.clock = clock or Clock()
        self.events: list[dict[str, Any]] = []
        self.factory = LDAPServerFactory(
            self.directory,
            reactor=self.clock,
            log=Logger(observer=cast(ILogObserver, self.events.append)),
            **factory,
        )
        self.protocol = self.factory.buildProtocol(None)
        assert isinstance(self.protocol, LDAPServerProtocol)
        self.transport = TLSRecordingTransport()
        self.protocol.makeConnection(self.transport)  # type: ignore[no-untyped-call]

    def send(self, *pdus: bytes) -> list[wire.Decoded]:
        """Deliver `pdus` in one chunk, let the reactor run, return what came back."""
        self.transport.reset()
        self.protocol.dataReceived(b"".join(pdus))
        self.drain()
        return wire.decode_responses(self.transport.written())

    def drain(self) -> None:
        while self.clock.getDelayedCalls():
            self.clock.advance(0)

    def bind_admin(self) -> None:
        assert self.send(wire.bind(1, ADMIN, "secret")) == [(1, _ok(ResultKind.BIND), ())]


def _ok(kind: ResultKind) -> Result:
    return Result(kind, ResultCode.SUCCESS)


def _codes(replies: list[wire.Decoded]) -> list[ResultCode]:
    return [r.code for _, r, _ in replies if isinstance(r, Result | ExtendedResult)]


def _entries(replies: list[wire.Decoded]) -> list[str]:
    return [r.dn for _, r, _ in replies if isinstance(r, SearchResultEntry)]


def test_admin_bind_then_who_am_i_names_the_admin() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    assert connection.send(wire.extended(2, WHO_AM_I)) == [
        (2, ExtendedResult(ResultCode.SUCCESS, value=f"dn:{ADMIN}".encode()), ())
    ]


def test_failed_bind_leaves_the_connection_anonymous() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.bind(2, ADMIN, "wrong"), wire.extended(3, WHO_AM_I))
    assert replies == [
        (2, Result(ResultKind.BIND, ResultCode.INVALID_CREDENTIALS, "", "invalid credentials"), ()),
        (3, ExtendedResult(ResultCode.SUCCESS, value=b""), ()),
    ]


def test_unauthenticated_bind_with_a_dn_and_no_password_is_refused() -> None:
    replies = Connection(FakeDirectory()).send(wire.raw_bind(1, ADMIN, b""))
    assert _codes(replies) == [ResultCode.UNWILLING_TO_PERFORM]


def test_anonymous_bind_succeeds_and_who_am_i_is_empty() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.raw_bind(2, "", b""), wire.extended(3, WHO_AM_I))
    assert replies == [
        (2, _ok(ResultKind.BIND), ()),
        (3, ExtendedResult(ResultCode.SUCCESS, value=b""), ()),
    ]


def test_search_streams_entries_then_done() -> None:
    replies = Connection(FakeDirectory()).send(
        wire.search(2, BASE, "(objectClass=inetOrgPerson)", attributes=["uid"])
    )
    assert replies == [
        (2, SearchResultEntry(f"uid=user{i},{BASE}", (("uid", (f"user{i}".encode(),)),)), ())
        for i in range(3)
    ] + [(2, _ok(ResultKind.SEARCH_DONE), ())]


def test_search_beyond_the_size_limit_ends_with_size_limit_exceeded() -> None:
    replies = Connection(FakeDirectory()).send(wire.search(2, BASE, size_limit=2))
    assert len(_entries(replies)) == 2
    assert _codes(replies) == [ResultCode.SIZE_LIMIT_EXCEEDED]


def test_search_of_a_missing_base_names_the_matched_dn() -> None:
    replies = Connection(FakeDirectory()).send(wire.search(2, f"ou=nowhere,{BASE}"))
    assert replies == [
        (2, Result(ResultKind.SEARCH_DONE, ResultCode.NO_SUCH_OBJECT, BASE, "no such base"), ())
    ]


def test_writes_succeed_for_the_admin_and_change_the_directory() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    dn = f"uid=new,{BASE}"
    replies = connection.send(
        wire.add(2, dn, {"objectClass": ["inetOrgPerson"], "uid": ["new"]}),
        wire.modify(3, dn, {"cn": [(2, ["New"])]}),
        wire.compare(4, dn, "cn", "New"),
        wire.compare(5, dn, "cn", "Old"),
        wire.modify_dn(6, dn, "uid=renamed"),
        wire.delete(7, f"uid=renamed,{BASE}"),
    )
    assert [(mid, r.kind, r.code) for mid, r, _ in replies if isinstance(r, Result)] == [
        (2, ResultKind.ADD, ResultCode.SUCCESS),
        (3, ResultKind.MODIFY, ResultCode.SUCCESS),
        (4, ResultKind.COMPARE, ResultCode.COMPARE_TRUE),
        (5, ResultKind.COMPARE, ResultCode.COMPARE_FALSE),
        (6, ResultKind.MODIFY_DN, ResultCode.SUCCESS),
        (7, ResultKind.DELETE, ResultCode.SUCCESS),
    ]
    assert dn not in connection.directory.entries
    assert f"uid=renamed,{BASE}" not in connection.directory.entries


def test_anonymous_write_gets_insufficient_access_and_changes_nothing() -> None:
    connection = Connection(FakeDirectory())
    before = dict(connection.directory.entries)
    replies = connection.send(wire.delete(2, f"uid=user0,{BASE}"))
    assert _codes(replies) == [ResultCode.INSUFFICIENT_ACCESS_RIGHTS]
    assert connection.directory.entries == before


def test_unexpected_exception_becomes_other_with_a_fixed_message_and_is_logged() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.delete(2, BOOM_DN))
    assert replies == [(2, Result(ResultKind.DELETE, ResultCode.OTHER, "", "internal error"), ())]
    assert b"hunter2" not in connection.transport.written()
    failures = [e for e in connection.events if "log_failure" in e]
    assert len(failures) == 1
    assert LEAKY_SECRET in str(failures[0]["log_failure"].value)
    assert not connection.transport.disconnecting


def test_unknown_critical_control_fails_the_operation_with_12() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.delete(2, f"uid=user0,{BASE}", [("1.2.3.4", True, None)]))
    assert _codes(replies) == [ResultCode.UNAVAILABLE_CRITICAL_EXTENSION]
    assert f"uid=user0,{BASE}" in connection.directory.entries


def test_unknown_non_critical_control_is_ignored() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.delete(2, f"uid=user0,{BASE}", [("1.2.3.4", False, None)]))
    assert _codes(replies) == [ResultCode.SUCCESS]


def test_critical_paged_control_on_a_delete_is_inappropriate() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.delete(2, f"uid=user0,{BASE}", [wire.paged(5)]))
    assert _codes(replies) == [ResultCode.UNAVAILABLE_CRITICAL_EXTENSION]


def test_manage_dsa_it_is_accepted_even_when_critical() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    control = ("2.16.840.1.113730.3.4.2", True, None)
    assert _codes(connection.send(wire.delete(2, f"uid=user0,{BASE}", [control]))) == [
        ResultCode.SUCCESS
    ]


def _cookie(replies: list[wire.Decoded]) -> bytes:
    _, done, controls = replies[-1]
    assert isinstance(done, Result)
    assert done.kind is ResultKind.SEARCH_DONE
    assert [c.oid for c in controls] == ["1.2.840.113556.1.4.319"]
    value = controls[0].value
    assert value is not None
    from ixidir.server.controls import decode_paged

    return decode_paged(value).cookie


def test_paged_search_returns_every_entry_once_across_pages() -> None:
    connection = Connection(FakeDirectory(people=5))
    seen: list[str] = []
    cookie = b""
    for message_id in range(2, 10):
        replies = connection.send(wire.search(message_id, BASE, controls=[wire.paged(2, cookie)]))
        assert _codes(replies) == [ResultCode.SUCCESS]
        seen += _entries(replies)
        cookie = _cookie(replies)
        if not cookie:
            break
    assert len(seen) == 6
    assert sorted(seen) == sorted(connection.directory.entries)
    assert message_id == 4


def test_paged_search_with_size_zero_abandons_and_the_cookie_dies() -> None:
    connection = Connection(FakeDirectory())
    first = connection.send(wire.search(2, BASE, controls=[wire.paged(1)]))
    cookie = _cookie(first)
    assert cookie
    stop = connection.send(wire.search(3, BASE, controls=[wire.paged(0, cookie)]))
    assert _entries(stop) == []
    assert _codes(stop) == [ResultCode.SUCCESS]
    assert _cookie(stop) == b""
    stale = connection.send(wire.search(4, BASE, controls=[wire.paged(1, cookie)]))
    assert _codes(stale) == [ResultCode.PROTOCOL_ERROR]
    assert _cookie(stale) == b""


def test_paged_cookie_is_refused_for_a_different_search() -> None:
    connection = Connection(FakeDirectory())
    cookie = _cookie(connection.send(wire.search(2, BASE, controls=[wire.paged(1)])))
    other = connection.send(wire.search(3, BASE, "(uid=user1)", controls=[wire.paged(1, cookie)]))
    assert _codes(other) == [ResultCode.PROTOCOL_ERROR]


def _big_directory(entries: int, size: int) -> FakeDirectory:
    directory = FakeDirectory(people=0)
    for index in range(entries):
        directory.entries[f"cn=big{index},{BASE}"] = {"objectClass": [b"x"], "cn": [b"x" * size]}
    return directory


def test_large_search_yields_to_the_reactor_and_abandon_stops_it() -> None:
    connection = Connection(_big_directory(40, 64 * 1024))
    connection.transport.reset()
    connection.protocol.dataReceived(wire.search(2, BASE))
    first_turn = wire.decode_responses(connection.transport.written())
    assert 0 < len(first_turn) < 41
    assert TURN_BYTES <= len(connection.transport.written()) < 40 * 64 * 1024
    connection.transport.reset()
    connection.protocol.dataReceived(wire.abandon(3, 2))
    connection.drain()
    assert connection.transport.written() == b""


def test_large_search_completes_when_not_abandoned() -> None:
    connection = Connection(_big_directory(40, 64 * 1024))
    replies = connection.send(wire.search(2, BASE))
    assert len(_entries(replies)) == 41
    assert _codes(replies) == [ResultCode.SUCCESS]


def test_paused_transport_holds_replies_until_resumed() -> None:
    connection = Connection(FakeDirectory())
    connection.protocol.pauseProducing()
    assert connection.send(wire.search(2, BASE)) == []
    connection.protocol.resumeProducing()
    connection.drain()
    replies = wire.decode_responses(connection.transport.written())
    assert len(_entries(replies)) == 4


def test_client_flooding_a_paused_connection_stops_being_read_then_resumes() -> None:
    connection = Connection(FakeDirectory())
    connection.protocol.pauseProducing()
    requests = [wire.compare(i, f"uid=user0,{BASE}", "uid", "user0") for i in range(1, 101)]
    connection.send(*requests)
    assert connection.transport.producerState == "paused"
    connection.protocol.resumeProducing()
    connection.drain()
    replies = wire.decode_responses(connection.transport.written())
    assert [mid for mid, _, _ in replies] == list(range(1, 101))
    assert connection.transport.producerState == "producing"


def test_small_replies_are_coalesced_into_one_write() -> None:
    connection = Connection(FakeDirectory())
    writes: list[bytes] = []
    connection.transport.write = writes.append  # type: ignore[method-assign]
    connection.protocol.dataReceived(wire.search(2, BASE))
    assert len(writes) == 1
    assert len(wire.decode_responses(writes[0])) == 5


def closing_notice(connection: Connection[FakeDirectory]) -> ExtendedResult:
    """The Notice of Disconnection that was the only thing written before the close."""
    replies = wire.decode_responses(connection.transport.written())
    assert len(replies) == 1
    message_id, notice, _ = replies[0]
    assert message_id == 0
    assert isinstance(notice, ExtendedResult)
    assert notice.name == NOTICE
    assert connection.transport.disconnecting
    return notice


def _assert_notice_and_closed(connection: Connection[FakeDirectory]) -> None:
    assert closing_notice(connection).code == ResultCode.PROTOCOL_ERROR


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x30\x03\x02\x01\x01", id="message-id-only"),
        pytest.param(b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", id="response-op"),
        pytest.param(b"\x30\x84\x7f\xff\xff\xff", id="oversized"),
        pytest.param(b"\x04\x00", id="not-a-message"),
    ],
)
def test_bad_pdus_get_a_notice_of_disconnection_and_the_connection_closes(data: bytes) -> None:
    connection = Connection(FakeDirectory(), max_pdu_size=4096)
    connection.send(data)
    _assert_notice_and_closed(connection)
    connection.transport.reset()
    connection.protocol.dataReceived(wire.search(5, BASE))
    assert connection.transport.written() == b""


def test_unbind_closes_without_a_reply_and_ignores_what_follows() -> None:
    connection = Connection(FakeDirectory())
    assert connection.send(wire.unbind(1), wire.search(2, BASE)) == []
    assert connection.transport.disconnecting


def test_pipelined_requests_are_answered_in_order() -> None:
    connection = Connection(FakeDirectory())
    replies = connection.send(
        *(wire.compare(i, f"uid=user{i % 3},{BASE}", "uid", "x") for i in range(1, 6))
    )
    assert [mid for mid, _, _ in replies] == [1, 2, 3, 4, 5]


def test_unknown_extended_operation_gets_protocol_error() -> None:
    replies = Connection(FakeDirectory()).send(wire.extended(2, "1.2.3.4.5"))
    assert _codes(replies) == [ResultCode.PROTOCOL_ERROR]
    assert not Connection(FakeDirectory()).transport.disconnecting


def test_password_modify_returns_a_generated_password() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.extended(2, PASSWORD_MODIFY, b"\x30\x00"))
    assert replies == [
        (2, ExtendedResult(ResultCode.SUCCESS, value=b"\x30\x0e\x80\x0cgenerated-pw"), ())
    ]


def test_password_modify_sets_the_given_password() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    value = b"\x30\x0a\x81\x06secret\x82\x00"
    assert _codes(connection.send(wire.extended(2, PASSWORD_MODIFY, value))) == [ResultCode.SUCCESS]
    assert connection.directory.passwords[ADMIN] == b""


def test_malformed_password_modify_value_gets_protocol_error() -> None:
    connection = Connection(FakeDirectory())
    connection.bind_admin()
    replies = connection.send(wire.extended(2, PASSWORD_MODIFY, b"\x30\x03\x85\x01x"))
    assert _codes(replies) == [ResultCode.PROTOCOL_ERROR]


def test_start_tls_without_a_certificate_is_unavailable() -> None:
    replies = Connection(FakeDirectory()).send(wire.extended(2, START_TLS))
    assert _codes(replies) == [ResultCode.UNAVAILABLE]


def test_start_tls_answers_in_clear_text_then_switches() -> None:
    connection = Connection(FakeDirectory(), tls=object())
    replies = connection.send(wire.extended(2, START_TLS))
    assert replies == [(2, ExtendedResult(ResultCode.SUCCESS, name=START_TLS), ())]
    assert connection.transport.tls_started_after == connection.transport.written()
    again = connection.send(wire.extended(3, START_TLS))
    assert _codes(again) == [ResultCode.OPERATIONS_ERROR]  # RFC 4511 §4.14.2


_PDUS = st.sampled_from(
    [
        wire.bind(1, ADMIN, "secret"),
        wire.search(2, BASE, controls=[wire.paged(2)]),
        wire.compare(3, f"uid=user0,{BASE}", "uid", "user0"),
        wire.extended(4, PASSWORD_MODIFY, b"\x30\x03\x82\x01x"),
        wire.delete(5, BOOM_DN),
    ]
)


@st.composite
def _mangled_streams(draw: st.DrawFn) -> bytes:
    data = bytearray(b"".join(draw(st.lists(_PDUS, min_size=1, max_size=4))))
    for _ in range(draw(st.integers(0, 3))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=150, deadline=None)
@given(st.one_of(_mangled_streams(), st.binary(max_size=200)))
def test_no_input_crashes_the_protocol(data: bytes) -> None:
    """Whatever arrives, the connection answers or sends a notice and closes; never raises."""
    connection = Connection(FakeDirectory())
    replies = connection.send(data)
    notices = [r for mid, r, _ in replies if mid == 0]
    if notices:
        assert connection.transport.disconnecting
        assert replies[-1][0] == 0
