"""The verified-bind cache: fast repeats, never a stale or a wrong password."""

from __future__ import annotations

import pytest

from ixidir.directory.bindcache import BindCache
from ixidir.directory.directory import Directory
from ixidir.directory.requests import Modification, ModifyRequest, ModOp
from ixidir.errors import InvalidCredentials

from .tree import ADMIN, ALICE, PASSWORDS


def test_remembers_only_the_exact_triple() -> None:
    cache = BindCache(secret=b"k" * 32)
    cache.remember("uid=a", b"{X}hash", b"pw")
    assert cache.knows("uid=a", b"{X}hash", b"pw")
    assert not cache.knows("uid=a", b"{X}hash", b"pw2")
    assert not cache.knows("uid=a", b"{X}other", b"pw")
    assert not cache.knows("uid=b", b"{X}hash", b"pw")


def test_is_bounded_and_evicts_the_oldest() -> None:
    cache = BindCache(max_entries=2, secret=b"k" * 32)
    for name in ("a", "b", "c"):
        cache.remember(name, b"h", b"p")
    assert not cache.knows("a", b"h", b"p")
    assert cache.knows("b", b"h", b"p")
    assert cache.knows("c", b"h", b"p")


def test_changed_password_is_not_served_from_the_cache(directory: Directory) -> None:
    """After a password change the old password fails at once, the new one works."""
    old = PASSWORDS[ALICE]
    directory.bind(ALICE, old)
    directory.bind(ALICE, old)  # second time: from the cache
    change = Modification(ModOp.REPLACE, "userPassword", (b"new-secret",))
    directory.modify(ADMIN, ModifyRequest(ALICE, (change,)))
    with pytest.raises(InvalidCredentials):
        directory.bind(ALICE, old)
    assert directory.bind(ALICE, b"new-secret").dn == ALICE


def test_a_refusal_is_remembered_for_the_same_hashes_only() -> None:
    cache = BindCache(secret=b"k" * 32)
    cache.remember_refusal("uid=a", (b"{SSHA}one", b"{SSHA}two"), b"wrong")
    assert cache.is_refused("uid=a", (b"{SSHA}one", b"{SSHA}two"), b"wrong")
    assert not cache.is_refused("uid=a", (b"{SSHA}one",), b"wrong")  # the password changed
    assert not cache.is_refused("uid=a", (b"{SSHA}one", b"{SSHA}two"), b"other")
    assert not cache.is_refused("uid=b", (b"{SSHA}one", b"{SSHA}two"), b"wrong")
    assert not cache.knows("uid=a", b"{SSHA}one", b"wrong")
