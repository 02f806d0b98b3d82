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

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ixidir.directory.dit import Entry
from ixidir.directory.pins import PinCheck, PinResult
from ixidir.directory.requests import Principal
from ixidir.directory.state import PreparedWrite
from ixidir.errors import ProtocolError, UnwillingToPerform
from ixidir.server import ber
from ixidir.server.extended import ExtendedCall, ExtendedHandler, ExtendedOutcome, ExtendedReply
from ixidir.server.pending import Compute, Pending, Write

VERIFY_PIN_OID = "2.25.36358030867219218258049950064569224190.3.3"
# No PIN is longer than 12 digits; a longer value is still verified (an imported legacy PIN may
# break our rules) but anything past this is not a PIN at all.
MAX_PIN_OCTETS = 256


@runtime_checkable
class PinVerifier(Protocol):
    """What this operation needs of the directory (`Directory` offers it): the check without
    its hashing, the count of its outcome, and the write of that count."""

    def begin_verify_pin(
        self, principal: Principal, user_dn: str, pin: bytes
    ) -> PinResult | PinCheck: ...

    def settle_pin(self, check: PinCheck, matched: bool) -> tuple[PinResult, Entry | None]: ...

    def prepare_puts(self, entries: Sequence[Entry]) -> PreparedWrite: ...


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


def verify_pin(call: ExtendedCall) -> ExtendedOutcome:
    """Check a caller's PIN for the voice package; failures count towards the lock.

    The hash is checked on the hash pool, the failure count committed by the writer thread
    (pending.py); the answer leaves once the count is durable."""
    request = decode_verify_pin(call.value)
    directory = call.directory
    if not isinstance(directory, PinVerifier):
        raise UnwillingToPerform("this server cannot verify PINs")
    started = directory.begin_verify_pin(call.principal, request.user, request.pin)
    if isinstance(started, PinResult):
        return _reply(started)
    return _verified(directory, started)


def _verified(directory: PinVerifier, check: PinCheck) -> Generator[Pending, None, ExtendedReply]:
    return _reply((yield from verified_pin(directory, check)))


def verified_pin(directory: PinVerifier, check: PinCheck) -> Generator[Pending, None, PinResult]:
    """Hash on the pool, then count the outcome through the writer; the result once durable.

    Shared with Compare on ixiVmPin (the voice package's way to check a PIN)."""
    hashed = Pending(Compute(check.verify))
    yield hashed
    matched = hashed.outcome() is True
    answers: list[PinResult] = []

    def prepare() -> PreparedWrite:
        # Counted on the mailbox as memory holds it when the write is checked (again, should
        # another write to it be in flight), so concurrent wrong PINs all count.
        result, counted = directory.settle_pin(check, matched)
        answers.append(result)
        return directory.prepare_puts([] if counted is None else [counted])

    written = Pending(Write(prepare))
    yield written
    written.outcome()
    return answers[-1]


def _reply(result: PinResult) -> ExtendedReply:
    return ExtendedReply(name=VERIFY_PIN_OID, value=encode_verify_pin_response(result))


def pin_handlers() -> dict[str, ExtendedHandler]:
    """The voice-mailbox operations (add to the server's handler table)."""
    return {VERIFY_PIN_OID: verify_pin}
