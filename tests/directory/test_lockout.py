"""The pure bind-lockout rules (directory/lockout.py) on a clock the tests set."""

from __future__ import annotations

from datetime import datetime, timedelta

from ixidir.directory.lockout import (
    DEFAULTS,
    NONE,
    Failures,
    Kind,
    KnownFailures,
    Throttle,
    account,
    address,
    after_failure,
    is_locked,
    is_new_lock,
    throttles,
)

T0 = datetime(2026, 12, 7, 10, 0, 0)
THREE_IN_60_FOR_30 = Throttle(max_failures=3, window=60, lockout=30)
ALICE = account("uid=alice,ou=people,dc=example,dc=com")
HOST = address("192.0.2.7")


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _fail(times: list[float], throttle: Throttle = THREE_IN_60_FOR_30) -> Failures:
    failures = NONE
    for seconds in times:
        failures = after_failure(failures, throttle, _at(seconds))
    return failures


def test_failures_below_the_threshold_count_but_do_not_lock() -> None:
    failures = _fail([0, 1])
    assert failures == Failures(2, T0, None)
    assert not is_locked(failures, THREE_IN_60_FOR_30, _at(2))


def test_the_failure_reaching_the_threshold_locks_at_its_time() -> None:
    before = _fail([0, 1])
    after = after_failure(before, THREE_IN_60_FOR_30, _at(2))
    assert after.locked_at == _at(2)
    assert is_new_lock(before, after)
    assert is_locked(after, THREE_IN_60_FOR_30, _at(2))
    assert is_locked(after, THREE_IN_60_FOR_30, _at(31.9))


def test_a_lock_expires_after_its_duration_and_counting_starts_again() -> None:
    locked = _fail([0, 1, 2])
    assert not is_locked(locked, THREE_IN_60_FOR_30, _at(32))
    again = after_failure(locked, THREE_IN_60_FOR_30, _at(33))
    assert again == Failures(1, _at(33), None)


def test_failures_while_locked_change_nothing() -> None:
    locked = _fail([0, 1, 2])
    assert after_failure(locked, THREE_IN_60_FOR_30, _at(10)) == locked
    assert not is_new_lock(locked, locked)


def test_failures_outside_the_window_start_a_new_one() -> None:
    failures = _fail([0, 1, 61])
    assert failures == Failures(1, _at(61), None)
    assert _fail([0, 1, 60]).locked_at == _at(60)  # the window's last second still counts


def test_lockout_zero_lasts_until_unlocked() -> None:
    forever = Throttle(max_failures=2, window=60, lockout=0)
    locked = _fail([0, 1], forever)
    assert is_locked(locked, forever, _at(10 * 365 * 24 * 3600))


def test_zero_failures_switch_the_throttle_off() -> None:
    off = Throttle(max_failures=0, window=60, lockout=30)
    failures = _fail([0, 1, 2, 3, 4, 5], off)
    assert failures.locked_at is None
    assert not is_locked(Failures(9, T0, T0), off, _at(1))


def test_settings_come_from_the_defaults_entry_and_fall_back_on_bad_values() -> None:
    assert throttles({}) == DEFAULTS
    assert DEFAULTS.account == Throttle(5, 600, 600)
    assert DEFAULTS.address == Throttle(10, 10, 60)
    read = throttles(
        {
            "ixiBindMaxFailures": [b"3"],
            "ixiBindFailureWindow": [b"2"],
            "ixiBindLockout": [b"0"],
            "ixiBindAddressFailures": [b"0"],
            "ixiBindAddressWindow": [b"x"],
            "ixiBindAddressBlock": [b"-1"],
        }
    )
    assert read.account == Throttle(3, 2, 0)
    assert read.address == Throttle(0, DEFAULTS.address.window, DEFAULTS.address.lockout)
    assert read.of(Kind.ADDRESS) is read.address


def test_subjects_have_fixed_size_keys_that_differ_by_kind() -> None:
    dn = "uid=" + "x" * 2000 + ",ou=people,dc=example,dc=com"
    assert len(account(dn).key) == 64
    assert account("127.0.0.1").key != address("127.0.0.1").key


class Node:
    """A node's failed-bind counter and the listings a KnownFailures asked for."""

    def __init__(self) -> None:
        self.generation = 0
        self.asked: list[int] = []

    def listing(self) -> KnownFailures:
        return KnownFailures(lambda: self.generation, self.asked.append)


def test_a_listing_is_asked_for_and_until_it_arrives_every_bind_looks() -> None:
    node = Node()
    known = node.listing()
    assert known.must_look([ALICE])
    assert known.must_look([ALICE])
    assert node.asked == [0]  # once, not per bind
    known.listed(frozenset(), 0)
    assert not known.must_look([ALICE, HOST])


def test_a_listed_subject_is_looked_at_and_the_others_are_not() -> None:
    node = Node()
    known = node.listing()
    known.listed(frozenset({ALICE.key}), 0)
    assert known.must_look([HOST, ALICE])
    assert not known.must_look([HOST])


def test_a_count_anywhere_on_the_node_makes_binds_look_until_a_new_listing() -> None:
    node = Node()
    known = node.listing()
    known.listed(frozenset(), 0)
    node.generation = 1  # another process counted a failure
    assert known.must_look([HOST])
    assert node.asked == [1]
    node.generation = 2  # and another, while the listing was on its way
    known.listed(frozenset({HOST.key}), 1)  # as of 1: out of date already
    assert known.must_look([ALICE])
    assert node.asked == [1, 2]
    known.listed(frozenset({HOST.key}), 2)
    assert not known.must_look([ALICE])


def test_without_a_listing_every_bind_looks_until_the_counter_moves() -> None:
    node = Node()
    known = node.listing()
    assert known.must_look([ALICE])
    known.listed(None, 0)  # too many subjects, or the database could not be read
    assert known.must_look([ALICE])
    assert node.asked == [0]  # not asked again for the same generation
    node.generation = 1
    assert known.must_look([ALICE])
    assert node.asked == [0, 1]
