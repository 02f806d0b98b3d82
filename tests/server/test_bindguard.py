"""Binds through the guard (server/bindguard.py), sans sockets: which jobs a bind starts.

The failure counts live in a dict here (`MemoryGuardStore`, the lockout rules applied as the
Firebird store applies them; tests/storage/test_bindfailures.py runs the real one), so a test
can see that a locked account's bind starts no hash at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ALICE, CONNECTOR, PASSWORDS, default_settings, make_directory, populate
from twisted.logger import Logger

from ixidir.directory.directory import Directory
from ixidir.directory.lockout import (
    NONE,
    BindThrottles,
    Clear,
    Fail,
    Failures,
    GuardOp,
    GuardResult,
    KnownFailures,
    ListSubjects,
    Look,
    Purge,
    Throttle,
    account,
    after_failure,
)
from ixidir.directory.ports import StorageUnavailable
from ixidir.errors import ResultCode
from ixidir.server.bindguard import BindGuard
from ixidir.server.messages import Result
from ixidir.server.offload import Done, InlineOffload
from ixidir.server.pending import Compute, Delay, Guard, Job

from . import wire
from .test_protocol import Connection

T0 = datetime(2026, 12, 7, 10, 0)
THROTTLES = BindThrottles(account=Throttle(3, 60, 30), address=Throttle(5, 10, 60))


class MemoryGuardStore:
    """Failure counts in a dict, counted by the same rules (lockout.after_failure)."""

    def __init__(self) -> None:
        self.rows: dict[str, Failures] = {}
        self.generation = 0  # the node's failed-bind counter: advanced by every write

    def run_batch(self, ops: Sequence[GuardOp]) -> list[GuardResult | Exception]:
        outcomes: list[GuardResult | Exception] = [self._run(op) for op in ops]
        if not all(isinstance(op, Look | ListSubjects) for op in ops):
            self.generation += 1
        return outcomes

    def _run(self, op: GuardOp) -> GuardResult:
        match op:
            case Look(subjects=subjects):
                return tuple(self.rows.get(s.key, NONE) for s in subjects)
            case Fail(subjects=subjects, throttles=throttles, now=now):
                pairs = []
                for subject in subjects:
                    before = self.rows.get(subject.key, NONE)
                    self.rows[subject.key] = after_failure(before, throttles.of(subject.kind), now)
                    pairs.append((before, self.rows[subject.key]))
                return tuple(pairs)
            case Clear(subject=subject):
                return self.rows.pop(subject.key, None) is not None
            case Purge():
                raise NotImplementedError  # no bind purges
            case ListSubjects(limit=limit):
                return frozenset(self.rows) if len(self.rows) <= limit else None


class RecordingOffload(InlineOffload):
    """Runs every job at once, noting its kind: a test sees whether a hash was computed."""

    def __init__(self, directory: Directory, guard: MemoryGuardStore) -> None:
        super().__init__(directory, guard=guard)
        self.jobs: list[type[Job]] = []

    def start(self, job: Job, done: Done) -> None:
        self.jobs.append(type(job))
        super().start(job, done)


class Site:
    """`listed`: binds skip reading counts that the node's listing says do not exist
    (lockout.KnownFailures, as a server on an embedded database runs)."""

    def __init__(self, *, listed: bool = False) -> None:
        self.directory = make_directory(MemoryEntryStore(), default_settings())
        populate(self.directory)
        self.store = MemoryGuardStore()
        self.offload = RecordingOffload(self.directory, self.store)
        self.now = T0
        self.throttles = THROTTLES
        self.listing = KnownFailures(lambda: self.store.generation, self._list) if listed else None
        self.guard = BindGuard(
            throttles=lambda: self.throttles,
            now=lambda: self.now,
            log=Logger(),
            listing=self.listing,
        )

    def _list(self, as_of: int) -> None:
        listing = self.listing
        assert listing is not None

        def done(result: object, error: Exception | None) -> None:
            listing.listed(result if isinstance(result, frozenset) else None, as_of)

        self.offload.start(Guard(ListSubjects(100)), done)

    def bind(self, dn: str, password: bytes) -> tuple[ResultCode, list[type[Job]]]:
        """A bind on a new connection: its result code and the jobs it started."""
        connection = Connection(self.directory, offload=self.offload, guard=self.guard)
        self.offload.jobs = []
        (reply,) = connection.send(wire.bind(1, dn, password.decode()))
        result = reply[1]
        assert isinstance(result, Result)
        return result.code, [job for job in self.offload.jobs if job is not Guard]


@pytest.fixture(params=[False, True], ids=["looking", "listed"])
def site(request: pytest.FixtureRequest) -> Site:
    """Every rule holds whether binds read the counts each time or trust the node's listing."""
    return Site(listed=request.param)


WRONG = ResultCode.INVALID_CREDENTIALS


def test_a_locked_account_is_refused_like_a_wrong_password_without_a_hash(site: Site) -> None:
    assert [site.bind(ALICE, b"guess")[0] for _ in range(3)] == [WRONG] * 3
    assert site.bind(ALICE, PASSWORDS[ALICE]) == (WRONG, [Delay])  # no Compute: no hash
    site.now = T0 + timedelta(seconds=31)  # the lock is over
    assert site.bind(ALICE, PASSWORDS[ALICE]) == (ResultCode.SUCCESS, [Compute])


def test_a_locked_account_is_refused_even_when_its_password_is_cached(site: Site) -> None:
    assert site.bind(ALICE, PASSWORDS[ALICE])[0] is ResultCode.SUCCESS  # cached from now on
    assert site.bind(ALICE, PASSWORDS[ALICE]) == (ResultCode.SUCCESS, [])
    for _ in range(3):
        site.bind(ALICE, b"guess")
    assert site.bind(ALICE, PASSWORDS[ALICE]) == (WRONG, [Delay])


def test_success_clears_the_count(site: Site) -> None:
    for _ in range(2):
        site.bind(ALICE, b"guess")
    assert site.bind(ALICE, PASSWORDS[ALICE])[0] is ResultCode.SUCCESS
    alice = account(site.directory.state.parse_dn(ALICE)[1])
    assert alice.key not in site.store.rows  # the address's count stays
    for _ in range(2):
        site.bind(ALICE, b"guess")
    assert site.bind(ALICE, PASSWORDS[ALICE])[0] is ResultCode.SUCCESS


def test_a_service_account_is_counted_only_for_its_address(site: Site) -> None:
    for _ in range(4):
        assert site.bind(CONNECTOR, b"guess")[0] is WRONG
    assert site.bind(CONNECTOR, PASSWORDS[CONNECTOR])[0] is ResultCode.SUCCESS


def test_a_blocked_address_gets_unwilling_to_perform_without_a_hash(site: Site) -> None:
    for _ in range(5):  # unknown names count for the address
        assert site.bind(f"uid=nobody,{ALICE.split(',', 1)[1]}", b"guess")[0] is WRONG
    assert site.bind(CONNECTOR, PASSWORDS[CONNECTOR]) == (ResultCode.UNWILLING_TO_PERFORM, [Delay])
    site.now = T0 + timedelta(seconds=61)
    assert site.bind(CONNECTOR, PASSWORDS[CONNECTOR])[0] is ResultCode.SUCCESS


def test_no_counting_when_both_are_switched_off(site: Site) -> None:
    site.throttles = BindThrottles(account=Throttle(0, 60, 30), address=Throttle(0, 10, 60))
    for _ in range(6):
        site.bind(ALICE, b"guess")
    assert site.store.rows == {}
    assert site.bind(ALICE, PASSWORDS[ALICE])[0] is ResultCode.SUCCESS


class UnreachableGuardStore(MemoryGuardStore):
    """The database is down: every batch fails as the Firebird store reports it."""

    def run_batch(self, ops: Sequence[GuardOp]) -> list[GuardResult | Exception]:
        return [StorageUnavailable("the database is unreachable") for _ in ops]


def test_binds_go_on_unthrottled_when_the_counts_cannot_be_read(site: Site) -> None:
    """Reads are served from memory when the database is down; the connector must still bind."""
    site.offload = RecordingOffload(site.directory, UnreachableGuardStore())
    assert site.bind(CONNECTOR, PASSWORDS[CONNECTOR]) == (ResultCode.SUCCESS, [Compute])
    for _ in range(4):
        assert site.bind(ALICE, b"guess")[0] is WRONG
    assert site.bind(ALICE, PASSWORDS[ALICE])[0] is ResultCode.SUCCESS


def test_with_a_current_listing_a_bind_of_someone_without_counts_reads_nothing() -> None:
    site = Site(listed=True)
    site.bind(CONNECTOR, PASSWORDS[CONNECTOR])  # asks for the first listing
    site.offload.jobs = []
    connection = Connection(site.directory, offload=site.offload, guard=site.guard)
    (reply,) = connection.send(wire.bind(1, ALICE, PASSWORDS[ALICE].decode()))
    assert reply[1].code is ResultCode.SUCCESS  # type: ignore[union-attr]
    assert Guard not in site.offload.jobs
    site.bind(ALICE, b"guess")  # counted: the node's counter moves
    assert site.bind(ALICE, PASSWORDS[ALICE])[0] is ResultCode.SUCCESS
    assert Guard in site.offload.jobs  # looked (and listed) again
