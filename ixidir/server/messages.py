"""The LDAP messages the server exchanges, as plain values (the directory's requests plus the rest).

Search, add, modify and modify-DN requests are the directory's own values
(`ixidir.directory.requests`); the operations that never reach the directory as a request value
(bind, unbind, delete, compare, abandon, extended) and every response are defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ixidir.directory.requests import (
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.errors import ResultCode


@dataclass(frozen=True, slots=True)
class Control:
    """RFC 4511 §4.1.11: a control as sent; `value` is None when the client sent none."""

    oid: str
    critical: bool = False
    value: bytes | None = None


@dataclass(frozen=True, slots=True)
class BindRequest:
    """RFC 4511 §4.2; `mechanism` is set for SASL (which we refuse), else simple bind."""

    version: int
    dn: str
    password: bytes
    mechanism: str | None = None


@dataclass(frozen=True, slots=True)
class UnbindRequest:
    pass


@dataclass(frozen=True, slots=True)
class DeleteRequest:
    dn: str


@dataclass(frozen=True, slots=True)
class CompareRequest:
    dn: str
    attr: str
    value: bytes


@dataclass(frozen=True, slots=True)
class AbandonRequest:
    message_id: int


@dataclass(frozen=True, slots=True)
class ExtendedRequest:
    oid: str
    value: bytes | None = None


Request = (
    BindRequest
    | UnbindRequest
    | SearchRequest
    | ModifyRequest
    | AddRequest
    | DeleteRequest
    | ModifyDNRequest
    | CompareRequest
    | AbandonRequest
    | ExtendedRequest
)


@dataclass(frozen=True, slots=True)
class LDAPMessage:
    """One decoded client PDU (RFC 4511 §4.1.1)."""

    message_id: int
    request: Request
    controls: tuple[Control, ...] = ()


class ResultKind(Enum):
    """Which response PDU carries an LDAPResult (RFC 4511 §4.2.2 ... §4.10)."""

    BIND = "bind"
    SEARCH_DONE = "search_done"
    MODIFY = "modify"
    ADD = "add"
    DELETE = "delete"
    MODIFY_DN = "modify_dn"
    COMPARE = "compare"


@dataclass(frozen=True, slots=True)
class Result:
    kind: ResultKind
    code: ResultCode
    matched_dn: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class ExtendedResult:
    """RFC 4511 §4.12; `name` and `value` are absent unless the operation defines them."""

    code: ResultCode
    matched_dn: str = ""
    message: str = ""
    name: str | None = None
    value: bytes | None = None


Response = Result | ExtendedResult | SearchResultEntry

# RFC 4511 §4.4.1: the Notice of Disconnection, sent with messageID 0 before the server closes.
NOTICE_OF_DISCONNECTION_OID = "1.3.6.1.4.1.1466.20036"
