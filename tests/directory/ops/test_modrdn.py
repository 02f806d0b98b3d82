"""Modify DN: rename, deleteoldrdn both ways, move, subtree moves in one commit, errors."""

from __future__ import annotations

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, ALICE, ALICE_P, BASE, PEOPLE, read
from ixidir.directory.directory import Directory
from ixidir.directory.requests import AddRequest, ModifyDNRequest, Scope, SearchRequest
from ixidir.errors import (
    EntryAlreadyExists,
    InsufficientAccessRights,
    NoSuchObject,
    UnwillingToPerform,
)


def rename(
    directory: Directory, dn: str, rdn: str, *, delete_old: bool = True, superior: str | None = None
) -> None:
    directory.modify_dn(ADMIN, ModifyDNRequest(dn, rdn, delete_old, superior))


def test_rename_deleting_old_rdn(directory: Directory) -> None:
    rename(directory, ALICE, "uid=alicia")
    attrs = read(directory, f"uid=alicia,{PEOPLE}")
    assert attrs["uid"] == (b"alicia",)
    with pytest.raises(NoSuchObject):
        read(directory, ALICE)


def test_rename_keeping_old_rdn(directory: Directory) -> None:
    rename(directory, ALICE, "uid=alicia", delete_old=False)
    assert set(read(directory, f"uid=alicia,{PEOPLE}")["uid"]) == {b"alice", b"alicia"}


def test_case_only_rename(directory: Directory) -> None:
    rename(directory, ALICE, "uid=Alice")
    (entry,) = directory.search(ADMIN, SearchRequest(ALICE, Scope.BASE))
    assert entry.dn == f"uid=Alice,{PEOPLE}"


def test_move_subtree_updates_every_descendant(
    directory: Directory, store: MemoryEntryStore
) -> None:
    directory.add(
        ADMIN, AddRequest(f"ou=staff,{BASE}", (("objectClass", (b"organizationalUnit",)),))
    )
    rename(directory, PEOPLE, "ou=persons", superior=f"ou=staff,{BASE}")
    moved = f"uid=alice,ou=persons,ou=staff,{BASE}"
    assert read(directory, moved)["entryDN"] == (moved.encode(),)
    found = directory.search(
        ADMIN, SearchRequest(f"ou=staff,{BASE}", Scope.SUB, attributes=("1.1",))
    )
    assert {e.dn for e in found} == {
        f"ou=staff,{BASE}",
        f"ou=persons,ou=staff,{BASE}",
        moved,
        f"uid=bob,ou=persons,ou=staff,{BASE}",
    }
    assert moved in {e.dn for e in store.entries.values()}
    assert len(store.changelog[-1][1]) == 3  # one commit for the entry and both children


def test_target_exists(directory: Directory) -> None:
    with pytest.raises(EntryAlreadyExists):
        rename(directory, ALICE, "uid=bob")


def test_new_superior_must_exist(directory: Directory) -> None:
    with pytest.raises(NoSuchObject):
        rename(directory, ALICE, "uid=alice", superior=f"ou=nowhere,{BASE}")


def test_cannot_move_below_itself(directory: Directory) -> None:
    with pytest.raises(UnwillingToPerform):
        rename(directory, PEOPLE, "ou=x", superior=ALICE)


def test_only_admin(directory: Directory) -> None:
    with pytest.raises(InsufficientAccessRights):
        directory.modify_dn(ALICE_P, ModifyDNRequest(ALICE, "uid=x", True))


def test_missing_entry(directory: Directory) -> None:
    with pytest.raises(NoSuchObject):
        rename(directory, f"uid=zed,{PEOPLE}", "uid=x")
