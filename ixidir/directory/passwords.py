"""userPassword and PIN hashing: the schemes we write, the legacy schemes we verify.

New values get `{PBKDF2-SHA512}` in the format of OpenLDAP's pw-pbkdf2 module
(`{SCHEME}<iterations>$<salt>$<hash>`, "adapted" base64: `.` for `+`, no padding), so an
export can be loaded into a slapd with that module. Imports may carry `{SSHA}`, `{SSHA256}`,
`{SSHA512}`, `{SHA}` or `{PBKDF2-*}` hashes, which are kept as they are and verified here.
`{CRYPT}` is not supported: Python's `crypt` module is deprecated (PEP 594) and gone in 3.13.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

# OWASP Password Storage Cheat Sheet (2023): PBKDF2-HMAC-SHA512 with 210,000 iterations,
# PBKDF2-HMAC-SHA256 with 600,000. Each costs ~270 ms of one core on our test machine, paid on
# every simple bind of a user; DirectorySettings.password_iterations can lower it for a site.
PBKDF2_SHA512_ITERATIONS = 210_000
PBKDF2_SHA256_ITERATIONS = 600_000
# 16 random bytes: NIST SP 800-132 asks for at least 128 bits of salt.
SALT_BYTES = 16
# Stored hashes with more iterations are refused rather than verified: a crafted import must
# not be able to make every bind of one user burn seconds of CPU.
MAX_ITERATIONS = 10_000_000

_PBKDF2_DIGESTS = {"PBKDF2": "sha1", "PBKDF2-SHA1": "sha1", "PBKDF2-SHA256": "sha256"}
_PBKDF2_DIGESTS["PBKDF2-SHA512"] = "sha512"
_SALTED = {"SSHA": "sha1", "SSHA256": "sha256", "SSHA512": "sha512"}
_UNSALTED = {"SHA": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
WRITABLE_SCHEMES = frozenset({"PBKDF2-SHA512", "PBKDF2-SHA256"})
KNOWN_SCHEMES = frozenset(_PBKDF2_DIGESTS) | frozenset(_SALTED) | frozenset(_UNSALTED)


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """How new secrets are hashed: the scheme (one of WRITABLE_SCHEMES) and its iterations."""

    scheme: str = "PBKDF2-SHA512"
    iterations: int = PBKDF2_SHA512_ITERATIONS

    def __post_init__(self) -> None:
        if self.scheme.upper() not in WRITABLE_SCHEMES:
            raise ValueError(f"unsupported password scheme {self.scheme!r}")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be 1..{MAX_ITERATIONS}")


def scheme_of(value: bytes) -> str | None:
    """The `{SCHEME}` prefix of a stored value, upper-cased, if it is one we know."""
    if not value.startswith(b"{"):
        return None
    end = value.find(b"}")
    if end < 0:
        return None
    name = value[1:end].decode("ascii", "replace").upper()
    return name if name in KNOWN_SCHEMES else None


def is_hashed(value: bytes) -> bool:
    """True for a value in a scheme we can verify: stored as is, never hashed twice."""
    return scheme_of(value) is not None


def hash_password(password: bytes, policy: PasswordPolicy | None = None) -> bytes:
    """A new salted hash of `password` in the policy's scheme."""
    policy = policy or PasswordPolicy()
    scheme = policy.scheme.upper()
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac(_PBKDF2_DIGESTS[scheme], password, salt, policy.iterations)
    text = f"{{{scheme}}}{policy.iterations}${_ab64(salt)}${_ab64(digest)}"
    return text.encode("ascii")


def hash_pin(pin: bytes, iterations: int = PBKDF2_SHA256_ITERATIONS) -> bytes:
    """The ixiVmPin form of SCHEMA.md: `{PBKDF2-SHA256}iter$salt$hash`."""
    return hash_password(pin, PasswordPolicy("PBKDF2-SHA256", iterations))


def is_costly(stored: bytes) -> bool:
    """Whether checking a password against `stored` stretches the key (PBKDF2: ~270 ms at our
    cost). The salted and plain SHA schemes of older directories, and cleartext, take a few
    microseconds: less than handing the check to another thread costs the event loop."""
    return scheme_of(stored) in _PBKDF2_DIGESTS


def verify_password(stored: bytes, candidate: bytes) -> bool:
    """Whether `candidate` is the password behind `stored` (a hash, or legacy plaintext).

    Every comparison is constant-time (hmac.compare_digest); a malformed hash never matches.
    """
    scheme = scheme_of(stored)
    if scheme is None:
        return hmac.compare_digest(stored, candidate)
    body = stored[len(scheme) + 2 :]
    try:
        if scheme in _PBKDF2_DIGESTS:
            return _verify_pbkdf2(_PBKDF2_DIGESTS[scheme], body, candidate)
        if scheme in _SALTED:
            return _verify_salted(_SALTED[scheme], body, candidate)
        expected = base64.b64decode(body, validate=True)
    except (ValueError, binascii.Error):
        return False
    actual = hashlib.new(_UNSALTED[scheme], candidate, usedforsecurity=False).digest()
    return hmac.compare_digest(expected, actual)


def _verify_pbkdf2(digest: str, body: bytes, candidate: bytes) -> bool:
    count, salt_text, hash_text = body.split(b"$")  # ValueError when malformed
    iterations = int(count)
    if not 1 <= iterations <= MAX_ITERATIONS:
        return False
    salt, expected = _unab64(salt_text), _unab64(hash_text)
    actual = hashlib.pbkdf2_hmac(digest, candidate, salt, iterations, dklen=len(expected) or None)
    return hmac.compare_digest(expected, actual)


def _verify_salted(digest: str, body: bytes, candidate: bytes) -> bool:
    """RFC 2307-style `{SSHA}`: base64(H(password + salt) + salt)."""
    raw = base64.b64decode(body, validate=True)
    size = hashlib.new(digest, usedforsecurity=False).digest_size
    if len(raw) <= size:
        return False
    expected, salt = raw[:size], raw[size:]
    actual = hashlib.new(digest, candidate + salt, usedforsecurity=False).digest()
    return hmac.compare_digest(expected, actual)


def _ab64(data: bytes) -> str:
    """pw-pbkdf2's adapted base64: `.` instead of `+`, no `=` padding."""
    return base64.b64encode(data).decode("ascii").replace("+", ".").rstrip("=")


def _unab64(text: bytes) -> bytes:
    padded = text.replace(b".", b"+") + b"=" * (-len(text) % 4)
    return base64.b64decode(padded, validate=True)


@dataclass(frozen=True, slots=True)
class SecretHashes:
    """Hashes of a write's cleartext secrets, computed ahead on a thread (`Cleartext.compute`),
    so checking the write on the event loop costs no PBKDF2 (STYLE.md §8). A value that was not
    computed ahead is hashed when asked: the synchronous path (the CLI) computes none ahead."""

    passwords: Mapping[bytes, bytes] = field(default_factory=dict)
    pins: Mapping[bytes, bytes] = field(default_factory=dict)

    def password(self, value: bytes, policy: PasswordPolicy) -> bytes:
        return self.passwords.get(value) or hash_password(value, policy)

    def pin(self, value: bytes, iterations: int) -> bytes:
        return self.pins.get(value) or hash_pin(value, iterations)


@dataclass(frozen=True, slots=True)
class Cleartext:
    """The cleartext userPassword and ixiVmPin values a write carries, to hash ahead."""

    passwords: tuple[bytes, ...]
    pins: tuple[bytes, ...]
    policy: PasswordPolicy
    pin_iterations: int

    def compute(self) -> SecretHashes:
        """Pure CPU, no directory state: runs on a thread."""
        return SecretHashes(
            {value: hash_password(value, self.policy) for value in self.passwords},
            {value: hash_pin(value, self.pin_iterations) for value in self.pins},
        )


def generate_password() -> bytes:
    """A random password for RFC 3062 (server-generated): 128 bits, URL-safe text."""
    return secrets.token_urlsafe(16).encode("ascii")
