"""Add (RFC 4511 §4.7): checks in OpenLDAP's order, then one store commit, then memory."""

from __future__ import annotations

from ixidir.directory.dit import Entry
from ixidir.directory.operational import COMPUTED, ENTRY_UUID, creation_stamps
from ixidir.directory.ops.attributes import (
    Working,
    add_rdn_values,
    frozen,
    protect_secrets,
    refuse_no_user_modification,
    resolve,
)
from ixidir.directory.requests import AddRequest, Principal
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN
from ixidir.errors import (
    EntryAlreadyExists,
    InsufficientAccessRights,
    NoSuchObject,
    UnwillingToPerform,
)


def add(
    state: DirectoryState, principal: Principal, request: AddRequest, *, import_mode: bool = False
) -> None:
    """Only the admin adds. `import_mode` (LDIF import) keeps operational attributes given in
    the request (createTimestamp, entryUUID, creatorsName, ...) instead of refusing them."""
    dn, key = state.parse_dn(request.dn)
    if not state.is_admin(principal):
        raise InsufficientAccessRights("only the administrator may add entries")
    if not dn:
        raise UnwillingToPerform("the root DSE cannot be added")
    if state.dit.get(key) is not None:
        raise EntryAlreadyExists(f"entry already exists: {request.dn}")
    if key != state.base_key and state.dit.get(state.key_of(dn.parent)) is None:
        matched = state.dit.deepest_existing(dn, state.key_of)
        raise NoSuchObject(f"parent of {request.dn} does not exist", matched_dn=matched)
    attributes = _collect(state, request, import_mode=import_mode)
    add_rdn_values(state, dn, attributes)
    protect_secrets(state, attributes)
    entry = build_new_entry(state, principal, dn, key, attributes)
    state.write(puts=[entry])


def _collect(state: DirectoryState, request: AddRequest, *, import_mode: bool) -> Working:
    attributes: Working = {}
    for name, values in request.attributes:
        at = resolve(state, name)
        if at.name in COMPUTED:
            if import_mode:
                continue  # entryDN, hasSubordinates, ... are computed on read, never stored
            refuse_no_user_modification(at)
        if not import_mode:
            refuse_no_user_modification(at)
        attributes.setdefault(at.name, []).extend(values)
    return attributes


def build_new_entry(
    state: DirectoryState, principal: Principal, dn: DN, key: str, attributes: Working
) -> Entry:
    """Schema checks and the stored operational attributes; given ones (imports) are kept."""
    state.schema.check_rdn(dn, attributes)
    structural = state.schema.check_entry(attributes)
    given_uuid = attributes.get(ENTRY_UUID)
    uuid = given_uuid[0].decode("ascii", "replace") if given_uuid else state.new_uuid()
    stamps = creation_stamps(
        creator=principal.dn, moment=state.clock(), uuid=uuid, structural=structural.name
    )
    for name, values in stamps.items():
        if not attributes.get(name) or name == "structuralObjectClass":
            attributes[name] = list(values)
    return state.make_entry(uuid=uuid, dn=dn, dn_key=key, attributes=frozen(attributes))
