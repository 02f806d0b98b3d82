"""Translation between ldaptor's PDU objects and our typed messages, checking every field's shape.

ldaptor's decoder is lenient (it ignores the constructed bit, skips unknown tags and checks
shapes with `assert`), so nothing it returns is trusted: each field is type-checked here and a
wrong shape raises `CodecError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ldaptor.protocols import pureber, pureldap

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
    SearchResultEntry,
)
from ixidir.errors import ProtocolError
from ixidir.server.messages import (
    AbandonRequest,
    BindRequest,
    CompareRequest,
    Control,
    DeleteRequest,
    ExtendedRequest,
    ExtendedResult,
    Request,
    Response,
    Result,
    ResultKind,
    UnbindRequest,
)

# Deeper filters are refused: real clients nest a handful of levels, and recursion is bounded.
MAX_FILTER_DEPTH = 64
MAX_INT = 2**31 - 1  # RFC 4511 §4.1.1 maxInt


class CodecError(ProtocolError):
    """The client sent bytes that are not a well-formed LDAP request (RFC 4511 §4.1.1)."""


def _bytes(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise CodecError(f"malformed {what}")
    return value


def _text(value: object, what: str) -> str:
    try:
        return _bytes(value, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodecError(f"{what} is not UTF-8") from exc


def _octets(obj: object, what: str) -> bytes:
    if not isinstance(obj, pureber.BEROctetString):
        raise CodecError(f"malformed {what}")
    return _bytes(obj.value, what)


def _int(value: object, what: str, low: int = 0, high: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CodecError(f"malformed {what}")
    return value


def _seq(obj: object, what: str) -> list[Any]:
    if not isinstance(obj, pureber.BERSequence):
        raise CodecError(f"malformed {what}")
    return list(obj.data)


def _attribute(obj: object) -> tuple[str, tuple[bytes, ...]]:
    """PartialAttribute ::= SEQUENCE { type AttributeDescription, vals SET OF value }."""
    parts = _seq(obj, "attribute")
    if len(parts) != 2:
        raise CodecError("malformed attribute")
    values = tuple(_octets(v, "attribute value") for v in _seq(parts[1], "attribute values"))
    return _text(_octets(parts[0], "attribute description"), "attribute description"), values


def decode_filter(obj: object, depth: int = 0) -> flt.Filter:
    """RFC 4511 §4.5.1.7 Filter; empty and/or are RFC 4526 absolute true/false."""
    if depth > MAX_FILTER_DEPTH:
        raise CodecError("filter nested too deeply")
    match obj:
        case pureldap.LDAPFilter_and():
            return flt.And(tuple(decode_filter(f, depth + 1) for f in obj.data))
        case pureldap.LDAPFilter_or():
            return flt.Or(tuple(decode_filter(f, depth + 1) for f in obj.data))
        case pureldap.LDAPFilter_not():
            return flt.Not(decode_filter(obj.value, depth + 1))
        case pureldap.LDAPFilter_substrings():
            return _substrings(obj)
        case pureldap.LDAPFilter_present():
            return flt.Present(_text(obj.value, "attribute description"))
        case pureldap.LDAPFilter_extensibleMatch():
            return _extensible(obj)
        case pureldap.LDAPAttributeValueAssertion():
            return _assertion(obj)
    raise CodecError("malformed filter")


def _assertion(obj: Any) -> flt.Filter:
    attr = _text(_octets(obj.attributeDesc, "attribute description"), "attribute description")
    value = _octets(obj.assertionValue, "assertion value")
    match obj:
        case pureldap.LDAPFilter_equalityMatch():
            return flt.Equality(attr, value)
        case pureldap.LDAPFilter_greaterOrEqual():
            return flt.GreaterOrEqual(attr, value)
        case pureldap.LDAPFilter_lessOrEqual():
            return flt.LessOrEqual(attr, value)
        case pureldap.LDAPFilter_approxMatch():
            return flt.Approx(attr, value)
    raise CodecError("malformed filter")


def _substrings(obj: Any) -> flt.Substrings:
    """RFC 4511: at most one initial (first), at most one final (last), at least one element."""
    initial: bytes | None = None
    anys: list[bytes] = []
    final: bytes | None = None
    parts = list(obj.substrings)
    if not parts:
        raise CodecError("empty substrings filter")
    for index, part in enumerate(parts):
        value = _octets(part, "substring")
        if isinstance(part, pureldap.LDAPFilter_substrings_initial) and index == 0:
            initial = value
        elif isinstance(part, pureldap.LDAPFilter_substrings_final) and index == len(parts) - 1:
            final = value
        elif isinstance(part, pureldap.LDAPFilter_substrings_any):
            anys.append(value)
        else:
            raise CodecError("malformed substrings filter")
    return flt.Substrings(_text(obj.type, "attribute description"), initial, tuple(anys), final)


def _extensible(obj: Any) -> flt.Extensible:
    if obj.matchValue is None or (obj.matchingRule is None and obj.type is None):
        raise CodecError("malformed extensible match")
    rule = None if obj.matchingRule is None else _text(obj.matchingRule.value, "matching rule")
    attr = None if obj.type is None else _text(obj.type.value, "attribute description")
    dn_attributes = obj.dnAttributes is not None and bool(obj.dnAttributes.value)
    return flt.Extensible(rule, attr, _octets(obj.matchValue, "match value"), dn_attributes)


def decode_request(op: object) -> Request:
    """Turn ldaptor's protocolOp into our request value; responses from a client are refused."""
    match op:
        case pureldap.LDAPBindRequest():
            return _bind(op)
        case pureldap.LDAPUnbindRequest():
            return UnbindRequest()
        case pureldap.LDAPSearchRequest():
            return _search(op)
        case pureldap.LDAPModifyRequest():
            return _modify(op)
        case pureldap.LDAPAddRequest():
            attrs = tuple(_attribute(a) for a in _seq(op.attributes, "attribute list"))
            return AddRequest(_text(op.entry, "entry"), attrs)
        case pureldap.LDAPDelRequest():
            return DeleteRequest(_text(op.value, "entry"))
        case pureldap.LDAPModifyDNRequest():
            return _modify_dn(op)
        case pureldap.LDAPCompareRequest():
            return _compare(op)
        case pureldap.LDAPAbandonRequest():
            return AbandonRequest(_int(op.value, "message ID"))
        case pureldap.LDAPExtendedRequest():
            value = None if op.requestValue is None else _bytes(op.requestValue, "request value")
            return ExtendedRequest(_text(op.requestName, "request name"), value)
    raise CodecError("not an LDAP request")


def _bind(op: Any) -> BindRequest:
    version = _int(op.version, "version", 1, 127)
    dn = _text(op.dn, "bind DN")
    if op.sasl:
        mechanism, credentials = op.auth
        secret = b"" if credentials is None else _bytes(credentials, "SASL credentials")
        return BindRequest(version, dn, secret, _text(mechanism, "SASL mechanism"))
    return BindRequest(version, dn, _bytes(op.auth, "password"))


def _search(op: Any) -> SearchRequest:
    try:
        scope = Scope(_int(op.scope, "scope", 0, 3))
        deref = DerefAliases(_int(op.derefAliases, "derefAliases", 0, 3))
    except ValueError as exc:
        raise CodecError("malformed search request") from exc
    return SearchRequest(
        base=_text(op.baseObject, "base"),
        scope=scope,
        filter=decode_filter(op.filter),
        attributes=tuple(_text(a, "attribute") for a in op.attributes),
        size_limit=_int(op.sizeLimit, "sizeLimit"),
        time_limit=_int(op.timeLimit, "timeLimit"),
        types_only=bool(_int(op.typesOnly, "typesOnly", -1, 255)),
        deref_aliases=deref,
    )


def _modify(op: Any) -> ModifyRequest:
    changes = []
    for change in op.modification:
        parts = _seq(change, "change")
        if len(parts) != 2 or not isinstance(parts[0], pureber.BEREnumerated):
            raise CodecError("malformed change")
        try:
            operation = ModOp(_int(parts[0].value, "modify operation", 0, 3))
        except ValueError as exc:
            raise CodecError("malformed modify operation") from exc
        attr, values = _attribute(parts[1])
        changes.append(Modification(operation, attr, values))
    return ModifyRequest(_text(op.object, "entry"), tuple(changes))


def _modify_dn(op: Any) -> ModifyDNRequest:
    superior = None if op.newSuperior is None else _text(op.newSuperior, "newSuperior")
    return ModifyDNRequest(
        dn=_text(op.entry, "entry"),
        new_rdn=_text(op.newrdn, "newrdn"),
        delete_old_rdn=bool(_int(op.deleteoldrdn, "deleteoldrdn", -1, 255)),
        new_superior=superior,
    )


def _compare(op: Any) -> CompareRequest:
    ava = op.ava
    if not isinstance(ava, pureldap.LDAPAttributeValueAssertion):
        raise CodecError("malformed compare request")
    attr = _text(_octets(ava.attributeDesc, "attribute description"), "attribute description")
    return CompareRequest(_text(op.entry, "entry"), attr, _octets(ava.assertionValue, "value"))


def decode_controls(raw: Iterable[tuple[object, object, object]] | None) -> tuple[Control, ...]:
    """ldaptor hands controls over as (type, criticality, value) triples."""
    controls = []
    for oid, critical, value in raw or ():
        if critical is not None:
            _int(critical, "criticality", -1, 255)
        checked = None if value is None else _bytes(value, "control value")
        controls.append(Control(_text(oid, "control type"), bool(critical), checked))
    return tuple(controls)


_RESULT_CLASSES: dict[ResultKind, type[pureldap.LDAPResult]] = {
    ResultKind.BIND: pureldap.LDAPBindResponse,
    ResultKind.SEARCH_DONE: pureldap.LDAPSearchResultDone,
    ResultKind.MODIFY: pureldap.LDAPModifyResponse,
    ResultKind.ADD: pureldap.LDAPAddResponse,
    ResultKind.DELETE: pureldap.LDAPDelResponse,
    ResultKind.MODIFY_DN: pureldap.LDAPModifyDNResponse,
    ResultKind.COMPARE: pureldap.LDAPCompareResponse,
}


def encode_response(response: Response) -> Any:
    """Our response value as ldaptor's PDU object, ready for `toWire`."""
    match response:
        case Result():
            return _RESULT_CLASSES[response.kind](
                resultCode=int(response.code),
                matchedDN=response.matched_dn.encode("utf-8"),
                errorMessage=response.message.encode("utf-8"),
            )
        case ExtendedResult():
            return pureldap.LDAPExtendedResponse(
                resultCode=int(response.code),
                matchedDN=response.matched_dn.encode("utf-8"),
                errorMessage=response.message.encode("utf-8"),
                responseName=None if response.name is None else response.name.encode("ascii"),
                response=response.value,
            )
        case SearchResultEntry():
            attributes = [(name.encode("utf-8"), list(vals)) for name, vals in response.attributes]
            return pureldap.LDAPSearchResultEntry(
                objectName=response.dn.encode("utf-8"), attributes=attributes
            )
