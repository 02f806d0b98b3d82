"""The search fast path: repeated searches answered from encoded bytes, never stale, never
served to someone with other rights."""

from __future__ import annotations

import gc

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN_DN, ALICE, BOB, PASSWORDS, PEOPLE, make_directory, populate
from hypothesis import given
from hypothesis import strategies as st
from twisted.logger import LogLevel

from ixidir.directory.directory import Directory
from ixidir.directory.requests import AccessClass, Principal, SearchResultEntry
from ixidir.server import ber, fastpath
from ixidir.server.fastpath import (
    AnswerCache,
    SearchFrame,
    _split_search,
    searches_root_dse,
    split_search,
    wrap,
)

from . import wire
from .test_protocol import Connection


@pytest.fixture
def directory() -> Directory:
    real = make_directory(MemoryEntryStore())
    populate(real)
    return real


def bound(directory: Directory, dn: str = ADMIN_DN) -> Connection[Directory]:
    connection = Connection(directory)
    connection.send(wire.bind(1, dn, PASSWORDS[dn].decode()))
    return connection


def mails(replies: list[wire.Decoded]) -> list[bytes]:
    return [
        value
        for _, reply, _ in replies
        if isinstance(reply, SearchResultEntry)
        for name, values in reply.attributes
        if name == "mail"
        for value in values
    ]


@given(st.integers(min_value=1, max_value=2**31 - 1))
def test_split_and_wrap_round_trip_a_search(message_id: int) -> None:
    """Re-wrapping the stored operation under any message ID gives the client's own bytes."""
    pdu = wire.search(message_id, PEOPLE, "(uid=alice)", attributes=["mail"])
    frame = split_search(pdu)
    assert frame is not None
    assert frame.message_id == message_id
    assert wrap(message_id, (frame.operation,)) == pdu


@given(
    message_id=st.integers(min_value=-5, max_value=2**31 - 1),
    base_size=st.integers(min_value=0, max_value=300),
    change=st.sampled_from(["none", "truncate", "append", "flip", "controls"]),
    data=st.data(),
)
def test_split_search_reads_what_the_element_reader_reads(
    message_id: int, base_size: int, change: str, data: st.DataObject
) -> None:
    """The inline reader of the usual envelope agrees with the general one on real searches
    (short, one- and two-octet lengths) and on every damage done to them."""
    base = f"ou={'x' * base_size},dc=example,dc=com"
    controls = [wire.paged(5)] if change == "controls" else None
    pdu = bytearray(wire.search(max(message_id, 0), base, "(uid=a)", controls=controls))
    if message_id <= 0:  # ldap3 will not send these: write the ID into the envelope
        pdu[2:5] = b"\x02\x01" + message_id.to_bytes(1, "big", signed=True)
    if change == "truncate":
        del pdu[data.draw(st.integers(min_value=0, max_value=len(pdu) - 1)) :]
    elif change == "append":
        pdu += data.draw(st.binary(min_size=1, max_size=4))
    elif change == "flip":
        at = data.draw(st.integers(min_value=0, max_value=min(len(pdu) - 1, 12)))
        pdu[at] = data.draw(st.integers(min_value=0, max_value=255))
    assert split_search(bytes(pdu)) == _split_search(bytes(pdu))


@given(
    st.integers(min_value=1, max_value=2**31 - 1),
    st.lists(st.binary(max_size=300), min_size=1, max_size=3),
)
def test_wrap_is_one_envelope_per_operation(message_id: int, operations: list[bytes]) -> None:
    expected = b"".join(ber.sequence(ber.integer_tlv(message_id), op) for op in operations)
    assert wrap(message_id, tuple(operations)) == expected


def test_searches_with_controls_and_other_operations_take_the_normal_path() -> None:
    paged = wire.search(2, PEOPLE, controls=[wire.paged(5)])
    assert split_search(paged) is None
    assert split_search(wire.bind(1, ADMIN_DN, "x")) is None
    assert split_search(b"\x30\x03\x02\x01") is None  # truncated: the codec decides


def test_an_answer_of_another_generation_is_a_miss_and_is_replaced() -> None:
    cache = AnswerCache()
    assert cache.get("who", b"op", 1) is None
    cache.put("who", b"op", 1, (b"answer",))
    assert cache.get("who", b"op", 1) == (b"answer",)
    assert cache.get("who", b"op", 2) is None
    assert cache.get("someone else", b"op", 2) is None
    cache.put("who", b"op", 2, (b"new answer",))
    assert cache.get("who", b"op", 2) == (b"new answer",)
    assert cache.get("who", b"op", 1) is None
    assert (cache.hits, cache.misses) == (2, 4)


def test_a_write_leaves_the_answers_in_place_until_each_is_made_again() -> None:
    """Nothing is freed at once in the look-up after a write (up to MAX_ANSWERS of them)."""
    cache = AnswerCache()
    for n in range(100):
        cache.put("who", b"op%d" % n, 1, (b"answer",))
    assert cache.get("who", b"op0", 2) is None
    assert len(cache._answers) == 100


def test_an_answer_made_again_is_the_last_to_be_forgotten() -> None:
    cache = AnswerCache(max_answers=2)
    cache.put("who", b"a", 1, (b"1",))
    cache.put("who", b"b", 1, (b"2",))
    cache.put("who", b"a", 2, (b"3",))  # made again after a write
    cache.put("who", b"c", 2, (b"4",))  # the oldest goes: b
    assert [cache.get("who", op, 2) for op in (b"a", b"b", b"c")] == [(b"3",), None, (b"4",)]


def test_cache_keys_are_left_alone_by_the_garbage_collector() -> None:
    """Who asks is kept as a number: a key holding the Principal stayed tracked for good."""
    cache = AnswerCache()
    admin = Principal(ADMIN_DN, AccessClass.ADMIN)
    assert cache.get(admin, b"op", 1) is None
    cache.put(admin, b"op", 1, (b"answer",))
    assert cache.get(admin, b"op", 1) == (b"answer",)
    gc.collect()
    assert not any(gc.is_tracked(key) for key in cache._answers)
    assert not any(gc.is_tracked(value) for value in cache._answers.values())


def test_a_cache_that_forgets_who_asked_forgets_their_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fastpath, "MAX_ASKERS", 2)
    cache = AnswerCache()
    assert cache.get("a", b"op", 1) is None  # the generation the answers are for
    for who in ("a", "b", "c"):  # c's number would be a's again after the askers are cleared
        cache.put(who, b"op", 1, (who.encode(),))
    assert cache.get("a", b"op", 1) is None
    assert cache.get("b", b"op", 1) is None
    assert cache.get("c", b"op", 1) == (b"c",)


def test_repeated_search_is_answered_from_the_cache(directory: Directory) -> None:
    """The second identical search (another message ID) gets the same answer, from the cache."""
    connection = bound(directory)
    first = connection.send(wire.search(2, PEOPLE, "(uid=alice)", attributes=["mail"]))
    second = connection.send(wire.search(3, PEOPLE, "(uid=alice)", attributes=["mail"]))
    assert connection.factory.answers.hits == 1
    assert [m for m, _, _ in first] == [2, 2]
    assert [m for m, _, _ in second] == [3, 3]
    assert [r for _, r, _ in first] == [r for _, r, _ in second]
    assert mails(second) == [b"alice@example.com"]


def test_a_write_makes_the_next_answer_fresh(directory: Directory) -> None:
    connection = bound(directory)
    search = wire.search(2, PEOPLE, "(uid=alice)", attributes=["mail"])
    assert mails(connection.send(search)) == [b"alice@example.com"]
    connection.send(wire.modify(3, ALICE, {"mail": [(2, ["new@example.com"])]}))
    assert mails(connection.send(search)) == [b"new@example.com"]


def test_cached_answer_is_not_served_to_a_caller_with_other_rights(directory: Directory) -> None:
    """The admin's answer about alice must not reach bob, who may not read alice."""
    search = wire.search(2, PEOPLE, "(uid=alice)", attributes=["mail"])
    assert mails(bound(directory).send(search)) == [b"alice@example.com"]
    assert mails(bound(directory, BOB).send(search)) == []


def test_pipelined_bind_then_search_is_answered_for_the_new_identity(
    directory: Directory,
) -> None:
    """A search queued behind a re-bind is answered for the identity that bind establishes,
    not from the cache entry of the identity the connection had when the bytes arrived."""
    search = wire.search(3, PEOPLE, "(uid=alice)", attributes=["mail"])
    assert mails(bound(directory).send(search)) == [b"alice@example.com"]
    connection = bound(directory)  # the admin again: the cached answer would fit
    replies = connection.send(wire.bind(4, BOB, PASSWORDS[BOB].decode()), search)
    assert mails(replies) == []


def test_searches_the_cache_has_not_seen_are_logged_at_debug_level(directory: Directory) -> None:
    """The connector's filter text can be captured: each new search shape is logged once."""
    connection = bound(directory)
    search = wire.search(2, PEOPLE, "(facsimileTelephoneNumber=+49 8142 1)", attributes=["mail"])
    connection.send(search)
    connection.send(search)
    logged = [
        str(event.get("filter"))
        for event in connection.events
        if event.get("log_level") is LogLevel.debug and "filter" in event
    ]
    assert logged == ["(facsimileTelephoneNumber=+49 8142 1)"]


def test_a_server_without_debug_lines_does_not_log_searches(directory: Directory) -> None:
    connection = Connection(directory, log_searches=False)
    connection.send(wire.bind(1, ADMIN_DN, PASSWORDS[ADMIN_DN].decode()))
    search = wire.search(2, PEOPLE, "(facsimileTelephoneNumber=+49 8142 1)", attributes=["mail"])
    connection.send(search)
    assert not [event for event in connection.events if event.get("log_level") is LogLevel.debug]


def test_only_a_search_of_the_root_dse_counts_as_one() -> None:
    def frame(base: str, scope: int = 0) -> SearchFrame:
        pdu = wire.search(3, base, "(objectClass=*)", scope=scope, attributes=["+"])
        found = split_search(pdu)
        assert found is not None
        return found

    assert searches_root_dse(frame(""))
    assert not searches_root_dse(frame("", scope=2))  # a subtree search from the root
    assert not searches_root_dse(frame(PEOPLE))
    assert not searches_root_dse(frame("c=x"))
