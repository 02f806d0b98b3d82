"""Extended operations (RFC 4511 §4.12): a table from request OID to handler.

`standard_handlers()` holds WhoAmI, Password Modify and StartTLS; later features keep their own
tables (`limit_handlers` in limits_ext.py, `pin_handlers` in pin_ext.py), which `ixidir serve`
merges with it into the one table `find_handler` dispatches from, unchanged by any feature.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass

from ixidir.directory.ops.password import PasswordChange
from ixidir.directory.requests import Principal
from ixidir.errors import OperationsError, ProtocolError, Unavailable
from ixidir.server import ber
from ixidir.server.facade import Directory
from ixidir.server.pending import Compute, Pending, Write

WHO_AM_I_OID = "1.3.6.1.4.1.4203.1.11.3"  # RFC 4532
PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"  # noqa: S105  (RFC 3062, an OID)
START_TLS_OID = "1.3.6.1.4.1.1466.20037"  # RFC 4511 §4.14

# RFC 3062 PasswdModifyRequestValue fields, [0] [1] [2] IMPLICIT OCTET STRING.
_USER_IDENTITY, _OLD_PASSWD, _NEW_PASSWD = 0x80, 0x81, 0x82
_GEN_PASSWD = 0x80


@dataclass(frozen=True, slots=True)
class ExtendedCall:
    """What a handler may use: the directory, who is asking, the request value, TLS state."""

    directory: Directory
    principal: Principal
    value: bytes | None
    can_start_tls: bool = False
    tls_active: bool = False
    # Other requests of the connection were unanswered when this one arrived, or came after it.
    others_outstanding: bool = False


@dataclass(frozen=True, slots=True)
class ExtendedReply:
    """A successful ExtendedResponse's optional name and value; `start_tls` asks the transport."""

    name: str | None = None
    value: bytes | None = None
    start_tls: bool = False


# A handler answers at once, or is a generator that yields `Pending` items (pending.py) for
# work off the loop (a PIN hash, a counter update) and returns its reply.
ExtendedOutcome = ExtendedReply | Generator[Pending, None, ExtendedReply]
ExtendedHandler = Callable[[ExtendedCall], ExtendedOutcome]


def who_am_i(call: ExtendedCall) -> ExtendedReply:
    """RFC 4532: the authzId ("dn:..." or "" for anonymous); no request value allowed."""
    if call.value is not None:
        raise ProtocolError("Who am I? takes no request value")
    identity = call.directory.who_am_i(call.principal)
    if identity and not identity.startswith(("dn:", "u:")):
        identity = "dn:" + identity
    return ExtendedReply(value=identity.encode("utf-8"))


def password_modify(call: ExtendedCall) -> ExtendedOutcome:
    """RFC 3062: change (or generate) a password; a generated one comes back as genPasswd.

    The old password is checked and the new one hashed on the hash pool, and the change is
    committed by the writer thread (pending.py)."""
    fields = decode_passwd_modify(call.value)
    user = fields.get(_USER_IDENTITY)
    change = call.directory.begin_password_modify(
        call.principal,
        None if user is None else _utf8(user),
        fields.get(_OLD_PASSWD),
        fields.get(_NEW_PASSWD),
    )
    return _password_changed(call, change)


def _password_changed(
    call: ExtendedCall, change: PasswordChange
) -> Generator[Pending, None, ExtendedReply]:
    hashed = Pending(Compute(change.compute))
    yield hashed
    value = hashed.outcome()
    if not isinstance(value, bytes):
        raise TypeError("a password hash is bytes")
    directory, principal = call.directory, call.principal
    written = Pending(Write(lambda: directory.prepare_password(principal, change, value)))
    yield written
    written.outcome()
    if change.generated is None:
        return ExtendedReply()
    return ExtendedReply(value=ber.sequence(ber.octets(change.generated, _GEN_PASSWD)))


def decode_passwd_modify(value: bytes | None) -> dict[int, bytes]:
    """PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0], oldPasswd [1], newPasswd [2] },
    each OPTIONAL, in that order; an absent value means all three are absent."""
    if value is None:
        return {}
    items = ber.sequence_items(value, "password modify request")
    tags = [tag for tag, _, _ in items]
    # Each field at most once and in the order RFC 3062 declares them.
    in_order = all(a < b for a, b in itertools.pairwise(tags))
    if not in_order or any(t not in (_USER_IDENTITY, _OLD_PASSWD, _NEW_PASSWD) for t in tags):
        raise ProtocolError("malformed password modify request")
    return {tag: value[start:stop] for tag, start, stop in items}


def start_tls(call: ExtendedCall) -> ExtendedReply:
    """RFC 4511 §4.14; without a certificate we answer unavailable (52), as §4.14.2 suggests
    and slapd does ("Could not initialize TLS"); on a connection that already has TLS (a
    second StartTLS, or LDAPS) operationsError (1), as §4.14.2 says; likewise while other
    operations are outstanding (§4.14.1: the client sends nothing else until the answer)."""
    if call.value is not None:
        raise ProtocolError("StartTLS takes no request value")
    if call.tls_active:
        raise OperationsError("TLS is already established on this connection")
    if call.others_outstanding:
        raise OperationsError("StartTLS while other operations are outstanding")
    if not call.can_start_tls:
        raise Unavailable("TLS is not available")
    return ExtendedReply(name=START_TLS_OID, start_tls=True)


def _utf8(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("userIdentity is not UTF-8") from exc


def standard_handlers() -> dict[str, ExtendedHandler]:
    """The extended operations every ixidir server offers."""
    return {
        WHO_AM_I_OID: who_am_i,
        PASSWORD_MODIFY_OID: password_modify,
        START_TLS_OID: start_tls,
    }


def find_handler(handlers: Mapping[str, ExtendedHandler], oid: str) -> ExtendedHandler:
    """RFC 4511 §4.12: an unrecognized requestName gets protocolError."""
    handler = handlers.get(oid)
    if handler is None:
        raise ProtocolError(f"unsupported extended operation {oid}")
    return handler
