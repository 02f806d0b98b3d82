"""Modify (RFC 4511 §4.6, increment RFC 4525): applied to a copy, checked, committed whole."""

from __future__ import annotations

from ixidir.directory.acl import require_authentication
from ixidir.directory.dit import Entry
from ixidir.directory.operational import STRUCTURAL_OBJECT_CLASS, modification_stamps
from ixidir.directory.ops.attributes import (
    USER_PASSWORD,
    VM_PIN,
    Working,
    contains,
    frozen,
    protect_secrets,
    refuse_no_user_modification,
    resolve,
)
from ixidir.directory.passwords import SecretHashes, verify_password
from ixidir.directory.requests import AccessClass, Modification, ModifyRequest, ModOp, Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import (
    AttributeOrValueExists,
    ConstraintViolation,
    InsufficientAccessRights,
    InvalidAttributeSyntax,
    NoSuchAttribute,
    NoSuchObject,
    NotAllowedOnRDN,
    ObjectClassModsProhibited,
    ProtocolError,
)
from ixidir.schema import AttributeType
from ixidir.schema.checks import entry_classes, structural_class
from ixidir.schema.model import quote_value
from ixidir.schema.schema import ava_value_bytes

INTEGER_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.27"
_SECRETS = (USER_PASSWORD, VM_PIN)


def modify(state: DirectoryState, principal: Principal, request: ModifyRequest) -> None:
    state.write(puts=[modified_entry(state, principal, request)])


def modified_entry(
    state: DirectoryState,
    principal: Principal,
    request: ModifyRequest,
    hashes: SecretHashes | None = None,
) -> Entry:
    """The entry after the modify, checked; nothing written.

    The admin may change anything; a user only its own userPassword; nobody else anything.
    """
    dn, key = state.parse_dn(request.dn)
    is_self = principal.dn != "" and state.principal_key(principal) == key
    if not state.is_admin(principal):
        require_authentication(principal, "a modify")
        own_password = all(
            state.schema.attribute(m.attr).name == USER_PASSWORD for m in request.changes
        )
        if not (is_self and own_password and principal.access is AccessClass.USER):
            raise InsufficientAccessRights("you may change only your own userPassword")
    entry = state.dit.get(key)
    if entry is None:
        matched = state.dit.deepest_existing(dn, state.key_of)
        raise NoSuchObject(f"no such object: {request.dn}", matched_dn=matched)
    attributes: Working = {name: list(values) for name, values in entry.attributes.items()}
    for change in request.changes:
        apply_modification(state, attributes, change)
    return finish_modified_entry(state, principal, entry, attributes, hashes)


def apply_modification(state: DirectoryState, attributes: Working, change: Modification) -> None:
    at = resolve(state, change.attr)
    refuse_no_user_modification(at)
    current = attributes.get(at.name, [])
    match change.operation:
        case ModOp.ADD:
            if not change.values:
                raise ProtocolError(f"modify/add: {at.name}: no values given")
            for value in change.values:
                if at.name not in _SECRETS and contains(at, current, value):
                    raise AttributeOrValueExists(
                        f"modify/add: {at.name}: value {quote_value(value)} already exists"
                    )
            attributes[at.name] = [*current, *change.values]
        case ModOp.DELETE:
            attributes[at.name] = _delete_values(at, current, change.values)
        case ModOp.REPLACE:
            attributes[at.name] = list(change.values)
        case ModOp.INCREMENT:
            attributes[at.name] = _increment(at, current, change.values)
    if not attributes[at.name]:
        del attributes[at.name]


def _delete_values(
    at: AttributeType, current: list[bytes], values: tuple[bytes, ...]
) -> list[bytes]:
    """Delete the named values (all of them when none are named); each must be present."""
    if not current:
        raise NoSuchAttribute(f"modify/delete: {at.name}: no such attribute")
    if not values:
        return []
    remaining = list(current)
    for value in values:
        kept = [v for v in remaining if not _same_value(at, v, value)]
        if len(kept) == len(remaining):
            raise NoSuchAttribute(f"modify/delete: {at.name}: no such value")
        remaining = kept
    return remaining


def _same_value(at: AttributeType, stored: bytes, value: bytes) -> bool:
    """Equality under the type's rule; a secret also matches the plaintext behind its hash."""
    if stored == value:
        return True
    if at.name in _SECRETS:
        return verify_password(stored, value)
    try:
        return contains(at, (stored,), value)
    except InvalidAttributeSyntax:
        return False


def _increment(at: AttributeType, current: list[bytes], values: tuple[bytes, ...]) -> list[bytes]:
    """RFC 4525: add the one given integer to every value of an existing integer attribute."""
    if at.syntax.oid != INTEGER_SYNTAX:
        raise ConstraintViolation(f"modify/increment: {at.name}: not an integer attribute")
    if len(values) != 1:
        raise ProtocolError(f"modify/increment: {at.name}: exactly one value required")
    if not current:
        raise NoSuchAttribute(f"modify/increment: {at.name}: no such attribute")
    try:
        delta = int(values[0])
        return [str(int(value) + delta).encode("ascii") for value in current]
    except ValueError:
        raise InvalidAttributeSyntax(f"modify/increment: {at.name}: not an integer") from None


def finish_modified_entry(
    state: DirectoryState,
    principal: Principal,
    entry: Entry,
    attributes: Working,
    hashes: SecretHashes | None = None,
) -> Entry:
    """RDN values kept, structural class unchanged, secrets hashed, schema checked, stamped."""
    for ava in entry.dn.rdn.avas:
        at = state.schema.attribute(ava.attr)
        if not contains(at, attributes.get(at.name, ()), ava_value_bytes(ava.value)):
            raise NotAllowedOnRDN(f"{at.name}: cannot remove a value of the entry's RDN")
    protect_secrets(state, attributes, previous=entry.attributes, hashes=hashes)
    attributes.pop(STRUCTURAL_OBJECT_CLASS, None)
    classes = entry_classes(state.schema, attributes.get("objectClass") or ())
    structural = structural_class(classes)
    before = entry.attributes.get(STRUCTURAL_OBJECT_CLASS, (b"",))[0].decode("utf-8")
    if before and state.schema.object_class(before).name != structural.name:
        raise ObjectClassModsProhibited(
            f"structural object class modification from '{before}' "
            f"to '{structural.name}' not allowed"
        )
    state.schema.check_entry(attributes, stored=entry.attributes)
    attributes[STRUCTURAL_OBJECT_CLASS] = [structural.name.encode("utf-8")]
    for name, values in modification_stamps(modifier=principal.dn, moment=state.clock()).items():
        attributes[name] = list(values)
    return state.make_entry(
        uuid=entry.uuid, dn=entry.dn, dn_key=entry.dn_key, attributes=frozen(attributes)
    )
