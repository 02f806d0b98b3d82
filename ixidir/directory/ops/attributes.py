"""Attribute handling shared by add, modify and modrdn: names, secrets, RDN values, NO-USER-MOD."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence

from ixidir.directory.operational import COMPUTED
from ixidir.directory.passwords import Cleartext, SecretHashes, is_hashed
from ixidir.directory.pins import protect_pin
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN
from ixidir.errors import (
    ConstraintViolation,
    InvalidAttributeSyntax,
    LDAPError,
    UnwillingToPerform,
)
from ixidir.schema import AttributeType
from ixidir.schema.schema import ava_value_bytes

Working = MutableMapping[str, list[bytes]]
USER_PASSWORD = "userPassword"  # noqa: S105 (an attribute name)
VM_PIN = "ixiVmPin"


def resolve(state: DirectoryState, name: str) -> AttributeType:
    """An attribute description's type; UndefinedAttributeType when unknown.

    Attribute options (`cn;lang-de`) are refused: entries hold no tagged values, and storing the
    value under the bare type would silently change what the client asked for.
    """
    if ";" in name:
        raise UnwillingToPerform(f"{name}: attribute options are not supported")
    return state.schema.attribute(name)


def refuse_no_user_modification(at: AttributeType) -> None:
    """RFC 4512 §4.1.2: NO-USER-MODIFICATION attributes are the server's alone."""
    if at.no_user_modification or at.name in COMPUTED:
        raise ConstraintViolation(f"{at.name}: no user modification allowed")


def protect_secrets(
    state: DirectoryState,
    attributes: Working,
    *,
    previous: Mapping[str, Sequence[bytes]] | None = None,
    hashes: SecretHashes | None = None,
) -> None:
    """Hash userPassword values that are not hashed yet (imports keep theirs); check and hash
    ixiVmPin by the PIN rules and stamp ixiVmPinChangedAt (`pins.protect_pin`).

    `previous` is the entry's attributes before a modify or modrdn, None for an add.
    `hashes`: computed ahead (`cleartext_secrets`), so no hash is computed here.
    """
    known = hashes or SecretHashes()
    policy = state.password_policy
    if USER_PASSWORD in attributes:
        attributes[USER_PASSWORD] = [
            value if is_hashed(value) else known.password(value, policy)
            for value in attributes[USER_PASSWORD]
        ]
    iterations = state.settings.pin_iterations
    protect_pin(
        attributes, previous=previous, iterations=iterations, clock=state.clock, hashes=known
    )


def cleartext_secrets(
    state: DirectoryState, values: Iterable[tuple[str, Sequence[bytes]]]
) -> Cleartext | None:
    """The cleartext userPassword and ixiVmPin values among a write's (attribute, values), to
    hash on a thread before the write is checked; None when there are none."""
    passwords: list[bytes] = []
    pins: list[bytes] = []
    for name, given in values:
        try:
            attribute = resolve(state, name).name
        except LDAPError:
            continue  # the write is refused when it is checked
        if attribute == USER_PASSWORD:
            passwords.extend(value for value in given if not is_hashed(value))
        elif attribute == VM_PIN:
            pins.extend(value for value in given if not value.startswith(b"{"))
    if not passwords and not pins:
        return None
    iterations = state.settings.pin_iterations
    return Cleartext(tuple(passwords), tuple(pins), state.password_policy, iterations)


def add_rdn_values(state: DirectoryState, dn: DN, attributes: Working) -> None:
    """Add each RDN value the entry lacks (OpenLDAP does this on add and modrdn)."""
    for ava in dn.rdn.avas:
        at = resolve(state, ava.attr)
        values = attributes.setdefault(at.name, [])
        wanted = ava_value_bytes(ava.value)
        if not contains(at, values, wanted):
            values.append(wanted)


def contains(at: AttributeType, values: Iterable[bytes], value: bytes) -> bool:
    """Whether `value` is among `values` under the type's equality rule (bytes without one)."""
    rule = at.equality
    if rule is None:
        return value in values
    key = rule.normalize(value)  # InvalidAttributeSyntax for an assertion it cannot read
    for stored in values:
        try:
            if rule.normalize(stored) == key:
                return True
        except InvalidAttributeSyntax:  # a stored value the rule cannot read is not equal
            continue
    return False


def frozen(attributes: Working) -> dict[str, tuple[bytes, ...]]:
    """The working copy as an entry's immutable attributes (empty attributes dropped)."""
    return {name: tuple(values) for name, values in attributes.items() if values}
