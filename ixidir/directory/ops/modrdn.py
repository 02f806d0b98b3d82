"""Modify DN (RFC 4511 §4.9): rename and/or move an entry with its whole subtree, one commit."""

from __future__ import annotations

from ixidir.directory.acl import require_authentication
from ixidir.directory.dit import Entry
from ixidir.directory.ops.attributes import Working, add_rdn_values, contains, resolve
from ixidir.directory.ops.modify import finish_modified_entry
from ixidir.directory.requests import ModifyDNRequest, Principal
from ixidir.directory.state import DirectoryState
from ixidir.dn import DN, RDN
from ixidir.errors import (
    EntryAlreadyExists,
    InsufficientAccessRights,
    InvalidDNSyntax,
    NoSuchObject,
    UnwillingToPerform,
)
from ixidir.schema.schema import ava_value_bytes


def modify_dn(state: DirectoryState, principal: Principal, request: ModifyDNRequest) -> None:
    state.write(puts=renamed_entries(state, principal, request))


def renamed_entries(
    state: DirectoryState, principal: Principal, request: ModifyDNRequest
) -> list[Entry]:
    """The renamed entry and its re-based subtree, checked; nothing written.

    Admin only. Every descendant gets its new DN in the same store transaction.
    """
    dn, key = state.parse_dn(request.dn)
    new_rdn = _parse_rdn(request.new_rdn)
    if not state.is_admin(principal):
        require_authentication(principal, "a rename")
        raise InsufficientAccessRights("only the administrator may rename entries")
    entry = state.dit.get(key)
    if entry is None or not dn:
        raise NoSuchObject(
            f"no such object: {request.dn}", matched_dn=state.dit.deepest_existing(dn, state.key_of)
        )
    if key == state.base_key:
        raise UnwillingToPerform("the naming context (base entry) cannot be renamed")
    parent = _new_parent(state, entry, request)
    new_dn = parent.child(new_rdn)
    new_key = state.key_of(new_dn)
    if new_key != key and state.dit.get(new_key) is not None:
        raise EntryAlreadyExists(f"entry already exists: {new_dn}")
    attributes: Working = {name: list(values) for name, values in entry.attributes.items()}
    if request.delete_old_rdn:
        _remove_old_rdn(state, entry.dn.rdn, new_rdn, attributes)
    add_rdn_values(state, new_dn, attributes)
    moved = state.make_entry(
        uuid=entry.uuid, dn=new_dn, dn_key=new_key, attributes=entry.attributes
    )
    renamed = finish_modified_entry(state, principal, moved, attributes)
    return [renamed, *_moved_descendants(state, entry, new_dn)]


def _parse_rdn(text: str) -> RDN:
    parsed = DN.parse(text)
    if len(parsed.rdns) != 1:
        raise InvalidDNSyntax(f"invalid new RDN {text!r}: exactly one RDN required")
    return parsed.rdn


def _new_parent(state: DirectoryState, entry: Entry, request: ModifyDNRequest) -> DN:
    if request.new_superior is None:
        return entry.dn.parent
    superior, superior_key = state.parse_dn(request.new_superior)
    target = state.dit.get(superior_key)
    if target is None:
        raise NoSuchObject(
            f"new superior {request.new_superior} does not exist",
            matched_dn=state.dit.deepest_existing(superior, state.key_of),
        )
    if state.dit.is_within(target, entry.dn_key):
        raise UnwillingToPerform("an entry cannot be moved below itself")
    return target.dn


def _remove_old_rdn(state: DirectoryState, old: RDN, new: RDN, attributes: Working) -> None:
    """deleteoldrdn: drop the old RDN's values, except those the new RDN names again."""
    keep = {(resolve(state, a.attr).name, ava_value_bytes(a.value)) for a in new.avas}
    for ava in old.avas:
        at = resolve(state, ava.attr)
        value = ava_value_bytes(ava.value)
        if any(name == at.name and contains(at, (v,), value) for name, v in keep):
            continue
        attributes[at.name] = [
            v for v in attributes.get(at.name, []) if not contains(at, (v,), value)
        ]
        if not attributes[at.name]:
            del attributes[at.name]


def _moved_descendants(state: DirectoryState, entry: Entry, new_dn: DN) -> list[Entry]:
    """Every entry below `entry`, re-based under `new_dn` (attributes unchanged)."""
    depth = len(entry.dn.rdns)
    moved = []
    for below in state.dit.subtree(entry.dn_key, include_base=False):
        dn = DN(below.dn.rdns[: len(below.dn.rdns) - depth] + new_dn.rdns)
        moved.append(
            state.make_entry(
                uuid=below.uuid, dn=dn, dn_key=state.key_of(dn), attributes=below.attributes
            )
        )
    return moved
