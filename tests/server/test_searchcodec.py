"""The direct SearchRequest reader agrees with the general (ldaptor) decoder, or steps aside."""

from __future__ import annotations

from typing import Any

from directory.test_filtertext import filters
from hypothesis import given
from hypothesis import strategies as st
from ldaptor.protocols import pureldap

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
from ixidir.server.codec import decode_with_ldaptor
from ixidir.server.fastpath import split_search
from ixidir.server.searchcodec import SearchShapes, decode_search

from . import wire


class assertion:  # noqa: N801 (a namespace for ldaptor's long class names)
    matchingRule = pureldap.LDAPMatchingRuleAssertion_matchingRule  # noqa: N815
    type = pureldap.LDAPMatchingRuleAssertion_type
    matchValue = pureldap.LDAPMatchingRuleAssertion_matchValue  # noqa: N815
    dnAttributes = pureldap.LDAPMatchingRuleAssertion_dnAttributes  # noqa: N815


def has_extensible(f: Filter) -> bool:
    match f:
        case And(children) | Or(children):
            return any(map(has_extensible, children))
        case Not(child):
            return has_extensible(child)
    return isinstance(f, Extensible)


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
        baseObject="ou=people,dc=example,dc=com",
        scope=scope,
        sizeLimit=size,
        timeLimit=time,
        filter=ldaptor_filter(f),
        attributes=attributes,
    )
    wire_bytes: bytes = pureldap.LDAPMessage(request, id=message_id).toWire()
    return wire_bytes


@given(
    filters,
    st.integers(1, 2**31 - 1),
    st.sampled_from([0, 1, 2, 3]),
    st.lists(st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,8}\Z"), max_size=4),
    st.integers(0, 2**31 - 1),
    st.integers(0, 1000),
)
def test_reader_agrees_with_the_general_decoder(
    f: Filter, message_id: int, scope: int, attributes: list[str], size: int, time: int
) -> None:
    """Every search decodes the same both ways (or the reader declines and ldaptor decodes)."""
    pdu = search_pdu(f, message_id, scope, attributes, size, time)
    fast = decode_search(pdu)
    general = decode_with_ldaptor(pdu)
    assert fast is None or fast == general
    if not has_extensible(f):
        assert fast is not None  # the reader handles every other filter form


def test_a_routing_search_is_read_directly() -> None:
    pdu = wire.search(7, "ou=people,dc=example,dc=com", "(facsimileTelephoneNumber=+49 8142 1)")
    assert decode_search(pdu) == decode_with_ldaptor(pdu)
    assert decode_search(pdu) is not None


def test_searches_with_controls_and_garbage_are_left_to_the_general_decoder() -> None:
    paged = wire.search(2, "dc=example,dc=com", controls=[wire.paged(5)])
    assert decode_search(paged) is None
    assert decode_search(b"\x30\x05\x02\x01\x01\x63\x00") is None
    assert decode_search(wire.bind(1, "cn=x", "y")) is None


@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    decode_search(data)


SHAPES = SearchShapes()  # shared across examples, so later ones hit shapes earlier ones taught


@given(
    st.lists(filters, min_size=1, max_size=3),
    st.sampled_from([0, 2]),
    st.sampled_from([[], ["mail"], ["mail", "cn"]]),
    st.sampled_from([0, 1, 300]),
)
def test_remembered_shapes_decode_as_the_general_decoder_does(
    fs: list[Filter], scope: int, attributes: list[str], size: int
) -> None:
    """The same shape with other filters: each request is what the general decoder reads."""
    for message_id, f in enumerate(fs, start=1):
        pdu = search_pdu(f, message_id, scope, attributes, size, 0)
        split = split_search(pdu)
        assert split is not None
        request = SHAPES.decode(pdu, split.operation)
        assert request is None or request == decode_with_ldaptor(pdu).request
        if not has_extensible(f):
            assert request is not None


def test_shapes_decline_what_they_cannot_read() -> None:
    shapes = SearchShapes(max_shapes=1)
    assert shapes.decode(b"", b"\x63\x00") is None
    assert shapes.decode(b"", b"\x64\x00") is None
    routing = wire.search(3, "ou=people,dc=example,dc=com", "(facsimileTelephoneNumber=+49 1)")
    other = wire.search(4, "dc=example,dc=com", "(mail=a@b)", attributes=["cn"])
    for pdu in (routing, other, routing):  # the one remembered shape is replaced each time
        split = split_search(pdu)
        assert split is not None
        assert shapes.decode(pdu, split.operation) == decode_with_ldaptor(pdu).request
