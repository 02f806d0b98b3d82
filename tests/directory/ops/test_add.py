"""Add: success, rights, parents, existing entries, schema and NO-USER-MODIFICATION."""

from __future__ import annotations

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, ALICE_P, BASE, PEOPLE, SERVICE, person, read
from ixidir.directory.directory import Directory
from ixidir.directory.passwords import verify_password
from ixidir.directory.ports import StorageConflict, StorageUnavailable
from ixidir.directory.requests import AddRequest
from ixidir.errors import (
    ConstraintViolation,
    EntryAlreadyExists,
    InsufficientAccessRights,
    InvalidDNSyntax,
    NoSuchObject,
    ObjectClassViolation,
    Unavailable,
    UndefinedAttributeType,
)

CAROL = f"uid=carol,{PEOPLE}"


def test_added_entry_is_stored_and_readable(directory: Directory, store: MemoryEntryStore) -> None:
    directory.add(ADMIN, AddRequest(CAROL, person("carol")))
    attrs = read(directory, CAROL)
    assert attrs["mail"] == (b"carol@example.com",)
    assert attrs["structuralObjectClass"] == (b"inetOrgPerson",)
    assert attrs["creatorsName"] == (ADMIN.dn.encode(),)
    assert attrs["createTimestamp"] == attrs["modifyTimestamp"]
    assert attrs["hasSubordinates"] == (b"FALSE",)
    assert any(entry.dn == CAROL for entry in store.entries.values())


def test_rdn_value_is_added_when_missing(directory: Directory) -> None:
    attrs = [pair for pair in person("carol") if pair[0] != "cn"]
    directory.add(ADMIN, AddRequest(f"cn=Carol C,{PEOPLE}", (*attrs, ("cn", (b"Other",)))))
    assert set(read(directory, f"cn=Carol C,{PEOPLE}")["cn"]) == {b"Other", b"Carol C"}


def test_password_is_hashed_never_plain(directory: Directory, store: MemoryEntryStore) -> None:
    directory.add(ADMIN, AddRequest(CAROL, person("carol", userPassword=(b"plain-text",))))
    (stored,) = [e for e in store.entries.values() if e.dn == CAROL]
    (value,) = stored.attributes["userPassword"]
    assert value.startswith(b"{PBKDF2-SHA512}")
    assert b"plain-text" not in value
    assert verify_password(value, b"plain-text")


def test_imported_hash_is_kept(directory: Directory) -> None:
    ssha = b"{SSHA}WEgvtT2RpvUtoHVm6FS3tgobTdgxMjM0"
    directory.add(ADMIN, AddRequest(CAROL, person("carol", userPassword=(ssha,))))
    assert read(directory, CAROL)["userPassword"] == (ssha,)


@pytest.mark.parametrize("principal", [ALICE_P, SERVICE])
def test_only_admin_adds(directory: Directory, principal: object) -> None:
    with pytest.raises(InsufficientAccessRights):
        directory.add(principal, AddRequest(CAROL, person("carol")))  # type: ignore[arg-type]


def test_missing_parent_names_deepest_existing(directory: Directory) -> None:
    with pytest.raises(NoSuchObject) as info:
        directory.add(ADMIN, AddRequest(f"uid=x,ou=nope,{PEOPLE}", person("x")))
    assert info.value.matched_dn == PEOPLE


def test_existing_entry_is_refused(directory: Directory) -> None:
    with pytest.raises(EntryAlreadyExists):
        directory.add(ADMIN, AddRequest(f"UID=Alice,{PEOPLE}", person("alice")))


def test_bad_dn_is_invalid_dn_syntax(directory: Directory) -> None:
    with pytest.raises(InvalidDNSyntax):
        directory.add(ADMIN, AddRequest("uid=x,,dc=example", person("x")))


def test_unknown_attribute_is_undefined(directory: Directory) -> None:
    with pytest.raises(UndefinedAttributeType):
        directory.add(ADMIN, AddRequest(CAROL, (*person("carol"), ("noSuchAttr", (b"x",)))))


def test_schema_violation_writes_nothing(directory: Directory, store: MemoryEntryStore) -> None:
    before = dict(store.entries)
    with pytest.raises(ObjectClassViolation):
        directory.add(ADMIN, AddRequest(CAROL, (("objectClass", (b"inetOrgPerson",)),)))
    assert store.entries == before


def test_operational_attribute_refused_outside_import(directory: Directory) -> None:
    given = (*person("carol"), ("createTimestamp", (b"20200101000000Z",)))
    with pytest.raises(ConstraintViolation):
        directory.add(ADMIN, AddRequest(CAROL, given))


def test_import_keeps_operational_attributes(directory: Directory) -> None:
    uuid = "0b2b9e3c-1f0e-4c59-9c39-4d0f4a6c2a11"
    given = (
        *person("carol"),
        ("createTimestamp", (b"20200101000000Z",)),
        ("entryUUID", (uuid.encode(),)),
        ("entryDN", (CAROL.encode(),)),
    )
    directory.add(ADMIN, AddRequest(CAROL, given), import_mode=True)
    attrs = read(directory, CAROL)
    assert attrs["createTimestamp"] == (b"20200101000000Z",)
    assert attrs["entryUUID"] == (uuid.encode(),)


def test_suffix_needs_no_parent(empty_directory: Directory) -> None:
    empty_directory.add(ADMIN, AddRequest(BASE, (("objectClass", (b"domain",)),)))
    assert read(empty_directory, BASE)["dc"] == (b"example",)


def test_storage_conflict_is_entry_already_exists(
    directory: Directory, store: MemoryEntryStore
) -> None:
    store.fail_next = StorageConflict("taken")
    with pytest.raises(EntryAlreadyExists):
        directory.add(ADMIN, AddRequest(CAROL, person("carol")))
    with pytest.raises(NoSuchObject):
        read(directory, CAROL)


def test_storage_failure_is_unavailable_and_memory_unchanged(
    directory: Directory, store: MemoryEntryStore
) -> None:
    store.fail_next = StorageUnavailable("disk gone")
    with pytest.raises(Unavailable):
        directory.add(ADMIN, AddRequest(CAROL, person("carol")))
    with pytest.raises(NoSuchObject):
        read(directory, CAROL)
