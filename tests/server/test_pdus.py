"""Our SearchRequest reader reads what ldaptor (a client library's encoder) writes."""

from __future__ import annotations

from typing import Any

import pytest
from directory.test_filtertext import filters
from hypothesis import given
from hypothesis import strategies as st
from ldaptor.protocols import pureber, pureldap

from ixidir.directory.filter import (
    And,
    Approx,
    Equality,
    Extensible,
    Filter,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
)
from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
)
from ixidir.server.codec import CodecError, LDAPCodec
from ixidir.server.messages import (
    BindRequest,
    CompareRequest,
    DeleteRequest,
    ExtendedRequest,
    LDAPMessage,
    Request,
)
from ixidir.server.pdus import SearchReader

from . import wire

BASE = "ou=people,dc=example,dc=com"


class assertion:  # noqa: N801 (a namespace for ldaptor's long class names)
    matchingRule = pureldap.LDAPMatchingRuleAssertion_matchingRule  # noqa: N815
    type = pureldap.LDAPMatchingRuleAssertion_type
    matchValue = pureldap.LDAPMatchingRuleAssertion_matchValue  # noqa: N815
    dnAttributes = pureldap.LDAPMatchingRuleAssertion_dnAttributes  # noqa: N815


def ldaptor_filter(f: Filter) -> Any:
    """Our filter as ldaptor's PDU object, as a client library would encode it."""
    match f:
        case And(children):
            return pureldap.LDAPFilter_and([ldaptor_filter(c) for c in children])
        case Or(children):
            return pureldap.LDAPFilter_or([ldaptor_filter(c) for c in children])
        case Not(child):
            return pureldap.LDAPFilter_not(ldaptor_filter(child))
        case Present(attr):
            return pureldap.LDAPFilter_present(attr)
        case Substrings(attr, initial, middle, final):
            parts: list[Any] = []
            if initial is not None:
                parts.append(pureldap.LDAPFilter_substrings_initial(initial))
            parts += [pureldap.LDAPFilter_substrings_any(value) for value in middle]
            if final is not None:
                parts.append(pureldap.LDAPFilter_substrings_final(final))
            return pureldap.LDAPFilter_substrings(type=attr, substrings=parts)
        case Extensible(rule, attr, value, dn_attributes):
            return pureldap.LDAPFilter_extensibleMatch(
                matchingRule=None
                if rule is None
                else pureldap.LDAPMatchingRuleAssertion_matchingRule(rule),
                type=None if attr is None else pureldap.LDAPMatchingRuleAssertion_type(attr),
                matchValue=pureldap.LDAPMatchingRuleAssertion_matchValue(value),
                dnAttributes=pureldap.LDAPMatchingRuleAssertion_dnAttributes(True)
                if dn_attributes
                else None,
            )
    kind = {
        Equality: pureldap.LDAPFilter_equalityMatch,
        GreaterOrEqual: pureldap.LDAPFilter_greaterOrEqual,
        LessOrEqual: pureldap.LDAPFilter_lessOrEqual,
        Approx: pureldap.LDAPFilter_approxMatch,
    }[type(f)]
    return kind(
        attributeDesc=pureldap.LDAPAttributeDescription(f.attr),
        assertionValue=pureldap.LDAPAssertionValue(f.value),
    )


def search_pdu(
    f: Filter, message_id: int, scope: int, attributes: list[str], size: int, time: int
) -> bytes:
    request = pureldap.LDAPSearchRequest(
        baseObject=BASE,
        scope=scope,
        sizeLimit=size,
        timeLimit=time,
        filter=ldaptor_filter(f),
        attributes=attributes,
    )
    wire_bytes: bytes = pureldap.LDAPMessage(request, id=message_id).toWire()
    return wire_bytes


def decode(pdu: bytes, reader: SearchReader | None = None) -> LDAPMessage:
    return LDAPCodec(len(pdu), searches=reader).decode(pdu)


@given(
    filters,
    st.integers(1, 2**31 - 1),
    st.sampled_from([0, 1, 2, 3]),
    st.lists(st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,8}\Z"), max_size=4),
    st.integers(0, 2**31 - 1),
    st.integers(0, 1000),
)
def test_searches_decode_to_what_was_encoded(
    f: Filter, message_id: int, scope: int, attributes: list[str], size: int, time: int
) -> None:
    """decode(encode(m)) == m, with ldaptor as the encoder (every filter form)."""
    pdu = search_pdu(f, message_id, scope, attributes, size, time)
    expected = SearchRequest(BASE, Scope(scope), f, tuple(attributes), size, time)
    assert decode(pdu) == LDAPMessage(message_id, expected)


def test_searches_with_garbage_raise_codec_error() -> None:
    with pytest.raises(CodecError):
        decode(b"\x30\x05\x02\x01\x01\x63\x00")


READER = SearchReader()  # shared across examples, so later ones hit shapes earlier ones taught


@given(
    st.lists(filters, min_size=1, max_size=3),
    st.sampled_from([0, 2]),
    st.sampled_from([[], ["mail"], ["mail", "cn"]]),
    st.sampled_from([0, 1, 300]),
)
def test_remembered_shapes_decode_as_a_fresh_reader_does(
    fs: list[Filter], scope: int, attributes: list[str], size: int
) -> None:
    """The same shape with other filters: each request is what a reader that never saw the
    shape reads."""
    for message_id, f in enumerate(fs, start=1):
        pdu = search_pdu(f, message_id, scope, attributes, size, 0)
        assert decode(pdu, READER) == decode(pdu, SearchReader())


def test_a_reader_full_of_shapes_starts_afresh() -> None:
    reader = SearchReader(max_shapes=1)
    routing = wire.search(3, BASE, "(facsimileTelephoneNumber=+49 1)")
    other = wire.search(4, "dc=example,dc=com", "(mail=a@b)", attributes=["cn"])
    for pdu in (routing, other, routing):  # the one remembered shape is replaced each time
        assert decode(pdu, reader) == decode(pdu)


_text = st.text(max_size=30)
_values = st.lists(st.binary(max_size=20), max_size=3).map(tuple)
_attrs = st.lists(st.tuples(st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9-]{0,8}\Z"), _values), max_size=3)


def _ldaptor_attributes(attrs: list[tuple[str, tuple[bytes, ...]]]) -> list[Any]:
    return [
        (
            pureldap.LDAPAttributeDescription(name),
            pureber.BERSet([pureber.BEROctetString(value) for value in values]),
        )
        for name, values in attrs
    ]


@st.composite
def requests(draw: st.DrawFn) -> tuple[Any, Request]:
    """A request as ldaptor's PDU object, and the value our codec must read from its bytes."""
    dn = draw(_text)
    kind = draw(st.sampled_from(["bind", "add", "modify", "delete", "moddn", "compare", "ext"]))
    if kind == "bind":
        password = draw(st.binary(max_size=20))
        return pureldap.LDAPBindRequest(dn=dn, auth=password), BindRequest(3, dn, password)
    if kind == "add":
        attrs = draw(_attrs)
        pdu = pureldap.LDAPAddRequest(entry=dn, attributes=_ldaptor_attributes(attrs))
        return pdu, AddRequest(dn, tuple(attrs))
    if kind == "modify":
        changes = draw(st.lists(st.tuples(st.sampled_from(list(ModOp)[:3]), _attrs), max_size=3))
        wire_changes = [
            pureber.BERSequence([pureber.BEREnumerated(op), *[
                pureber.BERSequence([pureldap.LDAPAttributeDescription(name), pureber.BERSet(
                    [pureldap.LDAPAttributeValue(v) for v in values])])
                for name, values in attrs[:1]
            ]])
            for op, attrs in changes if attrs
        ]  # fmt: skip
        expected = tuple(
            Modification(op, attrs[0][0], attrs[0][1]) for op, attrs in changes if attrs
        )
        pdu = pureldap.LDAPModifyRequest(object=dn, modification=wire_changes)
        return pdu, ModifyRequest(dn, expected)
    if kind == "delete":
        return pureldap.LDAPDelRequest(entry=dn), DeleteRequest(dn)
    if kind == "moddn":
        rdn, superior, delete = draw(_text), draw(st.none() | _text), draw(st.booleans())
        pdu = pureldap.LDAPModifyDNRequest(dn, rdn, delete, newSuperior=superior)
        return pdu, ModifyDNRequest(dn, rdn, delete, superior)
    if kind == "compare":
        attr, value = draw(st.from_regex(r"\A[a-z]{1,8}\Z")), draw(st.binary(max_size=20))
        ava = pureldap.LDAPAttributeValueAssertion(
            pureber.BEROctetString(attr), pureber.BEROctetString(value)
        )
        return pureldap.LDAPCompareRequest(dn, ava), CompareRequest(dn, attr, value)
    oid, payload = draw(st.from_regex(r"\A1(\.[0-9]{1,3}){1,5}\Z")), draw(st.none() | st.binary())
    return pureldap.LDAPExtendedRequest(oid, payload), ExtendedRequest(oid, payload)


@given(requests(), st.integers(1, 2**31 - 1))
def test_every_request_decodes_to_what_was_encoded(
    request: tuple[Any, Request], message_id: int
) -> None:
    """decode(encode(m)) == m for every request type, ldaptor encoding."""
    pdu, expected = request
    data: bytes = pureldap.LDAPMessage(pdu, id=message_id).toWire()
    assert decode(data) == LDAPMessage(message_id, expected)
