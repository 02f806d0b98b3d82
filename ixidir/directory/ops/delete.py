"""Delete (RFC 4511 §4.8): leaves only, by the administrator."""

from __future__ import annotations

from ixidir.directory.acl import require_authentication
from ixidir.directory.dit import Entry
from ixidir.directory.requests import Principal
from ixidir.directory.state import DirectoryState
from ixidir.errors import InsufficientAccessRights, NoSuchObject, NotAllowedOnNonLeaf


def delete(state: DirectoryState, principal: Principal, dn_text: str) -> None:
    state.write(deletes=[deleted_entry(state, principal, dn_text)])


def deleted_entry(state: DirectoryState, principal: Principal, dn_text: str) -> Entry:
    """The entry a delete removes, checked; nothing written."""
    dn, key = state.parse_dn(dn_text)
    if not state.is_admin(principal):
        require_authentication(principal, "a delete")
        raise InsufficientAccessRights("only the administrator may delete entries")
    entry = state.dit.get(key)
    if entry is None or not dn:
        matched = state.dit.deepest_existing(dn, state.key_of)
        raise NoSuchObject(f"no such object: {dn_text}", matched_dn=matched)
    if state.dit.has_children(key):
        raise NotAllowedOnNonLeaf(f"{dn_text} has subordinate entries")
    return entry
