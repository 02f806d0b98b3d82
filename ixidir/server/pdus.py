"""The request protocolOps (RFC 4511 §4.2 ... §4.12) read from BER into our typed values.

One reader per operation, dispatched on the protocolOp's tag; every field's tag, length and
range is checked, and any other form raises CodecError. Searches repeat a few shapes (base,
scope, limits, attribute list) with new filter values, so `SearchReader` remembers the decoded
shape by its bytes and reads only the filter again.
"""

from __future__ import annotations

from collections.abc import Callable

from ixidir.directory import filter as flt
from ixidir.directory.requests import (
    AddRequest,
    DerefAliases,
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
)
from ixidir.server import ber
from ixidir.server.ber import OCTETS, SEQUENCE, SET, Buffer, CodecError
from ixidir.server.messages import (
    AbandonRequest,
    BindRequest,
    CompareRequest,
    DeleteRequest,
    ExtendedRequest,
    Request,
    UnbindRequest,
)

# Deeper filters are refused: real clients nest a handful of levels, and recursion is bounded.
MAX_FILTER_DEPTH = 64
# Values per attribute (and filters per and/or) a request may carry: decoding is linear, and
# this bounds one request's time on the reactor (~50 ms).
MAX_ELEMENTS = 65_536
MAX_SHAPES = 1024  # search shapes remembered (cleared when full: a client sending new ones)
_ASSERTIONS: dict[int, Callable[[str, bytes], flt.Filter]] = {
    0xA3: flt.Equality,
    0xA5: flt.GreaterOrEqual,
    0xA6: flt.LessOrEqual,
    0xA8: flt.Approx,
}


def _string(buf: Buffer, pos: int, end: int, what: str) -> tuple[str, int]:
    start, stop = ber.expect(buf, pos, end, OCTETS, what)
    return ber.text(buf, start, stop, what), stop


def _bytes(buf: Buffer, pos: int, end: int, what: str) -> tuple[bytes, int]:
    start, stop = ber.expect(buf, pos, end, OCTETS, what)
    return bytes(buf[start:stop]), stop


def _many(buf: Buffer, start: int, end: int) -> list[tuple[int, int, int]]:
    found = ber.elements(buf, start, end)
    if len(found) > MAX_ELEMENTS:
        raise CodecError("request too complex to decode")
    return found


def _each(buf: Buffer, start: int, end: int, tag: int, what: str) -> list[tuple[int, int]]:
    """The content bounds of each element of a SEQUENCE OF / SET OF, which all carry `tag`."""
    found = _many(buf, start, end)
    if any(item[0] != tag for item in found):
        raise CodecError(f"malformed {what}")
    return [(item_start, item_stop) for _, item_start, item_stop in found]


def _done(pos: int, end: int, what: str) -> None:
    if pos != end:
        raise CodecError(f"malformed {what}")


def _bind(buf: Buffer, start: int, end: int) -> BindRequest:
    """RFC 4511 §4.2: version, name, simple [0] or SASL [3] authentication."""
    version_start, pos = ber.expect(buf, start, end, ber.INTEGER, "version")
    version = ber.integer(buf, version_start, pos, "version", 1, 127)
    dn, pos = _string(buf, pos, end, "bind DN")
    tag, auth_start, auth_stop = ber.element(buf, pos, end)
    _done(auth_stop, end, "bind request")
    if tag == 0x80:
        return BindRequest(version, dn, bytes(buf[auth_start:auth_stop]))
    if tag != 0xA3:
        raise CodecError("malformed bind request")
    mechanism, pos = _string(buf, auth_start, auth_stop, "SASL mechanism")
    secret = b""
    if pos < auth_stop:
        secret, pos = _bytes(buf, pos, auth_stop, "SASL credentials")
    _done(pos, auth_stop, "SASL credentials")
    return BindRequest(version, dn, secret, mechanism)


def _attribute(buf: Buffer, start: int, end: int) -> tuple[str, tuple[bytes, ...]]:
    """PartialAttribute ::= SEQUENCE { type AttributeDescription, vals SET OF value }."""
    name, pos = _string(buf, start, end, "attribute description")
    values_start, values_stop = ber.expect(buf, pos, end, SET, "attribute values")
    _done(values_stop, end, "attribute")
    values = _each(buf, values_start, values_stop, OCTETS, "attribute value")
    return name, tuple(bytes(buf[value_start:value_stop]) for value_start, value_stop in values)


def _attributes(buf: Buffer, start: int, end: int) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    items = _each(buf, start, end, SEQUENCE, "attribute")
    return tuple(_attribute(buf, item_start, item_stop) for item_start, item_stop in items)


def _add(buf: Buffer, start: int, end: int) -> AddRequest:
    dn, pos = _string(buf, start, end, "entry")
    attrs_start, attrs_stop = ber.expect(buf, pos, end, SEQUENCE, "attribute list")
    _done(attrs_stop, end, "add request")
    return AddRequest(dn, _attributes(buf, attrs_start, attrs_stop))


def _modify(buf: Buffer, start: int, end: int) -> ModifyRequest:
    dn, pos = _string(buf, start, end, "entry")
    changes_start, changes_stop = ber.expect(buf, pos, end, SEQUENCE, "changes")
    _done(changes_stop, end, "modify request")
    changes = []
    for change_start, change_stop in _each(buf, changes_start, changes_stop, SEQUENCE, "change"):
        op_start, pos = ber.expect(buf, change_start, change_stop, ber.ENUMERATED, "change")
        operation = ModOp(ber.integer(buf, op_start, pos, "modify operation", 0, 3))
        attr_start, attr_stop = ber.expect(buf, pos, change_stop, SEQUENCE, "change")
        _done(attr_stop, change_stop, "change")
        attr, values = _attribute(buf, attr_start, attr_stop)
        changes.append(Modification(operation, attr, values))
    return ModifyRequest(dn, tuple(changes))


def _modify_dn(buf: Buffer, start: int, end: int) -> ModifyDNRequest:
    dn, pos = _string(buf, start, end, "entry")
    new_rdn, pos = _string(buf, pos, end, "newrdn")
    flag_start, pos = ber.expect(buf, pos, end, ber.BOOLEAN, "deleteoldrdn")
    delete_old = ber.boolean(buf, flag_start, pos, "deleteoldrdn")
    superior = None
    if pos < end:
        superior_start, pos = ber.expect(buf, pos, end, 0x80, "newSuperior")
        superior = ber.text(buf, superior_start, pos, "newSuperior")
    _done(pos, end, "modify DN request")
    return ModifyDNRequest(dn, new_rdn, delete_old, superior)


def _compare(buf: Buffer, start: int, end: int) -> CompareRequest:
    dn, pos = _string(buf, start, end, "entry")
    ava_start, ava_stop = ber.expect(buf, pos, end, SEQUENCE, "compare request")
    _done(ava_stop, end, "compare request")
    attr, pos = _string(buf, ava_start, ava_stop, "attribute description")
    value, pos = _bytes(buf, pos, ava_stop, "value")
    _done(pos, ava_stop, "compare request")
    return CompareRequest(dn, attr, value)


def _extended(buf: Buffer, start: int, end: int) -> ExtendedRequest:
    name_start, pos = ber.expect(buf, start, end, 0x80, "request name")
    name = ber.text(buf, name_start, pos, "request name")
    value = None
    if pos < end:
        value_start, pos = ber.expect(buf, pos, end, 0x81, "request value")
        value = bytes(buf[value_start:pos])
    _done(pos, end, "extended request")
    return ExtendedRequest(name, value)


def _delete(buf: Buffer, start: int, end: int) -> DeleteRequest:
    return DeleteRequest(ber.text(buf, start, end, "entry"))


def _abandon(buf: Buffer, start: int, end: int) -> AbandonRequest:
    return AbandonRequest(ber.integer(buf, start, end, "message ID"))


def _unbind(buf: Buffer, start: int, end: int) -> UnbindRequest:
    return UnbindRequest()


def read_filter(buf: Buffer, pos: int, end: int, depth: int = 0) -> tuple[flt.Filter, int]:
    """One Filter CHOICE (RFC 4511 §4.5.1.7) at `pos`, and the position after it; empty and/or
    are RFC 4526 absolute true/false."""
    if depth > MAX_FILTER_DEPTH:
        raise CodecError("filter nested too deeply")
    tag, start, stop = ber.element(buf, pos, end)
    assertion = _ASSERTIONS.get(tag)
    if assertion is not None:
        attr, inner = _string(buf, start, stop, "attribute description")
        value, inner = _bytes(buf, inner, stop, "assertion value")
        _done(inner, stop, "filter")
        return assertion(attr, value), stop
    if tag == 0xA0 or tag == 0xA1:
        children = []
        inner = start
        while inner < stop:
            child, inner = read_filter(buf, inner, stop, depth + 1)
            children.append(child)
        if len(children) > MAX_ELEMENTS:
            raise CodecError("request too complex to decode")
        return (flt.And if tag == 0xA0 else flt.Or)(tuple(children)), stop
    if tag == 0xA2:
        child, inner = read_filter(buf, start, stop, depth + 1)
        _done(inner, stop, "filter")
        return flt.Not(child), stop
    if tag == 0x87:
        return flt.Present(ber.text(buf, start, stop, "attribute description")), stop
    if tag == 0xA4:
        return _substrings(buf, start, stop), stop
    if tag == 0xA9:
        return _extensible(buf, start, stop), stop
    raise CodecError("malformed filter")


def _substrings(buf: Buffer, start: int, end: int) -> flt.Substrings:
    """RFC 4511: at most one initial (first), at most one final (last), at least one element."""
    attr, pos = _string(buf, start, end, "attribute description")
    seq_start, seq_stop = ber.expect(buf, pos, end, SEQUENCE, "substrings filter")
    _done(seq_stop, end, "substrings filter")
    parts = _many(buf, seq_start, seq_stop)
    if not parts:
        raise CodecError("empty substrings filter")
    initial: bytes | None = None
    final: bytes | None = None
    middle: list[bytes] = []
    for index, (tag, value_start, value_stop) in enumerate(parts):
        value = bytes(buf[value_start:value_stop])
        if tag == 0x80 and index == 0:
            initial = value
        elif tag == 0x82 and index == len(parts) - 1:
            final = value
        elif tag == 0x81:
            middle.append(value)
        else:
            raise CodecError("malformed substrings filter")
    return flt.Substrings(attr, initial, tuple(middle), final)


def _extensible(buf: Buffer, start: int, end: int) -> flt.Extensible:
    """MatchingRuleAssertion: [1] rule, [2] type, [3] value, [4] dnAttributes, in order."""
    fields: dict[int, tuple[int, int]] = {}
    for tag, value_start, value_stop in ber.elements(buf, start, end):
        if tag not in (0x81, 0x82, 0x83, 0x84) or any(seen >= tag for seen in fields):
            raise CodecError("malformed extensible match")
        fields[tag] = (value_start, value_stop)
    if 0x83 not in fields or (0x81 not in fields and 0x82 not in fields):
        raise CodecError("malformed extensible match")
    rule = None if 0x81 not in fields else ber.text(buf, *fields[0x81], "matching rule")
    attr = None if 0x82 not in fields else ber.text(buf, *fields[0x82], "attribute description")
    dn_attributes = 0x84 in fields and ber.boolean(buf, *fields[0x84], "dnAttributes")
    value = bytes(buf[fields[0x83][0] : fields[0x83][1]])
    return flt.Extensible(rule, attr, value, dn_attributes)


def _search_fields(buf: Buffer, start: int, end: int) -> tuple[SearchRequest, int, int]:
    """Everything of a SearchRequest but the filter (left as Present("objectClass")), and the
    filter's bounds."""
    base, pos = _string(buf, start, end, "base")
    scope_start, pos = ber.expect(buf, pos, end, ber.ENUMERATED, "scope")
    scope = Scope(ber.integer(buf, scope_start, pos, "scope", 0, 3))
    deref_start, pos = ber.expect(buf, pos, end, ber.ENUMERATED, "derefAliases")
    deref = DerefAliases(ber.integer(buf, deref_start, pos, "derefAliases", 0, 3))
    size_start, pos = ber.expect(buf, pos, end, ber.INTEGER, "sizeLimit")
    size_limit = ber.integer(buf, size_start, pos, "sizeLimit")
    time_start, pos = ber.expect(buf, pos, end, ber.INTEGER, "timeLimit")
    time_limit = ber.integer(buf, time_start, pos, "timeLimit")
    types_start, filter_start = ber.expect(buf, pos, end, ber.BOOLEAN, "typesOnly")
    types_only = ber.boolean(buf, types_start, filter_start, "typesOnly")
    filter_end = ber.element(buf, filter_start, end)[2]
    attrs_start, attrs_stop = ber.expect(buf, filter_end, end, SEQUENCE, "attribute list")
    _done(attrs_stop, end, "search request")
    attributes = [
        ber.text(buf, value_start, value_stop, "attribute")
        for value_start, value_stop in _each(buf, attrs_start, attrs_stop, OCTETS, "attributes")
    ]
    request = SearchRequest(
        base, scope, attributes=tuple(attributes), size_limit=size_limit,
        time_limit=time_limit, types_only=types_only, deref_aliases=deref,
    )  # fmt: skip
    return request, filter_start, filter_end


class SearchReader:
    """Reads SearchRequests (RFC 4511 §4.5.1), remembering each shape: the bytes around the
    filter decode the same every time, so a known shape costs reading its filter only."""

    def __init__(self, max_shapes: int = MAX_SHAPES) -> None:
        self._max = max_shapes
        self._shapes: dict[tuple[bytes, bytes], SearchRequest] = {}

    def __call__(self, buf: Buffer, start: int, end: int) -> SearchRequest:
        pos = start
        for _ in range(6):  # baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly
            # Skipped unchecked: the shape's bytes are only trusted once _search_fields has
            # read them, and a skip past `end` fails in read_filter.
            size = buf[pos + 1] if pos + 1 < end else 0x80
            pos = pos + 2 + size if size < 0x80 else ber.element(buf, pos, end)[2]
        filter_, filter_end = read_filter(buf, pos, end)
        shape = (bytes(buf[start:pos]), bytes(buf[filter_end:end]))
        template = self._shapes.get(shape)
        if template is None:
            template = _search_fields(buf, start, end)[0]
            if len(self._shapes) >= self._max:
                self._shapes.clear()
            self._shapes[shape] = template
        return SearchRequest(
            template.base, template.scope, filter_, template.attributes, template.size_limit,
            template.time_limit, template.types_only, template.deref_aliases,
        )  # fmt: skip


Reader = Callable[[Buffer, int, int], Request]
# RFC 4511 request protocolOps by tag, with the constructed bit as they must be sent.
READERS: dict[int, Reader] = {
    0x60: _bind,
    0x42: _unbind,
    0x66: _modify,
    0x68: _add,
    0x4A: _delete,
    0x6C: _modify_dn,
    0x6E: _compare,
    0x50: _abandon,
    0x77: _extended,
}
