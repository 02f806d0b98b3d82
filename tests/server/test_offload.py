"""Nothing waits on the event loop: hashes and commits run "elsewhere" (a thread the test drives
by hand), other connections are served meanwhile, and each connection's replies keep their order.

The real Directory over the in-memory store, `ThreadOffload` and `WriteQueue` as the server
wires them, with `ManualThread` in place of the thread pools: a job runs when the test says.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN,
    ADMIN_DN,
    ALICE,
    BOB,
    PASSWORDS,
    default_settings,
    make_directory,
    populate,
)
from ldaptor.protocols import pureber
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from ixidir.directory.directory import Directory
from ixidir.directory.requests import AddRequest, SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.bindguard import REFUSAL_DELAY
from ixidir.server.extended import standard_handlers
from ixidir.server.messages import ExtendedResult, Result, ResultKind
from ixidir.server.offload import ThreadOffload
from ixidir.server.pin_ext import VERIFY_PIN_OID, pin_handlers
from ixidir.server.writes import (
    MAX_LINGER_SECONDS,
    SIBLING_LOOK_SECONDS,
    SIBLING_WAIT_SECONDS,
    WriteQueue,
)

from . import wire
from .test_protocol import WHO_AM_I, Connection

REPLACE, ADD = 2, 0
PEOPLE = BOB.split(",", 1)[1]
CAROL_DN = f"uid=carol,{PEOPLE}"
CAROL = {"objectClass": ["inetOrgPerson"], "cn": ["Carol"], "sn": ["C"], "uid": ["carol"]}


class ManualThread:
    """Stands in for a thread pool: calls wait until `finish` runs them and fires the result."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[[], Any], Deferred[Any]]] = []

    def __call__(self, call: Callable[[], Any]) -> Deferred[Any]:
        waiter: Deferred[Any] = Deferred()
        self.calls.append((call, waiter))
        return waiter

    def finish(self) -> None:
        call, waiter = self.calls.pop(0)
        waiter.callback(call())


class Server:
    """One directory, its write queue and hash "threads", and connections to it."""

    def __init__(self, *, clocked: bool = False) -> None:
        """`clocked`: the write queue gets the clock (it lingers, and waits for siblings)."""
        self.store = MemoryEntryStore()
        self.directory: Directory = make_directory(self.store, default_settings())
        populate(self.directory)
        self.hashing = ManualThread()
        self.writer = ManualThread()
        self.clock = Clock()
        self.writes = WriteQueue(
            self.directory, self.store, self.writer, clock=self.clock if clocked else None
        )
        self.offload = ThreadOffload(compute=self.hashing, writes=self.writes, clock=self.clock)

    def connect(self) -> Connection[Directory]:
        extended = {**standard_handlers(), **pin_handlers()}
        return Connection(self.directory, offload=self.offload, extended=extended)

    def bound(self, dn: str = ADMIN_DN) -> Connection[Directory]:
        connection = self.connect()
        answered = connection.send(wire.bind(1, dn, PASSWORDS[dn].decode()))
        if not answered:  # hashed off the loop; a repeated bind is answered from the cache
            self.hashing.finish()
            answered = replies(connection)
        assert answered == [(1, Result(ResultKind.BIND, ResultCode.SUCCESS), ())]
        return connection


def replies(connection: Connection[Directory]) -> list[wire.Decoded]:
    """What the connection wrote since the last look."""
    written = wire.decode_responses(connection.transport.written())
    connection.transport.reset()
    return written


def descriptions(found: list[wire.Decoded]) -> list[tuple[bytes, ...]]:
    return [
        dict(r.attributes).get("description", ())
        for _, r, _ in found
        if isinstance(r, SearchResultEntry)
    ]


def read_bob(message_id: int) -> bytes:
    return wire.search(message_id, BOB, scope=0, attributes=["description"])


def set_bob(message_id: int, value: str, operation: int = REPLACE) -> bytes:
    return wire.modify(message_id, BOB, {"description": [(operation, [value])]})


@pytest.fixture
def server() -> Server:
    return Server()


def test_a_bind_being_hashed_does_not_delay_another_connections_search(server: Server) -> None:
    slow = server.connect()
    assert slow.send(wire.bind(1, ALICE, "wrong password")) == []
    other = server.connect()
    found = other.send(wire.search(2, "", scope=0, attributes=["vendorName"]))
    assert found[-1] == (2, Result(ResultKind.SEARCH_DONE, ResultCode.SUCCESS), ())
    assert len(server.hashing.calls) == 1  # still hashing
    server.hashing.finish()
    assert [r.code for _, r, _ in replies(slow) if isinstance(r, Result)] == [
        ResultCode.INVALID_CREDENTIALS
    ]


def test_a_salted_sha_password_is_checked_at_once_without_a_thread(server: Server) -> None:
    """{SSHA} (an older directory's users) costs microseconds: a hand-off to the hash pool
    would cost the loop more than the check; right and wrong passwords alike."""
    salt = b"0123"
    stored = b"{SSHA}" + base64.b64encode(hashlib.sha1(b"carol-pw" + salt).digest() + salt)  # noqa: S324
    attributes = {**CAROL, "userPassword": [stored.decode()]}
    admin = server.bound()
    admin.send(wire.add(2, CAROL_DN, attributes))
    server.writer.finish()
    for password, code in (
        ("carol-pw", ResultCode.SUCCESS),
        ("wrong", ResultCode.INVALID_CREDENTIALS),
    ):
        found = server.connect().send(wire.bind(1, CAROL_DN, password))
        assert [r.code for _, r, _ in found if isinstance(r, Result)] == [code]
    assert server.hashing.calls == []


def test_requests_behind_a_pending_bind_wait_and_run_as_the_bound_user(server: Server) -> None:
    connection = server.connect()
    sent = connection.send(
        wire.bind(1, ALICE, PASSWORDS[ALICE].decode()), wire.extended(2, WHO_AM_I)
    )
    assert sent == []
    server.hashing.finish()
    assert replies(connection) == [
        (1, Result(ResultKind.BIND, ResultCode.SUCCESS), ()),
        (2, ExtendedResult(ResultCode.SUCCESS, value=f"dn:{ALICE}".encode()), ()),
    ]


def test_a_slow_commit_does_not_delay_others_and_nothing_is_acked_before_it(
    server: Server,
) -> None:
    writer, reader = server.bound(), server.bound()
    assert writer.send(set_bob(2, "committed")) == []
    assert len(server.writer.calls) == 1  # the commit is "running"
    # Another client is served meanwhile, and does not see the uncommitted write.
    assert descriptions(reader.send(read_bob(3))) == [()]
    assert server.store.changelog[-1][0] == server.directory.sequence  # nothing committed yet
    server.writer.finish()
    assert replies(writer) == [(2, Result(ResultKind.MODIFY, ResultCode.SUCCESS), ())]
    assert descriptions(reader.send(read_bob(4))) == [(b"committed",)]


def test_a_client_reads_its_own_write_right_after_the_ack(server: Server) -> None:
    writer = server.bound()
    assert writer.send(set_bob(2, "mine"), read_bob(3)) == []  # pipelined: the read waits
    server.writer.finish()
    answered = replies(writer)
    assert answered[0] == (2, Result(ResultKind.MODIFY, ResultCode.SUCCESS), ())
    assert descriptions(answered[1:]) == [(b"mine",)]


def test_writes_queued_during_a_commit_share_the_next_commit(server: Server) -> None:
    first, second, third = server.bound(), server.bound(), server.bound()
    first.send(set_bob(2, "one"))
    second.send(wire.modify(2, ALICE, {"description": [(REPLACE, ["two"])]}))
    third.send(wire.add(2, f"uid=carol,{PEOPLE}", CAROL))
    assert len(server.writer.calls) == 1  # the second and third queue behind the first
    server.writer.finish()
    assert len(server.writer.calls) == 1  # ... and go together
    server.writer.finish()
    assert server.store.batches == 2
    for connection in (first, second, third):
        assert [r.code for _, r, _ in replies(connection) if isinstance(r, Result)] == [
            ResultCode.SUCCESS
        ]


def test_writes_queued_behind_acknowledged_ones_share_the_next_batch(server: Server) -> None:
    clients = [server.bound() for _ in range(3)]
    for client, dn in zip(clients, (BOB, ALICE, ADMIN_DN), strict=True):
        client.send(wire.modify(2, dn, {}), wire.modify(3, dn, {}))  # two writes pipelined
    server.writer.finish()  # the first client's first write went alone
    # Its second write, sent on the ack, joins the two that queued meanwhile: one batch.
    assert len(server.writer.calls) == 1
    server.writer.finish()
    server.writer.finish()
    assert server.writer.calls == []
    assert server.store.batches == 3
    for client in clients:
        assert [r.code for _, r, _ in replies(client) if isinstance(r, Result)] == [
            ResultCode.SUCCESS,
            ResultCode.SUCCESS,
        ]


def test_a_write_to_an_entry_being_written_is_checked_after_that_one_is_applied(
    server: Server,
) -> None:
    first, second = server.bound(), server.bound()
    first.send(set_bob(2, "same", ADD))
    second.send(set_bob(2, "same", ADD))  # meets the first: waits, not prepared yet
    server.writer.finish()
    assert [r.code for _, r, _ in replies(first) if isinstance(r, Result)] == [ResultCode.SUCCESS]
    assert server.writer.calls == []  # checked against the applied first write: refused
    assert [r.code for _, r, _ in replies(second) if isinstance(r, Result)] == [
        ResultCode.ATTRIBUTE_OR_VALUE_EXISTS
    ]


def test_a_write_the_store_refuses_fails_alone(server: Server) -> None:
    first, second = server.bound(), server.bound()
    first.send(set_bob(2, "blocker"))  # holds the writer
    second.send(wire.add(2, f"uid=carol,{PEOPLE}", CAROL))
    third = server.bound()
    third.send(wire.modify(2, ALICE, {"description": [(REPLACE, ["fine"])]}))
    # Another process takes carol's DN in the store meanwhile: the batch hits its unique key.
    other = make_directory(server.store, default_settings())
    other.load()
    carol = tuple((name, tuple(v.encode() for v in values)) for name, values in CAROL.items())
    other.add(ADMIN, AddRequest(f"uid=carol,{PEOPLE}", carol))
    server.writer.finish()
    server.writer.finish()
    assert [r.code for _, r, _ in replies(second) if isinstance(r, Result)] == [
        ResultCode.ENTRY_ALREADY_EXISTS
    ]
    assert [r.code for _, r, _ in replies(third) if isinstance(r, Result)] == [ResultCode.SUCCESS]


def test_a_wrong_pin_is_hashed_and_counted_off_the_loop(server: Server) -> None:
    carol = tuple((name, tuple(v.encode() for v in values)) for name, values in CAROL.items())
    pin = (("ixiVmPin", (b"480271",)), ("objectClass", (b"ixiUmsUser",)))
    server.directory.add(ADMIN, AddRequest(CAROL_DN, (*carol, *pin)))
    checker, other = server.bound(), server.bound()
    value = pureber.BERSequence(
        [pureber.BEROctetString(CAROL_DN.encode()), pureber.BEROctetString(b"000001")]
    ).toWire()
    assert checker.send(wire.extended(2, VERIFY_PIN_OID, value)) == []
    assert len(server.hashing.calls) == 1
    assert descriptions(other.send(read_bob(3))) == [()]  # served while hashing
    server.hashing.finish()
    assert replies(checker) == []  # the failure count is being committed
    assert len(server.writer.calls) == 1
    server.writer.finish()
    (reply,) = replies(checker)
    assert reply[1] == ExtendedResult(
        ResultCode.SUCCESS, name=VERIFY_PIN_OID, value=bytes.fromhex("3006 0a0101 020102")
    )
    failed = server.directory.state.dit.get(CAROL_DN.lower())
    assert failed is not None
    assert failed.attributes["ixiVmPinFailedCount"] == (b"1",)


def test_a_cleartext_password_is_hashed_off_the_loop_before_the_write_is_checked(
    server: Server,
) -> None:
    writer = server.bound()
    assert writer.send(wire.modify(2, BOB, {"userPassword": [(REPLACE, ["new secret"])]})) == []
    assert len(server.hashing.calls) == 1
    assert server.writer.calls == []  # checked only once the hash is there
    server.hashing.finish()
    server.writer.finish()
    assert [r.code for _, r, _ in replies(writer) if isinstance(r, Result)] == [ResultCode.SUCCESS]
    bob = server.directory.state.dit.get(BOB.lower())
    assert bob is not None
    assert bob.attributes["userPassword"][0].startswith(b"{PBKDF2-SHA512}")
    other = server.connect()
    other.send(wire.bind(1, BOB, "new secret"))
    server.hashing.finish()
    assert [r.code for _, r, _ in replies(other) if isinstance(r, Result)] == [ResultCode.SUCCESS]


def test_a_compare_against_a_password_hash_is_verified_off_the_loop(server: Server) -> None:
    admin = server.bound()
    assert admin.send(wire.compare(2, BOB, "userPassword", PASSWORDS[BOB].decode())) == []
    assert len(server.hashing.calls) == 1
    server.hashing.finish()
    assert [r.code for _, r, _ in replies(admin) if isinstance(r, Result)] == [
        ResultCode.COMPARE_TRUE
    ]


def test_a_clients_pipelined_writes_share_a_batch_and_answer_in_order(server: Server) -> None:
    writer = server.bound()
    dns = (BOB, ALICE, ADMIN_DN)
    assert writer.send(*(wire.modify(2 + i, dn, {}) for i, dn in enumerate(dns))) == []
    assert len(server.writer.calls) == 1  # the first write commits alone ...
    server.writer.finish()
    server.writer.finish()  # ... the two behind it went into one batch meanwhile
    assert server.writer.calls == []
    assert server.store.batches == 2
    answered = replies(writer)
    assert [message_id for message_id, _, _ in answered] == [2, 3, 4]
    assert all(r == Result(ResultKind.MODIFY, ResultCode.SUCCESS) for _, r, _ in answered)


def test_a_child_pipelined_behind_its_parents_add_is_added_after_it(server: Server) -> None:
    writer = server.bound()
    unit = f"ou=unit,{PEOPLE}"
    parent = wire.add(2, unit, {"objectClass": ["organizationalUnit"], "ou": ["unit"]})
    child = wire.add(3, f"uid=kid,{unit}", {**CAROL, "uid": ["kid"]})
    assert writer.send(parent, child, read_bob(4)) == []
    server.writer.finish()
    server.writer.finish()  # the child, checked again once its parent was in memory
    answered = replies(writer)
    assert [(m, r.code) for m, r, _ in answered if isinstance(r, Result)] == [
        (2, ResultCode.SUCCESS),
        (3, ResultCode.SUCCESS),
        (4, ResultCode.SUCCESS),
    ]


def test_a_site_settings_write_commits_alone_between_the_writes_around_it(
    server: Server,
) -> None:
    defaults = f"cn=ums-defaults,{BOB.split(',', 2)[2]}"
    site = (("objectClass", (b"applicationProcess", b"ixiUmsServerDefaults")),)
    server.directory.add(ADMIN, AddRequest(defaults, (*site, ("cn", (b"ums-defaults",)))))
    first, second, third = server.bound(), server.bound(), server.bound()
    first.send(set_bob(2, "before"))
    second.send(wire.modify(2, defaults, {"ixiSiteAreaCode": [(REPLACE, ["30"])]}))
    third.send(wire.modify(2, ALICE, {"description": [(REPLACE, ["after"])]}))
    for _ in range(3):
        assert len(server.writer.calls) == 1  # one at a time: the barrier is alone
        server.writer.finish()
    assert server.writer.calls == []
    for connection in (first, second, third):
        assert [r.code for _, r, _ in replies(connection) if isinstance(r, Result)] == [
            ResultCode.SUCCESS
        ]
    assert server.store.batches == 3


def test_a_repeated_wrong_password_is_refused_after_a_delay_without_hashing(
    server: Server,
) -> None:
    client = server.connect()
    assert client.send(wire.bind(1, ALICE, "wrong password")) == []
    server.hashing.finish()  # the first attempt is hashed
    assert [r.code for _, r, _ in replies(client) if isinstance(r, Result)] == [
        ResultCode.INVALID_CREDENTIALS
    ]
    assert client.send(wire.bind(2, ALICE, "wrong password")) == []
    assert server.hashing.calls == []  # known to be wrong: nothing to hash ...
    server.clock.advance(REFUSAL_DELAY)  # ... but no faster answer
    assert [r.code for _, r, _ in replies(client) if isinstance(r, Result)] == [
        ResultCode.INVALID_CREDENTIALS
    ]
    assert client.send(wire.bind(3, ALICE, PASSWORDS[ALICE].decode())) == []
    server.hashing.finish()  # the right password is still checked
    assert [r.code for _, r, _ in replies(client) if isinstance(r, Result)] == [ResultCode.SUCCESS]


def test_a_batch_is_acknowledged_once_applied_and_before_any_answer(server: Server) -> None:
    """The node's acknowledged sequence (storage.committed) rises on the loop with the batch's
    newest sequence, after memory has it and before a client hears of it: other workers hold
    requests only for acknowledged writes, this worker never for its own commits."""
    seen: list[tuple[int, int, list[wire.Decoded]]] = []
    first, second = server.bound(), server.bound()
    batches = iter((first, second))  # the first commits alone, the add in the next batch

    def acknowledge(sequence: int) -> None:
        seen.append((sequence, server.directory.sequence, replies(next(batches))))

    server.writes.acknowledge = acknowledge
    first.send(set_bob(2, "one"))
    second.send(wire.add(2, CAROL_DN, CAROL))
    server.writer.finish()
    server.writer.finish()
    assert [sequence for sequence, _, _ in seen] == [
        server.store.changelog[-2][0],
        server.store.changelog[-1][0],
    ]
    for sequence, applied, answered in seen:
        assert applied == sequence  # in memory already
        assert answered == []  # its client not answered yet
    assert replies(second) == [(2, Result(ResultKind.ADD, ResultCode.SUCCESS), ())]


def test_a_refused_write_acknowledges_nothing(server: Server) -> None:
    acknowledged: list[int] = []
    server.writes.acknowledge = acknowledged.append
    writer = server.bound()
    writer.send(wire.add(2, CAROL_DN, CAROL))
    # Another process takes carol's DN in the store meanwhile: the add is refused.
    other = make_directory(server.store, default_settings())
    other.load()
    carol = tuple((name, tuple(v.encode() for v in values)) for name, values in CAROL.items())
    other.add(ADMIN, AddRequest(CAROL_DN, carol))
    server.writer.finish()
    assert [r.code for _, r, _ in replies(writer) if isinstance(r, Result)] == [
        ResultCode.ENTRY_ALREADY_EXISTS
    ]
    assert acknowledged == []


class Siblings:
    """The node's other workers as the write queue sees them: what they applied."""

    def __init__(self, server: Server) -> None:
        self.applied = 0
        self.late: list[int] = []
        server.writes.siblings_caught_up = lambda sequence: self.applied >= sequence
        server.writes.siblings_late = self.late.append


@pytest.fixture
def clocked() -> Server:
    return Server(clocked=True)


def answered(connection: Connection[Directory]) -> list[ResultCode]:
    return [r.code for _, r, _ in replies(connection) if isinstance(r, Result)]


def test_a_write_is_answered_once_the_other_workers_applied_it(clocked: Server) -> None:
    """Their requests then never wait for it (server.freshness); it is acknowledged together."""
    siblings = Siblings(clocked)
    acknowledged: list[int] = []
    clocked.writes.acknowledge = acknowledged.append
    client = clocked.bound()
    client.send(set_bob(2, "one"))
    clocked.writer.finish()
    sequence = clocked.store.changelog[-1][0]
    assert clocked.directory.sequence == sequence  # in this worker's memory at once
    clocked.clock.advance(SIBLING_LOOK_SECONDS)
    assert (answered(client), acknowledged) == ([], [])
    siblings.applied = sequence
    clocked.clock.advance(SIBLING_LOOK_SECONDS)
    assert (answered(client), acknowledged) == ([ResultCode.SUCCESS], [sequence])
    assert siblings.late == []


def test_a_write_the_other_workers_do_not_apply_in_time_is_answered_anyway(
    clocked: Server,
) -> None:
    """A worker loading, stuck or gone delays answers by the bound at most; the freshness
    barrier still keeps read-your-writes."""
    siblings = Siblings(clocked)
    client = clocked.bound()
    client.send(set_bob(2, "one"))
    clocked.writer.finish()
    clocked.clock.advance(SIBLING_WAIT_SECONDS - SIBLING_LOOK_SECONDS)
    assert answered(client) == []
    clocked.clock.advance(2 * SIBLING_LOOK_SECONDS)
    assert answered(client) == [ResultCode.SUCCESS]
    assert siblings.late == [clocked.store.changelog[-1][0]]


def test_batches_waiting_for_the_other_workers_are_answered_in_commit_order(
    clocked: Server,
) -> None:
    siblings = Siblings(clocked)
    acknowledged: list[int] = []
    clocked.writes.acknowledge = acknowledged.append
    first, second = clocked.bound(), clocked.bound()
    first.send(set_bob(2, "one"))
    clocked.writer.finish()
    second.send(wire.add(2, CAROL_DN, CAROL))
    clocked.clock.advance(MAX_LINGER_SECONDS)  # the add waited for company, then committed
    clocked.writer.finish()
    one, two = (entry[0] for entry in clocked.store.changelog[-2:])
    siblings.applied = two  # the newer batch is applied: both are answered, the older first
    clocked.clock.advance(SIBLING_LOOK_SECONDS)
    assert acknowledged == [one, two]
    assert (answered(first), answered(second)) == ([ResultCode.SUCCESS], [ResultCode.SUCCESS])


def test_a_refused_write_does_not_wait_for_the_other_workers(clocked: Server) -> None:
    Siblings(clocked)
    client = clocked.bound()
    client.send(wire.add(2, BOB, CAROL))  # bob exists: refused before any commit
    assert answered(client) == [ResultCode.ENTRY_ALREADY_EXISTS]


def test_a_flush_waits_for_answers_that_wait_for_the_other_workers(clocked: Server) -> None:
    """A clean stop answers every committed write before the threads stop."""
    siblings = Siblings(clocked)
    client = clocked.bound()
    client.send(set_bob(2, "one"))
    clocked.writer.finish()
    flushed: list[None] = []
    clocked.writes.flushed().addCallback(flushed.append)
    assert flushed == []
    siblings.applied = clocked.store.changelog[-1][0]
    clocked.clock.advance(SIBLING_LOOK_SECONDS)
    assert flushed == [None]
    assert answered(client) == [ResultCode.SUCCESS]
