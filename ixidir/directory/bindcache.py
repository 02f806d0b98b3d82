"""A cache of recently verified simple binds, so a client that binds per connection (the
Messaging Connector) pays the PBKDF2 cost (~270 ms of CPU at 210,000 iterations) once.

Keys are HMAC-SHA256 under a per-process random secret over (DN key, stored hash, password):
a password change changes the stored hash, so an old entry can never authenticate; the cache
holds no password and no hash that works outside this process. Trade-off, written down: someone
who can read this process's memory could test password guesses at HMAC speed for cached binds
(they could also read the directory). Bounded; evicts the oldest.

Refusals are remembered the same way, keyed by every stored hash: a client repeating one wrong
password (a misconfigured service, retrying non-stop) costs one PBKDF2, not one per attempt;
the server answers a known refusal after a delay instead (server/session.py). A password change
changes the stored hashes, so a remembered refusal never outlives it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Sequence

# Distinct successful (user, password) pairs remembered; ~100 bytes each.
MAX_ENTRIES = 10_000


class BindCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._max = max_entries
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._refused: OrderedDict[bytes, None] = OrderedDict()

    def _key(self, dn_key: str, stored: bytes, password: bytes) -> bytes:
        mac = hmac.new(self._secret, digestmod=hashlib.sha256)
        for part in (dn_key.encode("utf-8"), stored, password):
            mac.update(len(part).to_bytes(4, "big"))
            mac.update(part)
        return mac.digest()

    def knows(self, dn_key: str, stored: bytes, password: bytes) -> bool:
        """True when this exact password was verified against this exact stored hash."""
        key = self._key(dn_key, stored, password)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        return False

    def remember(self, dn_key: str, stored: bytes, password: bytes) -> None:
        _bounded(self._seen, self._key(dn_key, stored, password), self._max)

    def is_refused(self, dn_key: str, stored: Sequence[bytes], password: bytes) -> bool:
        """True when this exact password failed against exactly these stored hashes."""
        key = self._key(dn_key, _joined(stored), password)
        if key in self._refused:
            self._refused.move_to_end(key)
            return True
        return False

    def remember_refusal(self, dn_key: str, stored: Sequence[bytes], password: bytes) -> None:
        _bounded(self._refused, self._key(dn_key, _joined(stored), password), self._max)


def _bounded(seen: OrderedDict[bytes, None], key: bytes, most: int) -> None:
    seen[key] = None
    seen.move_to_end(key)
    if len(seen) > most:
        seen.popitem(last=False)


def _joined(stored: Sequence[bytes]) -> bytes:
    """Several stored values as one, unambiguously (each length-prefixed)."""
    return b"".join(len(value).to_bytes(4, "big") + value for value in stored)
