"""BIND_FAILURES on both Firebirds: counting, locking, clearing, purging, and two writers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import cast

import pytest

from ixidir.directory.lockout import (
    DEFAULTS,
    BindThrottles,
    Clear,
    Fail,
    Failures,
    GuardOp,
    ListSubjects,
    Look,
    Subject,
    Throttle,
    account,
    address,
)
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.bindfailures import GENERATION_FILE, FirebirdBindFailures
from ixidir.storage.committed import CommittedSequence

from .conftest import Database

T0 = datetime(2026, 12, 7, 10, 0, 0)
ALICE = account("uid=alice,ou=people,dc=example,dc=com")
HOST = address("192.0.2.7")
TIGHT = BindThrottles(account=Throttle(3, 60, 30), address=Throttle(5, 10, 60))


@pytest.fixture
def failures(store: FirebirdEntryStore, database: Database) -> Iterator[FirebirdBindFailures]:
    opened = database.bind_failures()
    yield opened
    opened.close()


def _fail(
    store: FirebirdBindFailures, seconds: float, *subjects: Subject
) -> tuple[tuple[Failures, Failures], ...]:
    (outcome,) = store.run_batch([Fail(subjects, TIGHT, T0 + timedelta(seconds=seconds))])
    assert isinstance(outcome, tuple)
    return cast(tuple[tuple[Failures, Failures], ...], outcome)


def test_an_unknown_subject_has_no_failures(failures: FirebirdBindFailures) -> None:
    assert failures.failures(ALICE) == Failures()


def test_failures_count_per_subject_and_lock_at_the_threshold(
    failures: FirebirdBindFailures,
) -> None:
    _fail(failures, 0, ALICE, HOST)
    _fail(failures, 1, ALICE, HOST)
    ((before, after), (_, host)) = _fail(failures, 2, ALICE, HOST)
    assert before == Failures(2, T0, None)
    assert after == Failures(3, T0, T0 + timedelta(seconds=2))
    assert failures.failures(ALICE) == after
    assert host == Failures(3, T0, None)  # the address has its own, higher threshold
    assert [(kind, name) for kind, name, _, _ in failures.locked()] == [("A", ALICE.name)]


def test_a_batch_counts_in_order_and_looks_in_the_same_transaction(
    failures: FirebirdBindFailures,
) -> None:
    now = T0
    ops: list[GuardOp] = [
        Fail((ALICE,), TIGHT, now),
        Fail((ALICE,), TIGHT, now),
        Look((ALICE,)),
        Clear(ALICE),
    ]
    first, second, looked, cleared = failures.run_batch(ops)
    assert first == ((Failures(), Failures(1, now, None)),)
    assert second == ((Failures(1, now, None), Failures(2, now, None)),)
    assert looked == (Failures(2, now, None),)
    assert cleared is True
    assert failures.failures(ALICE) == Failures()
    assert failures.clear(ALICE) is False


def test_purge_keeps_locks_until_unlocked_and_recent_counts(
    failures: FirebirdBindFailures,
) -> None:
    forever = BindThrottles(account=Throttle(1, 60, 0), address=DEFAULTS.address)
    failures.run_batch([Fail((ALICE,), forever, T0)])
    other = account("uid=bob,ou=people,dc=example,dc=com")
    failures.run_batch([Fail((other, HOST), TIGHT, T0)])
    recent = address("192.0.2.8")
    failures.run_batch([Fail((recent,), TIGHT, T0 + timedelta(days=2))])
    assert failures.purge(T0 + timedelta(days=1)) == 2
    assert failures.failures(ALICE).locked_at == T0
    assert failures.failures(other) == Failures()
    assert failures.failures(recent).count == 1


def test_two_connections_counting_at_once_lose_no_failure(
    store: FirebirdEntryStore, database: Database
) -> None:
    """Two workers' writers count the same subjects concurrently: every failure is counted,
    the first of each subject too (both may find no row and race to insert it)."""
    many = BindThrottles(account=Throttle(1000, 3600, 60), address=DEFAULTS.address)
    fresh = [address(f"192.0.2.{n}") for n in range(20)]
    writers = [database.bind_failures(), database.bind_failures()]
    errors: list[object] = []

    def count(writer: FirebirdBindFailures) -> None:
        for subject in [ALICE] * 15 + fresh:
            (outcome,) = writer.run_batch([Fail((subject,), many, T0)])
            if isinstance(outcome, Exception):
                errors.append(outcome)

    threads = [threading.Thread(target=count, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert writers[0].failures(ALICE).count == 30
        assert [writers[0].failures(subject).count for subject in fresh] == [2] * len(fresh)
    finally:
        for writer in writers:
            writer.close()


def test_subjects_are_listed_and_writes_advance_the_node_counter(
    store: FirebirdEntryStore, database: Database
) -> None:
    database.data_dir.mkdir(parents=True, exist_ok=True)  # on a server: no database file here
    generation = CommittedSequence(database.data_dir / GENERATION_FILE)
    reader = CommittedSequence(database.data_dir / GENERATION_FILE)  # another process's view
    failures = database.bind_failures(generation=generation)
    try:
        assert failures.run_batch([ListSubjects(10)]) == [frozenset()]
        failures.run_batch([Look((ALICE, HOST))])
        assert reader.read() == 0  # reading advances nothing
        _fail(failures, 0, ALICE, HOST)
        assert reader.read() == 1  # before the outcome came back
        assert failures.run_batch([ListSubjects(10)]) == [frozenset({ALICE.key, HOST.key})]
        assert failures.run_batch([ListSubjects(1)]) == [None]  # more than asked for
        failures.clear(ALICE)
        assert reader.read() == 2
    finally:
        failures.close()  # closes the generation too
        reader.close()
