"""Compare (RFC 4511 §4.10); compareTrue/compareFalse are answers, so this returns a bool.

Secrets: a Compare on ixiVmPin verifies a plain PIN against the stored hash (SCHEMA.md), for the
admin and service accounts (the voice package asks as a service). A Compare on userPassword
verifies too, for the admin only; anyone else gets insufficientAccessRights for either, so
Compare cannot be used to guess passwords (users authenticate by Bind).
"""

from __future__ import annotations

from dataclasses import dataclass

from ixidir.directory import pins
from ixidir.directory.acl import SECRET_ATTRIBUTES
from ixidir.directory.dit import Entry
from ixidir.directory.ops.attributes import VM_PIN, contains
from ixidir.directory.passwords import verify_password
from ixidir.directory.requests import AccessClass, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import (
    InappropriateMatching,
    InsufficientAccessRights,
    NoSuchAttribute,
    NoSuchObject,
)
from ixidir.schema import AttributeType

OBJECT_CLASS = "objectClass"


@dataclass(frozen=True, slots=True)
class SecretCheck:
    """A Compare against stored hashes: `verify` is pure CPU (PBKDF2), so a server runs it on
    a thread."""

    stored: tuple[bytes, ...]
    candidate: bytes

    def verify(self) -> bool:
        return any(verify_password(hashed, self.candidate) for hashed in self.stored)


def compare(
    state: DirectoryState, principal: Principal, dn_text: str, attr: str, value: bytes
) -> bool:
    started = begin_compare(state, principal, dn_text, attr, value)
    if isinstance(started, pins.PinCheck):
        result = pins.finish_verify_pin(state, started, now=state.clock())
        return result.result is pins.PinOutcome.OK
    if isinstance(started, SecretCheck):
        return started.verify()
    return started


def begin_compare(
    state: DirectoryState, principal: Principal, dn_text: str, attr: str, value: bytes
) -> bool | pins.PinCheck | SecretCheck:
    """The answer, or the hash check it waits for: a PIN (counted like the verify-PIN
    operation, `pins.settle_pin`) or another secret."""
    dn, key = state.parse_dn(dn_text)
    reader = state.reader(principal)
    entry = state.dit.get(key)
    if entry is None or not reader.may_read(entry):
        matched = state.dit.deepest_existing(dn, state.key_of) if reader.sees_all else ""
        raise NoSuchObject(f"no such object: {dn_text}", matched_dn=matched)
    at = state.schema.attribute(attr)
    if at.name == VM_PIN and principal.access is AccessClass.SERVICE:
        # The voice package's Compare counts failures and locks like the verify-PIN operation
        # (SCHEMA.md): a locked mailbox compares false whatever the PIN.
        started = pins.begin_verify_pin(state, principal, dn_text, value, now=state.clock())
        return started if isinstance(started, pins.PinCheck) else False  # locked
    if at.name in SECRET_ATTRIBUTES:
        return _compare_secret(principal, entry, at, value)
    if at.equality is None:
        raise InappropriateMatching(f"{at.name}: attribute type has no equality matching rule")
    view = reader.view(entry, state.dit, state.computed)
    values = view.get(at.name) if view is not None else None
    if not values:
        raise NoSuchAttribute(f"{at.name}: no such attribute in {dn_text}")
    if at.name == OBJECT_CLASS:
        # By the class hierarchy, as a search filter matches it (RFC 4512 §2.4.1).
        at.equality.normalize(value)  # InvalidAttributeSyntax for an assertion it cannot read
        return state.compiler.equality(at.name, value).evaluate({at.name: values}, entry.dn) is True
    return contains(at, values, value)


def _compare_secret(
    principal: Principal, entry: Entry, at: AttributeType, value: bytes
) -> SecretCheck:
    allowed = {AccessClass.ADMIN} | ({AccessClass.SERVICE} if at.name == VM_PIN else set())
    if principal.access not in allowed:
        raise InsufficientAccessRights(f"{at.name}: comparison not allowed")
    stored = entry.attributes.get(at.name)
    if not stored:
        raise NoSuchAttribute(f"{at.name}: no such attribute")
    return SecretCheck(tuple(stored), value)
