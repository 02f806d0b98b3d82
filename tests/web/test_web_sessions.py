"""Web sessions: random keys, the CSRF token, and expiry after 30 idle minutes."""

from __future__ import annotations

from ixidir.directory.requests import AccessClass, Principal
from ixidir.web.sessions import IDLE_SECONDS, Sessions, same_token

ADMIN = Principal("cn=admin,dc=example,dc=com", AccessClass.ADMIN)
SERVICE = Principal("cn=connector,dc=example,dc=com", AccessClass.SERVICE)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_expires_after_thirty_idle_minutes_not_thirty_in_all() -> None:
    clock = Clock()
    sessions = Sessions(clock)
    opened = sessions.open(ADMIN)
    clock.now += IDLE_SECONDS - 1
    assert sessions.find(opened.key) is opened  # use restarts the idle time
    clock.now += IDLE_SECONDS - 1
    assert sessions.find(opened.key) is opened
    clock.now += IDLE_SECONDS + 1
    assert sessions.find(opened.key) is None
    assert sessions.find(opened.key) is None  # and stays gone


def test_keys_and_tokens_are_distinct_and_logout_ends_the_session() -> None:
    sessions = Sessions(Clock())
    first, second = sessions.open(ADMIN), sessions.open(SERVICE)
    assert len({first.key, second.key, first.csrf, second.csrf}) == 4
    assert first.can_write
    assert not second.can_write
    sessions.close(first.key)
    assert sessions.find(first.key) is None
    assert sessions.find(second.key) is second
    assert sessions.find("") is None
    assert sessions.find("made-up") is None


def test_csrf_tokens_must_match_exactly() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token("abc", None)
    assert not same_token("abc", "")
