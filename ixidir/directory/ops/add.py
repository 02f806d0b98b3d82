"""Add (RFC 4511 §4.7): checks in OpenLDAP's order, then one store commit, then memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ixidir.directory.acl import require_authentication
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
from ixidir.directory.passwords import SecretHashes
from ixidir.directory.requests import AddRequest, Principal
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN
from ixidir.errors import (
    EntryAlreadyExists,
    InsufficientAccessRights,
    LDAPError,
    NoSuchObject,
    UnwillingToPerform,
)


def add(
    state: DirectoryState, principal: Principal, request: AddRequest, *, import_mode: bool = False
) -> None:
    """Only the admin adds. `import_mode` (LDIF import) keeps operational attributes given in
    the request (createTimestamp, entryUUID, creatorsName, ...) instead of refusing them."""
    state.write(puts=[prepare_add(state, principal, request, import_mode=import_mode)])


class BatchError(Exception):
    """Entry `index` of an `add_many` batch was refused; `error` says why (an LDAPError)."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def add_many(
    state: DirectoryState,
    principal: Principal,
    requests: Iterable[AddRequest],
    *,
    import_mode: bool = False,
    dry_run: bool = False,
) -> int:
    """Add every entry in one store transaction, all or nothing (LDIF import).

    Each entry is checked as `add` checks it, with the entries before it in the batch counting
    as existing (a parent may come earlier in the file). The first refusal raises BatchError
    with its position; nothing is written then. `dry_run` checks everything (routing numbers
    included) and writes nothing. Returns how many entries were (or would be) added.
    """
    pending: dict[str, Entry] = {}
    for index, request in enumerate(requests):
        try:
            entry = prepare_add(state, principal, request, import_mode=import_mode, pending=pending)
        except LDAPError as error:
            raise BatchError(index, error) from error
        pending[entry.dn_key] = entry
    try:
        if dry_run:
            state.routing.check((entry.uuid, entry.attributes) for entry in pending.values())
        else:
            state.write(puts=list(pending.values()))
    except LDAPError as error:
        raise BatchError(_culprit(state, pending, error), error) from error
    return len(pending)


def _culprit(state: DirectoryState, pending: dict[str, Entry], error: LDAPError) -> int:
    """The batch position a write-time refusal (a routing conflict) is about, best effort."""
    named = state.routing.claimant(
        error, ((entry.uuid, entry.attributes) for entry in pending.values())
    )
    if named is not None:
        return named
    for index, entry in enumerate(pending.values()):
        try:
            state.routing.check([(entry.uuid, entry.attributes)])
        except LDAPError:
            return index
    return len(pending) - 1 if pending else 0


def prepare_add(
    state: DirectoryState,
    principal: Principal,
    request: AddRequest,
    *,
    import_mode: bool = False,
    pending: Mapping[str, Entry] | None = None,
    hashes: SecretHashes | None = None,
    parsed: tuple[DN, str] | None = None,
) -> Entry:
    """Every check of an add, in OpenLDAP's order; returns the entry to write.

    `parsed`: the request's DN and key as `state.parse_dn` gave them (an import parses every
    DN once to plan, more than that method's memo holds)."""
    waiting = pending or {}
    dn, key = parsed or state.parse_dn(request.dn)
    if not state.is_admin(principal):
        require_authentication(principal, "an add")
        raise InsufficientAccessRights("only the administrator may add entries")
    if not dn:
        raise UnwillingToPerform("the root DSE cannot be added")
    if state.dit.get(key) is not None or key in waiting:
        raise EntryAlreadyExists(f"entry already exists: {request.dn}")
    parent_key = state.schema.parent_key(key)
    if key != state.base_key and state.dit.get(parent_key) is None and parent_key not in waiting:
        matched = state.dit.deepest_existing(dn, state.key_of)
        raise NoSuchObject(f"parent of {request.dn} does not exist", matched_dn=matched)
    attributes = _collect(state, request, import_mode=import_mode)
    add_rdn_values(state, dn, attributes)
    protect_secrets(state, attributes, hashes=hashes)
    return build_new_entry(state, principal, dn, key, attributes)


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
