"""The sans-IO codec: real clients' bytes decode to our values, framing, limits, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldaptor.protocols import pureber, pureldap

from ixidir.directory import filter as flt
from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.errors import ResultCode
from ixidir.server.codec import CodecError, LDAPCodec
from ixidir.server.messages import (
    AbandonRequest,
    BindRequest,
    CompareRequest,
    Control,
    DeleteRequest,
    ExtendedRequest,
    ExtendedResult,
    LDAPMessage,
    Response,
    Result,
    ResultKind,
    UnbindRequest,
)

from . import wire

LIMIT = 64 * 1024

REQUESTS: list[tuple[bytes, LDAPMessage]] = [
    (wire.bind(1, "cn=admin,dc=x", "pw"), LDAPMessage(1, BindRequest(3, "cn=admin,dc=x", b"pw"))),
    (
        wire.search(
            2,
            "dc=x",
            "(&(cn=a*b*c)(!(mail=*))(sn>=x)(sn<=y)(sn~=z)(cn:dn:2.5.13.2:=v)(|(uid=1)(uid=2)))",
            attributes=["cn", "+"],
            controls=[wire.paged(5)],
        ),
        LDAPMessage(
            2,
            SearchRequest(
                base="dc=x",
                scope=Scope.SUB,
                filter=flt.And(
                    (
                        flt.Substrings("cn", b"a", (b"b",), b"c"),
                        flt.Not(flt.Present("mail")),
                        flt.GreaterOrEqual("sn", b"x"),
                        flt.LessOrEqual("sn", b"y"),
                        flt.Approx("sn", b"z"),
                        flt.Extensible("2.5.13.2", "cn", b"v", dn_attributes=True),
                        flt.Or((flt.Equality("uid", b"1"), flt.Equality("uid", b"2"))),
                    )
                ),
                attributes=("cn", "+"),
            ),
            (Control("1.2.840.113556.1.4.319", True, wire.paged(5)[2]),),
        ),
    ),
    (
        wire.add(3, "cn=a,dc=x", {"objectClass": ["top", "person"], "cn": ["a"]}),
        LDAPMessage(
            3, AddRequest("cn=a,dc=x", (("objectClass", (b"top", b"person")), ("cn", (b"a",))))
        ),
    ),
    (
        wire.modify(4, "cn=a,dc=x", {"sn": [(2, ["x"]), (1, [])]}),
        LDAPMessage(
            4,
            ModifyRequest(
                "cn=a,dc=x",
                (Modification(ModOp.REPLACE, "sn", (b"x",)), Modification(ModOp.DELETE, "sn")),
            ),
        ),
    ),
    (wire.delete(5, "cn=a,dc=x"), LDAPMessage(5, DeleteRequest("cn=a,dc=x"))),
    (
        wire.modify_dn(6, "cn=a,dc=x", "cn=b", "ou=y,dc=x"),
        LDAPMessage(6, ModifyDNRequest("cn=a,dc=x", "cn=b", True, "ou=y,dc=x")),
    ),
    (
        wire.compare(7, "cn=a,dc=x", "cn", "a"),
        LDAPMessage(7, CompareRequest("cn=a,dc=x", "cn", b"a")),
    ),
    (
        wire.extended(8, "1.3.6.1.4.1.4203.1.11.1", b"0\x03\x82\x01x"),
        LDAPMessage(8, ExtendedRequest("1.3.6.1.4.1.4203.1.11.1", b"0\x03\x82\x01x")),
    ),
    (wire.abandon(9, 3), LDAPMessage(9, AbandonRequest(3))),
    (wire.unbind(10), LDAPMessage(10, UnbindRequest())),
]


def _decode_all(codec: LDAPCodec) -> list[LDAPMessage]:
    found = []
    while (message := codec.next_message()) is not None:
        found.append(message)
    return found


@pytest.mark.parametrize(("data", "expected"), REQUESTS)
def test_ldap3_requests_decode_to_our_values(data: bytes, expected: LDAPMessage) -> None:
    codec = LDAPCodec(LIMIT)
    codec.feed(data)
    assert codec.next_message() == expected
    assert codec.next_message() is None


def test_byte_at_a_time_gives_the_same_messages_as_one_chunk() -> None:
    stream = b"".join(data for data, _ in REQUESTS)
    whole = LDAPCodec(LIMIT)
    whole.feed(stream)
    trickled = LDAPCodec(LIMIT)
    messages = []
    for index in range(len(stream)):
        trickled.feed(stream[index : index + 1])
        messages.extend(_decode_all(trickled))
    assert messages == _decode_all(whole) == [expected for _, expected in REQUESTS]
    assert trickled.buffered == 0


def test_oversized_pdu_is_refused_from_its_header_alone() -> None:
    codec = LDAPCodec(1000)
    codec.feed(b"\x30\x84\x00\x01\x00\x00")  # announces 65536 bytes, sends none of them
    with pytest.raises(CodecError, match="maximum size"):
        codec.next_message()


def test_pdu_of_exactly_the_maximum_size_is_accepted() -> None:
    data = wire.delete(5, "cn=" + "a" * 200 + ",dc=x")
    codec = LDAPCodec(len(data))
    codec.feed(data)
    assert codec.next_message() == LDAPMessage(5, DeleteRequest("cn=" + "a" * 200 + ",dc=x"))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00", id="bindResponse"
        ),
        pytest.param(b"\x30\x05\x02\x04\x01\x42\x00", id="message-id-overruns"),
        pytest.param(b"\x30\x05\x02\x01\x00\x42\x00", id="message-id-zero"),
        pytest.param(b"\x31\x05\x02\x01\x01\x42\x00", id="not-a-sequence"),
        pytest.param(b"\x30\x80\x02\x01\x01\x42\x00\x00\x00", id="indefinite-length"),
        pytest.param(b"\x30\x05\x02\x01\x01\x5f\x00", id="unknown-application-tag"),
        pytest.param(b"\x30\x08\x02\x01\x01\x42\x00\xa0\x01\x00", id="truncated-controls"),
        pytest.param(b"\x30\x09\x02\x01\x01\x42\x00\xa0\x02\x04\x00", id="control-not-sequence"),
        pytest.param(b"\x30\x06\x02\x01\x01\x4a\x01\xff", id="dn-not-utf8"),
        pytest.param(b"\x30\x09\x02\x01\x01\x42\x00\x04\x00\x04\x00", id="trailing-elements"),
    ],
)
def test_malformed_pdus_raise_codec_error(data: bytes) -> None:
    codec = LDAPCodec(LIMIT)
    codec.feed(data)
    with pytest.raises(CodecError):
        codec.next_message()


def test_unbind_pdu_decodes() -> None:
    codec = LDAPCodec(LIMIT)
    codec.feed(b"\x30\x05\x02\x01\x01\x42\x00")
    assert codec.next_message() == LDAPMessage(1, UnbindRequest())


def test_ldaptor_prints_nothing_on_unknown_tags(capsys: pytest.CaptureFixture[str]) -> None:
    codec = LDAPCodec(LIMIT)
    # A delete whose PDU smuggles an unknown [PRIVATE 5] element into a search's attribute list.
    search = wire.search(3, "dc=x", attributes=["cn"])
    codec.feed(search.replace(b"\x04\x02cn", b"\xc5\x02cn"))
    with pytest.raises(CodecError):
        codec.next_message()
    assert capsys.readouterr().out == ""


def _feed_all(data: bytes, *, trickle: bool) -> list[LDAPMessage] | str:
    codec = LDAPCodec(4096)
    found: list[LDAPMessage] = []
    chunks = [data[i : i + 1] for i in range(len(data))] if trickle else [data]
    try:
        for chunk in chunks:
            codec.feed(chunk)
            found.extend(_decode_all(codec))
    except CodecError:
        return "error"
    return found


_VALID = st.sampled_from([data for data, _ in REQUESTS])


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(_VALID))
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(data) - 1))
        data[index] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), _mutated()))
def test_arbitrary_bytes_give_messages_or_codec_error_only(data: bytes) -> None:
    """h11's fuzz invariant: never any other exception, whatever the chunking."""
    assert _feed_all(data, trickle=False) == _feed_all(data, trickle=True)


_TEXT = st.text(max_size=20)
_CODES = st.sampled_from(list(ResultCode))
_RESULTS = st.builds(Result, st.sampled_from(list(ResultKind)), _CODES, _TEXT, _TEXT)
_EXTENDED = st.builds(
    ExtendedResult,
    _CODES,
    _TEXT,
    _TEXT,
    st.none() | st.sampled_from(["1.3.6.1.4.1.1466.20036", "1.2.3"]),
    st.none() | st.binary(max_size=20),
)
_ENTRIES = st.builds(
    SearchResultEntry,
    _TEXT,
    st.lists(
        st.tuples(
            st.from_regex(r"[a-zA-Z][a-zA-Z0-9-]{0,10}", fullmatch=True),
            st.lists(st.binary(max_size=20), max_size=3).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
)
_CONTROLS = st.lists(
    st.builds(
        Control,
        st.sampled_from(["1.2.840.113556.1.4.319", "1.2.3"]),
        st.booleans(),
        st.none() | st.binary(max_size=10),
    ),
    max_size=2,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31 - 1), st.one_of(_RESULTS, _EXTENDED, _ENTRIES), _CONTROLS)
def test_responses_decode_back_to_what_was_encoded(
    message_id: int, response: Response, controls: tuple[Control, ...]
) -> None:
    data = LDAPCodec(LIMIT).encode(message_id, response, controls)
    assert wire.decode_responses(data) == [(message_id, response, controls)]


def _add_with_values(count: int, value: bytes) -> bytes:
    values = pureber.BERSet([pureber.BEROctetString(value) for _ in range(count)])
    attribute = (pureldap.LDAPAttributeDescription(b"member"), values)
    request = pureldap.LDAPAddRequest(entry=b"cn=g,dc=x", attributes=[attribute])
    data: bytes = pureldap.LDAPMessage(request, id=1).toWire()
    return data


def test_pdu_that_ldaptor_would_decode_quadratically_is_refused() -> None:
    """262,144 empty values in 512 KiB cost ldaptor seconds of copying; refused up front."""
    codec = LDAPCodec(1024 * 1024)
    codec.feed(_add_with_values(256 * 1024, b""))
    with pytest.raises(CodecError, match="too complex"):
        codec.next_message()


def test_large_but_reasonable_multi_valued_add_is_accepted() -> None:
    codec = LDAPCodec(1024 * 1024)
    codec.feed(_add_with_values(5000, b"uid=member,ou=people,dc=example,dc=com"))
    message = codec.next_message()
    assert message is not None
    assert isinstance(message.request, AddRequest)
    assert len(message.request.attributes[0][1]) == 5000
