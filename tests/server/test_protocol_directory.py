"""The protocol in front of the real Directory over the in-memory EntryStore.

The fake in `fake_directory.py` stays for operations the real facade does not offer yet and
for the unexpected-exception path; everything the real one does is tested here.
"""

from __future__ import annotations

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN_DN,
    ALICE,
    BASE,
    PASSWORDS,
    PEOPLE,
    default_settings,
    make_directory,
    populate,
)
from twisted.internet.task import Clock

from ixidir.directory.directory import Directory
from ixidir.directory.requests import SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.capabilities import root_dse_extra
from ixidir.server.controls import decode_paged
from ixidir.server.messages import ExtendedResult, Result, ResultKind

from . import wire
from .test_protocol import WHO_AM_I, Connection


@pytest.fixture
def directory() -> Directory:
    real = make_directory(MemoryEntryStore(), default_settings(root_dse_extra=root_dse_extra()))
    populate(real)
    return real


def _bound(directory: Directory, dn: str = ADMIN_DN) -> Connection[Directory]:
    connection = Connection(directory)
    replies = connection.send(wire.bind(1, dn, PASSWORDS[dn].decode()))
    assert replies == [(1, Result(ResultKind.BIND, ResultCode.SUCCESS), ())]
    return connection


def _entries(replies: list[wire.Decoded]) -> list[SearchResultEntry]:
    return [r for _, r, _ in replies if isinstance(r, SearchResultEntry)]


def _done(replies: list[wire.Decoded]) -> Result:
    _, done, _ = replies[-1]
    assert isinstance(done, Result)
    return done


def test_root_dse_advertises_what_the_server_supports(directory: Directory) -> None:
    connection = Connection(directory)
    request = wire.search(
        2, "", scope=0, attributes=["supportedControl", "supportedExtension", "vendorName"]
    )
    replies = connection.send(request)
    (entry,) = _entries(replies)
    attributes = dict(entry.attributes)
    assert b"1.2.840.113556.1.4.319" in attributes["supportedControl"]
    assert b"1.3.6.1.4.1.4203.1.11.3" in attributes["supportedExtension"]
    assert attributes["vendorName"] == (b"ixidir",)


def test_user_bind_and_who_am_i(directory: Directory) -> None:
    connection = _bound(directory, ALICE)
    assert connection.send(wire.extended(2, WHO_AM_I)) == [
        (2, ExtendedResult(ResultCode.SUCCESS, value=f"dn:{ALICE}".encode()), ())
    ]


def test_wrong_password_is_invalid_credentials(directory: Directory) -> None:
    connection = Connection(directory)
    replies = connection.send(wire.bind(1, ALICE, "wrong"))
    assert _done(replies).code is ResultCode.INVALID_CREDENTIALS


def test_unauthenticated_bind_is_refused_by_the_directory(directory: Directory) -> None:
    connection = Connection(directory)
    assert (
        _done(connection.send(wire.raw_bind(1, ALICE, b""))).code is ResultCode.UNWILLING_TO_PERFORM
    )


def test_admin_search_with_a_substring_filter_finds_alice(directory: Directory) -> None:
    connection = _bound(directory)
    replies = connection.send(
        wire.search(2, BASE, "(&(objectClass=inetOrgPerson)(mail=ali*))", attributes=["mail"])
    )
    assert [(e.dn, e.attributes) for e in _entries(replies)] == [
        (ALICE, (("mail", (b"alice@example.com",)),))
    ]
    assert _done(replies) == Result(ResultKind.SEARCH_DONE, ResultCode.SUCCESS)


def test_missing_base_is_no_such_object_with_matched_dn_for_the_admin(directory: Directory) -> None:
    connection = _bound(directory)
    done = _done(connection.send(wire.search(2, f"ou=nowhere,{BASE}")))
    assert (done.code, done.matched_dn) == (ResultCode.NO_SUCH_OBJECT, BASE)


def test_paged_search_over_the_real_directory_sees_every_entry_once(directory: Directory) -> None:
    connection = _bound(directory)
    everything = {e.dn for e in _entries(connection.send(wire.search(2, BASE)))}
    seen: list[str] = []
    cookie = b""
    for message_id in range(3, 20):
        replies = connection.send(wire.search(message_id, BASE, controls=[wire.paged(2, cookie)]))
        seen += [e.dn for e in _entries(replies)]
        _, done, controls = replies[-1]
        assert isinstance(done, Result)
        assert done.code is ResultCode.SUCCESS
        value = controls[0].value
        assert value is not None
        cookie = decode_paged(value).cookie
        if not cookie:
            break
    assert sorted(seen) == sorted(everything)
    assert len(everything) >= 6


def test_add_as_admin_then_again_is_entry_already_exists(directory: Directory) -> None:
    connection = _bound(directory)
    dn = f"uid=carol,{PEOPLE}"
    attributes = {"objectClass": ["inetOrgPerson"], "uid": ["carol"], "cn": ["Carol"], "sn": ["C"]}
    replies = connection.send(wire.add(2, dn, attributes), wire.add(3, dn, attributes))
    assert [(mid, r.code) for mid, r, _ in replies if isinstance(r, Result)] == [
        (2, ResultCode.SUCCESS),
        (3, ResultCode.ENTRY_ALREADY_EXISTS),
    ]
    found = connection.send(wire.search(4, dn, scope=0, attributes=["cn"]))
    assert [e.attributes for e in _entries(found)] == [(("cn", (b"Carol",)),)]


def test_add_by_a_user_is_refused_and_adds_nothing(directory: Directory) -> None:
    connection = _bound(directory, ALICE)
    dn = f"uid=mallory,{PEOPLE}"
    replies = connection.send(
        wire.add(2, dn, {"objectClass": ["inetOrgPerson"], "cn": ["M"], "sn": ["M"]})
    )
    assert _done(replies).code is ResultCode.INSUFFICIENT_ACCESS_RIGHTS
    admin = _bound(directory)
    assert _done(admin.send(wire.search(3, dn, scope=0))).code is ResultCode.NO_SUCH_OBJECT


def test_schema_violation_on_add_reports_the_schema_code(directory: Directory) -> None:
    connection = _bound(directory)
    replies = connection.send(
        wire.add(2, f"uid=x,{PEOPLE}", {"objectClass": ["inetOrgPerson"], "uid": ["x"]})
    )
    assert _done(replies).code is ResultCode.OBJECT_CLASS_VIOLATION


class _TickingClock(Clock):
    """Each reading is one second after the last, so a time limit runs out mid-search."""

    def seconds(self) -> float:
        self.rightNow += 1
        return self.rightNow


def test_time_limit_is_measured_on_the_reactor_clock(directory: Directory) -> None:
    connection = Connection(directory, clock=_TickingClock())
    connection.send(wire.bind(1, ADMIN_DN, PASSWORDS[ADMIN_DN].decode()))
    replies = connection.send(wire.search(2, BASE, time_limit=1))
    assert _entries(replies)
    assert _done(replies).code is ResultCode.TIME_LIMIT_EXCEEDED
