"""Password hashing and verification: our scheme, legacy schemes, malformed values."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ixidir.directory.passwords import (
    PasswordPolicy,
    hash_password,
    hash_pin,
    is_costly,
    is_hashed,
    verify_password,
)

FAST = PasswordPolicy("PBKDF2-SHA512", 10)


@settings(max_examples=30)
@given(st.binary(min_size=1, max_size=40), st.binary(min_size=1, max_size=40))
def test_hash_verifies_only_its_password(password: bytes, other: bytes) -> None:
    hashed = hash_password(password, FAST)
    assert is_hashed(hashed)
    assert verify_password(hashed, password)
    assert verify_password(hashed, other) == (other == password)


def test_format_is_pw_pbkdf2_compatible() -> None:
    hashed = hash_password(b"secret", FAST)
    scheme, rest = hashed.split(b"}")
    iterations, salt, digest = rest.split(b"$")
    assert scheme == b"{PBKDF2-SHA512"
    assert iterations == b"10"
    assert b"+" not in salt + digest
    assert b"=" not in salt + digest
    assert len(base64.b64decode(digest.replace(b".", b"+") + b"=" * (-len(digest) % 4))) == 64


def test_salts_differ() -> None:
    assert hash_password(b"same", FAST) != hash_password(b"same", FAST)


def test_pin_uses_sha256() -> None:
    pin = hash_pin(b"80417", 10)
    assert pin.startswith(b"{PBKDF2-SHA256}10$")
    assert verify_password(pin, b"80417")


def ssha(digest: str, password: bytes, salt: bytes, scheme: str) -> bytes:
    raw = hashlib.new(digest, password + salt).digest() + salt
    return b"{" + scheme.encode() + b"}" + base64.b64encode(raw)


@pytest.mark.parametrize(
    ("digest", "scheme"), [("sha1", "SSHA"), ("sha256", "SSHA256"), ("sha512", "SSHA512")]
)
def test_salted_sha_imports_verify(digest: str, scheme: str) -> None:
    stored = ssha(digest, b"secret", b"saltsalt", scheme)
    assert verify_password(stored, b"secret")
    assert not verify_password(stored, b"Secret")


def test_sha_and_pbkdf2_variants_verify() -> None:
    sha = b"{SHA}" + base64.b64encode(hashlib.sha1(b"secret").digest())  # noqa: S324 (legacy)
    assert verify_password(sha, b"secret")
    for scheme in ("PBKDF2-SHA256", "PBKDF2-SHA512"):
        assert verify_password(hash_password(b"pw", PasswordPolicy(scheme, 5)), b"pw")
    legacy = hash_password(b"pw", PasswordPolicy("PBKDF2-SHA256", 5)).replace(
        b"PBKDF2-SHA256", b"PBKDF2-SHA1"
    )
    assert not verify_password(legacy, b"pw")  # different digest: must not match


def test_plaintext_legacy_and_malformed() -> None:
    assert verify_password(b"plain", b"plain")
    assert not verify_password(b"plain", b"plainer")
    assert not verify_password(b"{SSHA}not-base64!", b"x")
    assert not verify_password(b"{PBKDF2-SHA512}10$abc", b"x")
    assert not verify_password(b"{PBKDF2-SHA512}99999999999$YWJj$YWJj", b"x")
    assert not is_hashed(b"{CRYPT}abc")


def test_policy_rejects_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        PasswordPolicy("MD5")


def test_only_stretched_keys_are_costly() -> None:
    """A server verifies these on a thread; anything cheaper is checked on the spot."""
    assert is_costly(hash_password(b"secret", PasswordPolicy("PBKDF2-SHA256", 1000)))
    assert is_costly(b"{PBKDF2-SHA512}10000$c2FsdA$aGFzaA")
    assert not is_costly(ssha("sha1", b"secret", b"salt", "SSHA"))
    assert not is_costly(b"{SHA}" + base64.b64encode(bytes(20)))
    assert not is_costly(b"cleartext")
