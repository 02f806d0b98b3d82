"""Bind (RFC 4513): anonymous, unauthenticated, access classes, one error for every failure."""

from __future__ import annotations

import pytest

from directory.tree import ADMIN_DN, ALICE, CONNECTOR, PASSWORDS, PEOPLE
from ixidir.directory.directory import Directory
from ixidir.directory.requests import ANONYMOUS, AccessClass
from ixidir.errors import InvalidCredentials, UnwillingToPerform


def test_access_classes(directory: Directory) -> None:
    assert directory.bind(ADMIN_DN, PASSWORDS[ADMIN_DN]).access is AccessClass.ADMIN
    assert directory.bind(CONNECTOR, PASSWORDS[CONNECTOR]).access is AccessClass.SERVICE
    alice = directory.bind("UID=alice, ou=People,dc=example,dc=com", PASSWORDS[ALICE])
    assert alice.access is AccessClass.USER
    assert alice.dn == ALICE
    assert directory.who_am_i(alice) == f"dn:{ALICE}"


def test_anonymous(directory: Directory) -> None:
    assert directory.bind("", b"") == ANONYMOUS
    assert directory.who_am_i(ANONYMOUS) == ""


def test_unauthenticated_bind_refused(directory: Directory) -> None:
    with pytest.raises(UnwillingToPerform):
        directory.bind(ALICE, b"")


def test_unknown_dn_and_wrong_password_look_the_same(directory: Directory) -> None:
    with pytest.raises(InvalidCredentials) as wrong:
        directory.bind(ALICE, b"nope")
    with pytest.raises(InvalidCredentials) as unknown:
        directory.bind(f"uid=zed,{PEOPLE}", b"nope")
    with pytest.raises(InvalidCredentials):
        directory.bind("not a dn", b"nope")
    assert wrong.value.message == unknown.value.message
