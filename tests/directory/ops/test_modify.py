"""Modify: each operation, each error code, atomicity in memory and in the store, rights."""

from __future__ import annotations

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, ALICE, ALICE_P, BOB, SERVICE, read
from ixidir.directory.directory import Directory
from ixidir.directory.passwords import verify_password
from ixidir.directory.requests import Modification, ModifyRequest, ModOp, Principal
from ixidir.errors import (
    AttributeOrValueExists,
    ConstraintViolation,
    InsufficientAccessRights,
    InvalidAttributeSyntax,
    NoSuchAttribute,
    NoSuchObject,
    NotAllowedOnRDN,
    ObjectClassModsProhibited,
    ObjectClassViolation,
    UndefinedAttributeType,
)


def mod(op: ModOp, attr: str, *values: bytes) -> Modification:
    return Modification(op, attr, tuple(values))


def modify(
    directory: Directory, *changes: Modification, dn: str = ALICE, who: Principal = ADMIN
) -> None:
    directory.modify(who, ModifyRequest(dn, changes))


def test_add_delete_replace(directory: Directory) -> None:
    modify(directory, mod(ModOp.ADD, "mail", b"a2@example.com"))
    modify(directory, mod(ModOp.DELETE, "mail", b"ALICE@example.com"))
    modify(directory, mod(ModOp.REPLACE, "sn", b"Other"))
    attrs = read(directory, ALICE)
    assert attrs["mail"] == (b"a2@example.com",)
    assert attrs["sn"] == (b"Other",)
    assert attrs["modifiersName"] == (ADMIN.dn.encode(),)
    assert attrs["modifyTimestamp"] > attrs["createTimestamp"]


def test_delete_whole_attribute_and_replace_with_nothing(directory: Directory) -> None:
    modify(directory, mod(ModOp.DELETE, "telephoneNumber"), mod(ModOp.REPLACE, "mail"))
    attrs = read(directory, ALICE)
    assert "telephoneNumber" not in attrs
    assert "mail" not in attrs


def test_increment(directory: Directory) -> None:
    modify(
        directory,
        mod(ModOp.ADD, "objectClass", b"ixiUmsUser"),
        mod(ModOp.ADD, "ixiFaxMaxPages", b"5"),
    )
    modify(directory, mod(ModOp.INCREMENT, "ixiFaxMaxPages", b"3"))
    assert read(directory, ALICE)["ixiFaxMaxPages"] == (b"8",)


def test_increment_of_text_is_constraint_violation(directory: Directory) -> None:
    with pytest.raises(ConstraintViolation):
        modify(directory, mod(ModOp.INCREMENT, "sn", b"1"))


def test_adding_existing_value_fails(directory: Directory) -> None:
    with pytest.raises(AttributeOrValueExists):
        modify(directory, mod(ModOp.ADD, "mail", b"Alice@Example.com"))


def test_deleting_missing_value_or_attribute_fails(directory: Directory) -> None:
    with pytest.raises(NoSuchAttribute):
        modify(directory, mod(ModOp.DELETE, "mail", b"nobody@example.com"))
    with pytest.raises(NoSuchAttribute):
        modify(directory, mod(ModOp.DELETE, "description"))


def test_rdn_value_cannot_go(directory: Directory) -> None:
    with pytest.raises(NotAllowedOnRDN):
        modify(directory, mod(ModOp.DELETE, "uid", b"alice"))


def test_structural_class_cannot_change(directory: Directory) -> None:
    with pytest.raises(ObjectClassModsProhibited):
        modify(directory, mod(ModOp.REPLACE, "objectClass", b"account"))


def test_schema_errors(directory: Directory) -> None:
    with pytest.raises(UndefinedAttributeType):
        modify(directory, mod(ModOp.ADD, "bogusAttr", b"x"))
    with pytest.raises(ObjectClassViolation):
        modify(directory, mod(ModOp.ADD, "ixiFaxMaxPages", b"1"))
    with pytest.raises(ObjectClassViolation):
        modify(directory, mod(ModOp.DELETE, "sn"))
    with pytest.raises(ConstraintViolation):
        modify(directory, mod(ModOp.ADD, "createTimestamp", b"20200101000000Z"))


def test_failure_midway_changes_nothing(directory: Directory, store: MemoryEntryStore) -> None:
    before_memory = read(directory, ALICE)
    before_store = dict(store.entries)
    with pytest.raises(NoSuchAttribute):
        modify(
            directory,
            mod(ModOp.REPLACE, "sn", b"Changed"),
            mod(ModOp.DELETE, "description", b"missing"),
            mod(ModOp.ADD, "mail", b"more@example.com"),
        )
    assert read(directory, ALICE) == before_memory
    assert store.entries == before_store


def test_missing_entry_names_matched_dn(directory: Directory) -> None:
    with pytest.raises(NoSuchObject) as info:
        modify(directory, mod(ModOp.REPLACE, "sn", b"x"), dn="uid=zed,ou=people,dc=example,dc=com")
    assert info.value.matched_dn == "ou=people,dc=example,dc=com"


def test_user_changes_own_password_only(directory: Directory, store: MemoryEntryStore) -> None:
    modify(directory, mod(ModOp.REPLACE, "userPassword", b"new-secret"), who=ALICE_P)
    (stored,) = [e for e in store.entries.values() if e.dn == ALICE]
    assert verify_password(stored.attributes["userPassword"][0], b"new-secret")
    assert b"new-secret" not in stored.attributes["userPassword"][0]
    with pytest.raises(InsufficientAccessRights):
        modify(directory, mod(ModOp.REPLACE, "sn", b"x"), who=ALICE_P)
    with pytest.raises(InsufficientAccessRights):
        modify(directory, mod(ModOp.REPLACE, "userPassword", b"x"), dn=BOB, who=ALICE_P)
    with pytest.raises(InsufficientAccessRights):
        modify(directory, mod(ModOp.REPLACE, "userPassword", b"x"), dn=BOB, who=SERVICE)
    assert read(directory, BOB)["userPassword"]


def test_deleting_password_by_plaintext_value(directory: Directory) -> None:
    modify(directory, mod(ModOp.DELETE, "userPassword", b"alice-secret"))
    assert "userPassword" not in read(directory, ALICE)


def test_invalid_syntax(directory: Directory) -> None:
    modify(directory, mod(ModOp.ADD, "objectClass", b"ixiUmsUser"))
    with pytest.raises(InvalidAttributeSyntax):
        modify(directory, mod(ModOp.ADD, "ixiFaxMaxPages", b"many"))
