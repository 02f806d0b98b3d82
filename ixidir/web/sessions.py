"""Web sessions: who is logged in, their CSRF token, and the 30-minute idle expiry.

Held in memory by the serving process only (the web UI runs once per node): a restart logs
everyone out, which is what an administrator expects of a restart. The cookie carries only a
random identifier (`secrets.token_urlsafe`, 256 bits); the CSRF token is a second random
value, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from ixidir.directory.requests import AccessClass, Principal

SESSION_COOKIE = "ixidir_session"
IDLE_SECONDS = 30 * 60
_TOKEN_BYTES = 32


@dataclass(slots=True)
class WebSession:
    principal: Principal
    csrf: str
    last_seen: float
    key: str = field(repr=False, default="")

    @property
    def can_write(self) -> bool:
        """The administrator changes; a service account only reads (DESIGN.md ACL)."""
        return self.principal.access is AccessClass.ADMIN


class Sessions:
    """Sessions by cookie value; `clock` is the reactor's seconds()."""

    def __init__(self, clock: Callable[[], float], *, idle: float = IDLE_SECONDS) -> None:
        self._clock = clock
        self._idle = idle
        self._by_key: dict[str, WebSession] = {}

    def open(self, principal: Principal) -> WebSession:
        self._expire()
        key = secrets.token_urlsafe(_TOKEN_BYTES)
        made = WebSession(principal, secrets.token_urlsafe(_TOKEN_BYTES), self._clock(), key)
        self._by_key[key] = made
        return made

    def find(self, key: str | None) -> WebSession | None:
        """The live session for this cookie, its idle time restarted; None once expired."""
        if not key:
            return None
        found = self._by_key.get(key)
        now = self._clock()
        if found is None:
            return None
        if now - found.last_seen > self._idle:
            del self._by_key[key]
            return None
        found.last_seen = now
        return found

    def close(self, key: str | None) -> None:
        if key:
            self._by_key.pop(key, None)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._by_key.items() if now - s.last_seen > self._idle]:
            del self._by_key[key]


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def new_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)
