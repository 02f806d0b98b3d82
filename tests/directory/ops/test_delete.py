"""Delete: leaves only, admin only, missing entries."""

from __future__ import annotations

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, ALICE, ALICE_P, PEOPLE, SERVICE, read
from ixidir.directory.directory import Directory
from ixidir.errors import InsufficientAccessRights, NoSuchObject, NotAllowedOnNonLeaf


def test_delete_leaf(directory: Directory, store: MemoryEntryStore) -> None:
    directory.delete(ADMIN, ALICE)
    with pytest.raises(NoSuchObject):
        read(directory, ALICE)
    assert all(entry.dn != ALICE for entry in store.entries.values())


def test_non_leaf_is_refused(directory: Directory) -> None:
    with pytest.raises(NotAllowedOnNonLeaf):
        directory.delete(ADMIN, PEOPLE)


@pytest.mark.parametrize("who", [ALICE_P, SERVICE])
def test_only_admin_deletes(directory: Directory, who: object) -> None:
    with pytest.raises(InsufficientAccessRights):
        directory.delete(who, ALICE)  # type: ignore[arg-type]
    assert read(directory, ALICE)


def test_missing_entry(directory: Directory) -> None:
    with pytest.raises(NoSuchObject) as info:
        directory.delete(ADMIN, f"uid=nobody,{PEOPLE}")
    assert info.value.matched_dn == PEOPLE


def test_parent_becomes_leaf(directory: Directory) -> None:
    directory.delete(ADMIN, ALICE)
    directory.delete(ADMIN, f"uid=bob,{PEOPLE}")
    assert read(directory, PEOPLE)["hasSubordinates"] == (b"FALSE",)
    directory.delete(ADMIN, PEOPLE)
