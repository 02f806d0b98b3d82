"""Client-side helpers for the server tests: request bytes as real clients send them, and a
decoder for the server's responses (ldaptor's client decoder, turned into our values)."""

from __future__ import annotations

from typing import Any

from ldap3.operation.abandon import abandon_operation
from ldap3.operation.add import add_operation
from ldap3.operation.bind import bind_operation
from ldap3.operation.compare import compare_operation
from ldap3.operation.delete import delete_operation
from ldap3.operation.extended import extended_operation
from ldap3.operation.modify import modify_operation
from ldap3.operation.modifyDn import modify_dn_operation
from ldap3.operation.search import search_operation
from ldap3.protocol.convert import build_controls_list
from ldap3.protocol.rfc4511 import LDAPMessage, MessageID, ProtocolOp, UnbindRequest
from ldap3.utils.asn1 import encode
from ldaptor.protocols import pureber, pureldap

from ixidir.directory.requests import SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.messages import Control, ExtendedResult, Response, Result, ResultKind


def ldap3_message(
    message_id: int, kind: str, request: Any, controls: list[tuple[str, bool, Any]] | None = None
) -> bytes:
    """Encode exactly as ldap3's connection strategy does (ldap3/strategy/base.py)."""
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    message["protocolOp"] = ProtocolOp().setComponentByName(kind, request)
    built = build_controls_list(controls)
    if built is not None:
        message["controls"] = built
    data: bytes = encode(message)
    return data


def bind(message_id: int, dn: str, password: str) -> bytes:
    return ldap3_message(message_id, "bindRequest", bind_operation(3, "SIMPLE", dn, password))


def search(
    message_id: int,
    base: str,
    filter_text: str = "(objectClass=*)",
    *,
    scope: int = 2,
    attributes: list[str] | None = None,
    size_limit: int = 0,
    time_limit: int = 0,
    controls: list[tuple[str, bool, Any]] | None = None,
) -> bytes:
    request = search_operation(
        base, filter_text, scope, 0, attributes or [], size_limit, time_limit, False, True, False
    )
    return ldap3_message(message_id, "searchRequest", request, controls)


def add(message_id: int, dn: str, attributes: dict[str, list[str]]) -> bytes:
    return ldap3_message(message_id, "addRequest", add_operation(dn, attributes, False))


def modify(message_id: int, dn: str, changes: dict[str, list[tuple[int, list[str]]]]) -> bytes:
    return ldap3_message(message_id, "modifyRequest", modify_operation(dn, changes, False))


def delete(message_id: int, dn: str, controls: list[tuple[str, bool, Any]] | None = None) -> bytes:
    return ldap3_message(message_id, "delRequest", delete_operation(dn), controls)


def modify_dn(message_id: int, dn: str, new_rdn: str, new_superior: str | None = None) -> bytes:
    request = modify_dn_operation(dn, new_rdn, True, new_superior)
    return ldap3_message(message_id, "modDNRequest", request)


def compare(message_id: int, dn: str, attr: str, value: str) -> bytes:
    return ldap3_message(message_id, "compareRequest", compare_operation(dn, attr, value, False))


def extended(message_id: int, oid: str, value: bytes | None = None) -> bytes:
    return ldap3_message(message_id, "extendedReq", extended_operation(oid, value, no_encode=True))


def abandon(message_id: int, target: int) -> bytes:
    return ldap3_message(message_id, "abandonRequest", abandon_operation(target))


def unbind(message_id: int) -> bytes:
    return ldap3_message(message_id, "unbindRequest", UnbindRequest())


def paged(size: int, cookie: bytes = b"", *, critical: bool = True) -> tuple[str, bool, bytes]:
    value = pureber.BERSequence([pureber.BERInteger(size), pureber.BEROctetString(cookie)])
    return ("1.2.840.113556.1.4.319", critical, value.toWire())


_KINDS = {
    pureldap.LDAPBindResponse: ResultKind.BIND,
    pureldap.LDAPSearchResultDone: ResultKind.SEARCH_DONE,
    pureldap.LDAPModifyResponse: ResultKind.MODIFY,
    pureldap.LDAPAddResponse: ResultKind.ADD,
    pureldap.LDAPDelResponse: ResultKind.DELETE,
    pureldap.LDAPModifyDNResponse: ResultKind.MODIFY_DN,
    pureldap.LDAPCompareResponse: ResultKind.COMPARE,
}

Decoded = tuple[int, Response, tuple[Control, ...]]


def decode_responses(data: bytes) -> list[Decoded]:
    """Every complete response PDU in `data`, as (message ID, response, controls)."""
    decoder = pureldap.LDAPBERDecoderContext_TopLevel(
        inherit=pureldap.LDAPBERDecoderContext_LDAPMessage(
            fallback=pureldap.LDAPBERDecoderContext(fallback=pureber.BERDecoderContext()),
            inherit=pureldap.LDAPBERDecoderContext(fallback=pureber.BERDecoderContext()),
        )
    )
    found: list[Decoded] = []
    while data:
        message, used = pureber.berDecodeObject(decoder, data)
        data = data[used:]
        controls = tuple(
            Control(oid.decode(), bool(critical), value)
            for oid, critical, value in message.controls or ()
        )
        found.append((message.id, _response(message.value), controls))
    return found


def _response(op: Any) -> Response:
    if isinstance(op, pureldap.LDAPSearchResultEntry):
        attributes = tuple((name.decode(), tuple(values)) for name, values in op.attributes)
        return SearchResultEntry(op.objectName.decode(), attributes)
    if isinstance(op, pureldap.LDAPExtendedResponse):
        name = None if op.responseName is None else op.responseName.decode()
        return ExtendedResult(
            ResultCode(op.resultCode),
            op.matchedDN.decode(),
            op.errorMessage.decode(),
            name,
            op.response,
        )
    return Result(
        _KINDS[type(op)], ResultCode(op.resultCode), op.matchedDN.decode(), op.errorMessage.decode()
    )


def raw_bind(message_id: int, dn: str, password: bytes) -> bytes:
    """A simple bind ldap3 refuses to build (empty password), encoded by ldaptor."""
    request = pureldap.LDAPBindRequest(dn=dn.encode(), auth=password)
    data: bytes = pureldap.LDAPMessage(request, id=message_id).toWire()
    return data
