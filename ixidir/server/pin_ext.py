"""The "verify PIN" extended operation (issue 5 item 4): BER in and out, over `directory.pins`.

    VerifyPinRequestValue  ::= SEQUENCE { user LDAPDN, pin OCTET STRING }
    VerifyPinResponseValue ::= SEQUENCE {
        result       ENUMERATED { ok(0), wrong(1), locked(2) },
        attemptsLeft INTEGER }

A wrong or locked PIN is still resultCode success: the answer is in `result`. Callable by the
administrator and the service accounts (else insufficientAccessRights); an unknown user is
noSuchObject, a user without a PIN noSuchAttribute, a malformed value protocolError. Goes into the
server's extended-op table via `pin_handlers`, merged with `extended.standard_handlers()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ixidir.directory.pins import PinResult
from ixidir.directory.requests import Principal
from ixidir.errors import ProtocolError, UnwillingToPerform
from ixidir.server import ber
from ixidir.server.extended import ExtendedCall, ExtendedHandler, ExtendedReply

VERIFY_PIN_OID = "2.25.36358030867219218258049950064569224190.3.3"
# No PIN is longer than 12 digits; a longer value is still verified (an imported legacy PIN may
# break our rules) but anything past this is not a PIN at all.
MAX_PIN_OCTETS = 256


@runtime_checkable
class PinVerifier(Protocol):
    """The one directory method this operation needs (`Directory.verify_pin`)."""

    def verify_pin(self, principal: Principal, user_dn: str, pin: bytes) -> PinResult: ...


@dataclass(frozen=True, slots=True)
class VerifyPinRequest:
    user: str
    pin: bytes


def decode_verify_pin(value: bytes | None) -> VerifyPinRequest:
    """The request value, strictly: anything but the two OCTET STRINGs is protocolError."""
    if value is None:
        raise ProtocolError("verify PIN needs a request value")
    parts = ber.sequence_items(value, "verify PIN request value")
    if len(parts) != 2:
        raise ProtocolError("malformed verify PIN request value")
    (user_tag, user_start, user_end), (pin_tag, pin_start, pin_end) = parts
    if user_tag != ber.OCTETS or pin_tag != ber.OCTETS:
        raise ProtocolError("verify PIN request: expected user LDAPDN and pin OCTET STRING")
    if pin_end - pin_start > MAX_PIN_OCTETS:
        raise ProtocolError("verify PIN request: the pin is too long")
    try:
        user = value[user_start:user_end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("verify PIN request: the user DN is not UTF-8") from exc
    return VerifyPinRequest(user, value[pin_start:pin_end])


def encode_verify_pin_response(result: PinResult) -> bytes:
    return ber.sequence(
        ber.integer_tlv(int(result.result), ber.ENUMERATED), ber.integer_tlv(result.attempts_left)
    )


def verify_pin(call: ExtendedCall) -> ExtendedReply:
    """Check a caller's PIN for the voice package; failures count towards the lock."""
    request = decode_verify_pin(call.value)
    directory = call.directory
    if not isinstance(directory, PinVerifier):
        raise UnwillingToPerform("this server cannot verify PINs")
    result = directory.verify_pin(call.principal, request.user, request.pin)
    return ExtendedReply(name=VERIFY_PIN_OID, value=encode_verify_pin_response(result))


def pin_handlers() -> dict[str, ExtendedHandler]:
    """The voice-mailbox operations (add to the server's handler table)."""
    return {VERIFY_PIN_OID: verify_pin}
