"""Compare: true/false, errors, secrets (PIN verification), rights."""

from __future__ import annotations

import pytest

from directory.tree import ADMIN, ALICE, ALICE_P, BOB, BOB_P, PEOPLE, SERVICE, read
from ixidir.directory.directory import Directory
from ixidir.directory.requests import ANONYMOUS, Modification, ModifyRequest, ModOp
from ixidir.errors import (
    InappropriateMatching,
    InsufficientAccessRights,
    NoSuchAttribute,
    NoSuchObject,
    UndefinedAttributeType,
)


def test_compare_uses_equality_rule(directory: Directory) -> None:
    assert directory.compare(SERVICE, ALICE, "mail", b"ALICE@example.COM")
    assert not directory.compare(SERVICE, ALICE, "mail", b"bob@example.com")
    assert directory.compare(ALICE_P, ALICE, "CN", b"alice")


def test_compare_errors(directory: Directory) -> None:
    with pytest.raises(NoSuchObject):
        directory.compare(ADMIN, f"uid=zed,{PEOPLE}", "cn", b"x")
    with pytest.raises(UndefinedAttributeType):
        directory.compare(ADMIN, ALICE, "bogus", b"x")
    with pytest.raises(NoSuchAttribute):
        directory.compare(ADMIN, ALICE, "description", b"x")
    with pytest.raises(InappropriateMatching):
        directory.compare(ADMIN, ALICE, "jpegPhoto", b"x")


def test_unreadable_entry_looks_missing(directory: Directory) -> None:
    with pytest.raises(NoSuchObject):
        directory.compare(BOB_P, ALICE, "cn", b"Alice")
    with pytest.raises(NoSuchObject):
        directory.compare(ANONYMOUS, ALICE, "cn", b"Alice")


def test_password_compare_only_for_admin(directory: Directory) -> None:
    assert directory.compare(ADMIN, ALICE, "userPassword", b"alice-secret")
    with pytest.raises(InsufficientAccessRights):
        directory.compare(SERVICE, ALICE, "userPassword", b"alice-secret")
    with pytest.raises(InsufficientAccessRights):
        directory.compare(ALICE_P, ALICE, "userPassword", b"alice-secret")


def test_pin_compare_verifies_hash(directory: Directory) -> None:
    changes = (
        Modification(ModOp.ADD, "objectClass", (b"ixiUmsUser",)),
        Modification(ModOp.ADD, "ixiVmPin", (b"80417",)),
    )
    directory.modify(ADMIN, ModifyRequest(BOB, changes))
    assert read(directory, BOB)["ixiVmPin"][0].startswith(b"{PBKDF2-SHA256}")
    assert directory.compare(SERVICE, BOB, "ixiVmPin", b"80417")
    assert not directory.compare(SERVICE, BOB, "ixiVmPin", b"12345")
    with pytest.raises(InsufficientAccessRights):
        directory.compare(BOB_P, BOB, "ixiVmPin", b"80417")


def test_compare_object_class_follows_the_hierarchy(directory: Directory) -> None:
    """Compare agrees with the filter: top and stored-or-not superclasses are true."""
    assert directory.compare(ADMIN, ALICE, "objectClass", b"top")
    assert directory.compare(ADMIN, ALICE, "objectClass", b"person")
    assert directory.compare(ADMIN, PEOPLE, "objectClass", b"top")
    assert not directory.compare(ADMIN, PEOPLE, "objectClass", b"person")
