"""Password Modify (RFC 3062): self-service with old password, admin reset, generation."""

from __future__ import annotations

import pytest

from directory.tree import ADMIN, ALICE, ALICE_P, BOB, SERVICE
from ixidir.directory.directory import Directory
from ixidir.directory.requests import ANONYMOUS
from ixidir.errors import (
    InsufficientAccessRights,
    InvalidCredentials,
    NoSuchObject,
    UnwillingToPerform,
)


def test_user_changes_own_password_with_old(directory: Directory) -> None:
    assert directory.password_modify(ALICE_P, None, b"alice-secret", b"fresh") is None
    assert directory.bind(ALICE, b"fresh").dn == ALICE
    with pytest.raises(InvalidCredentials):
        directory.bind(ALICE, b"alice-secret")


def test_wrong_or_missing_old_password(directory: Directory) -> None:
    """Both unwillingToPerform (53), as slapd answers a wrong old password."""
    with pytest.raises(UnwillingToPerform, match="old password is wrong"):
        directory.password_modify(ALICE_P, None, b"wrong", b"fresh")
    with pytest.raises(UnwillingToPerform):
        directory.password_modify(ALICE_P, None, None, b"fresh")


def test_admin_generates_password(directory: Directory) -> None:
    generated = directory.password_modify(ADMIN, BOB, None, None)
    assert generated
    assert directory.bind(BOB, generated).dn == BOB


def test_rights(directory: Directory) -> None:
    with pytest.raises(UnwillingToPerform):
        directory.password_modify(ANONYMOUS, ALICE, None, b"x")
    with pytest.raises(InsufficientAccessRights):
        directory.password_modify(ALICE_P, BOB, b"alice-secret", b"x")
    with pytest.raises(InsufficientAccessRights):
        directory.password_modify(SERVICE, None, b"connector-secret", b"x")
    with pytest.raises(NoSuchObject):
        directory.password_modify(ADMIN, "uid=zed,dc=example,dc=com", None, b"x")
