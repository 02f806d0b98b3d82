"""Voice-mailbox PINs: the rules, storing over LDAP writes, verify/lock/expiry, reset, secrecy."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.directory.directory import Directory
from ixidir.directory.filter import Present
from ixidir.directory.pins import (
    PIN_CHANGED_AT,
    PIN_FAILED_COUNT,
    PIN_LOCKED,
    PIN_LOCKED_AT,
    WELCOME_PENDING,
    PinOutcome,
    PinResult,
    check_pin_rules,
    generate_pin,
    pin_problem,
    stored_pin,
    verify_pin,
)
from ixidir.directory.requests import (
    ANONYMOUS,
    AccessClass,
    AddRequest,
    Modification,
    ModifyRequest,
    ModOp,
    Principal,
    Scope,
    SearchRequest,
)
from ixidir.errors import (
    ConstraintViolation,
    InsufficientAccessRights,
    NoSuchAttribute,
    NoSuchObject,
    UnwillingToPerform,
)

from .tree import ADMIN, BASE, BOB, BOB_P, PEOPLE, SERVICE, person, read

CAROL = f"uid=carol,{PEOPLE}"
CAROL_P = Principal(CAROL, AccessClass.USER)
DEFAULTS = f"cn=ums-defaults,{BASE}"
CAROL_PIN = b"480271"
CAROL_PHONE = b"+49 8142 4799-23"
CAROL_FAX = b"+49 8142 4799-8765"
T0 = datetime(2024, 6, 1, 8, 0, 0, tzinfo=UTC)


def add_defaults(directory: Directory, **extra: bytes) -> None:
    attributes = {
        "objectClass": (b"applicationProcess", b"ixiUmsServerDefaults"),
        "ixiSiteCountryCode": (b"49",),
        "ixiSiteAreaCode": (b"8142",),
        **{name: (value,) for name, value in extra.items()},
    }
    directory.add(ADMIN, AddRequest(DEFAULTS, tuple(attributes.items())))


def add_carol(directory: Directory, pin: bytes = CAROL_PIN) -> None:
    attributes = person(
        "carol",
        objectClass=(b"inetOrgPerson", b"ixiUmsUser"),
        telephoneNumber=(CAROL_PHONE,),
        facsimileTelephoneNumber=(CAROL_FAX,),
        ixiVmPin=(pin,),
    )
    directory.add(ADMIN, AddRequest(CAROL, attributes))


@pytest.fixture
def mailbox(directory: Directory) -> Directory:
    """The test tree plus server defaults (threshold 3 by default) and carol with a PIN."""
    add_defaults(directory)
    add_carol(directory)
    return directory


def verify_at(directory: Directory, pin: bytes, now: datetime) -> PinResult:
    return verify_pin(directory.state, SERVICE, CAROL, pin, now=now)


# --- rules ---
@pytest.mark.parametrize(
    "pin",
    [
        b"12345",  # the vendor default
        b"1234",
        b"4321",
        b"98765",
        b"7890",
        b"0987",
        b"8901",
        b"0000",
        b"777777",
        b"1212",
        b"123123",
        b"456456456",
    ],
)
def test_trivial_pins_are_refused(pin: bytes) -> None:
    with pytest.raises(ConstraintViolation, match="ixiVmPin"):
        check_pin_rules(pin)


@pytest.mark.parametrize(
    "pin",
    [b"123", b"1234567890123", b"12a45", b"", b"\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4", b"4 8 2 7"],
)
def test_pins_must_be_4_to_12_ascii_digits(pin: bytes) -> None:
    assert pin_problem(pin) == "a PIN must be 4 to 12 digits"


@pytest.mark.parametrize("pin", [b"9123", b"4799123", b"81424799123"])
def test_the_end_of_an_own_number_is_refused(pin: bytes) -> None:
    problem = pin_problem(pin, numbers=[b"+49 (0)8142 4799-123$fine"])
    assert problem == "a PIN must not be the end of the user's own phone or fax number"


def test_a_pin_unrelated_to_the_numbers_is_accepted() -> None:
    assert pin_problem(b"480271", numbers=[CAROL_PHONE, CAROL_FAX]) is None
    assert pin_problem(b"9132", numbers=[b"+49 8142 4799-123"]) is None


@given(
    start=st.integers(0, 9),
    length=st.integers(4, 12),
    step=st.sampled_from([1, 9]),
)
def test_every_run_is_refused(start: int, length: int, step: int) -> None:
    pin = "".join(str((start + i * step) % 10) for i in range(length)).encode()
    assert pin_problem(pin) is not None


@given(block=st.text("0123456789", min_size=1, max_size=6), times=st.integers(2, 12))
def test_every_repeated_block_is_refused(block: str, times: int) -> None:
    pin = (block * times).encode()
    if len(pin) <= 12:
        assert pin_problem(pin) is not None


@given(
    seed=st.integers(0, 2**64),
    numbers=st.lists(st.text("0123456789 +-", min_size=1, max_size=16), max_size=3),
    digits=st.integers(4, 12),
)
def test_generated_pins_always_pass_the_rules(seed: int, numbers: list[str], digits: int) -> None:
    # A seeded generator, so a failure replays; production draws from `secrets`.
    rng = random.Random(seed)  # noqa: S311
    own = [number.encode() for number in numbers]
    pin = generate_pin(own, digits=digits, randbelow=rng.randrange)
    assert len(pin) == digits
    assert pin_problem(pin, numbers=own) is None


def test_generated_pins_come_from_the_secrets_module_by_default() -> None:
    pins = {generate_pin() for _ in range(20)}
    assert len(pins) > 1
    assert all(pin_problem(pin) is None for pin in pins)


# --- storing ---
def test_a_pin_hash_from_an_import_is_kept() -> None:
    value = b"{PBKDF2-SHA256}1000$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0"
    assert stored_pin(value, numbers=(), iterations=1000) == value


@pytest.mark.parametrize(
    "value",
    [
        b"{SSHA}c2FsdHNhbHRzYWx0c2FsdHNhbHQ=",
        b"{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",
        b"{PBKDF2-SHA256}0$c2FsdA$ZGln",
        b"{PBKDF2-SHA256}1000$c2FsdA",
        b"{CRYPT}abc",
    ],
)
def test_other_hashes_are_refused(value: bytes) -> None:
    with pytest.raises(ConstraintViolation, match="PBKDF2-SHA256"):
        stored_pin(value, numbers=(), iterations=1000)


def test_a_pin_added_over_ldap_is_stored_hashed_with_its_change_time(mailbox: Directory) -> None:
    carol = read(mailbox, CAROL)
    assert carol["ixiVmPin"][0].startswith(b"{PBKDF2-SHA256}1000$")
    assert CAROL_PIN not in carol["ixiVmPin"][0]
    # The test clock ticks a second per reading; the PIN is stamped just before the entry.
    assert carol[PIN_CHANGED_AT][0] <= carol["createTimestamp"][0]


def test_a_trivial_pin_is_refused_on_add_and_nothing_is_written(directory: Directory) -> None:
    with pytest.raises(ConstraintViolation, match="ixiVmPin: a PIN must not be an ascending"):
        add_carol(directory, pin=b"12345")
    with pytest.raises(ConstraintViolation, match="end of the user's own"):
        add_carol(directory, pin=b"998765")
    assert directory.state.dit.get(directory.state.parse_dn(CAROL)[1]) is None


def test_modifying_the_pin_checks_hashes_and_stamps_it(mailbox: Directory) -> None:
    before = read(mailbox, CAROL)
    change = ModifyRequest(CAROL, (Modification(ModOp.REPLACE, "ixiVmPin", (b"1111",)),))
    with pytest.raises(ConstraintViolation):
        mailbox.modify(ADMIN, change)
    assert read(mailbox, CAROL) == before
    change = ModifyRequest(CAROL, (Modification(ModOp.REPLACE, "ixiVmPin", (b"305917",)),))
    mailbox.modify(ADMIN, change)
    after = read(mailbox, CAROL)
    assert after["ixiVmPin"] != before["ixiVmPin"]
    assert after[PIN_CHANGED_AT] > before[PIN_CHANGED_AT]
    assert mailbox.verify_pin(SERVICE, CAROL, b"305917").result is PinOutcome.OK


def test_other_modifications_leave_the_pin_and_its_change_time(mailbox: Directory) -> None:
    before = read(mailbox, CAROL)
    mailbox.modify(ADMIN, ModifyRequest(CAROL, (Modification(ModOp.REPLACE, "sn", (b"X",)),)))
    after = read(mailbox, CAROL)
    assert after["ixiVmPin"] == before["ixiVmPin"]
    assert after[PIN_CHANGED_AT] == before[PIN_CHANGED_AT]


def test_removing_the_pin_removes_its_change_time(mailbox: Directory) -> None:
    mailbox.modify(ADMIN, ModifyRequest(CAROL, (Modification(ModOp.DELETE, "ixiVmPin"),)))
    assert "ixiVmPin" not in read(mailbox, CAROL)
    assert PIN_CHANGED_AT not in read(mailbox, CAROL)


def test_an_import_keeps_its_hash_and_change_time(directory: Directory) -> None:
    value = b"{PBKDF2-SHA256}1000$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0"
    attributes = person(
        "dave",
        objectClass=(b"inetOrgPerson", b"ixiUmsUser"),
        ixiVmPin=(value,),
        ixiVmPinChangedAt=(b"20200101000000Z",),
    )
    directory.add(ADMIN, AddRequest(f"uid=dave,{PEOPLE}", attributes), import_mode=True)
    dave = read(directory, f"uid=dave,{PEOPLE}")
    assert dave["ixiVmPin"] == (value,)
    assert dave[PIN_CHANGED_AT] == (b"20200101000000Z",)


# --- secrecy ---
def test_nobody_but_the_admin_reads_the_hash(mailbox: Directory) -> None:
    request = SearchRequest(CAROL, Scope.BASE, attributes=("*", "+", "ixiVmPin"))
    for principal in (SERVICE, CAROL_P):
        (entry,) = mailbox.search(principal, request)
        assert "ixiVmPin" not in dict(entry.attributes)
    (entry,) = mailbox.search(ADMIN, request)
    assert "ixiVmPin" in dict(entry.attributes)


def test_a_search_filter_on_the_hash_matches_nothing_for_a_service(mailbox: Directory) -> None:
    request = SearchRequest(PEOPLE, Scope.SUB, filter=Present("ixiVmPin"))
    assert list(mailbox.search(SERVICE, request)) == []
    assert [e.dn for e in mailbox.search(ADMIN, request)] == [CAROL]


def test_users_cannot_compare_pins(mailbox: Directory) -> None:
    for principal in (CAROL_P, BOB_P, ANONYMOUS):
        with pytest.raises((InsufficientAccessRights, NoSuchObject)):
            mailbox.compare(principal, CAROL, "ixiVmPin", CAROL_PIN)


# --- verify and lock ---
def test_the_right_pin_is_ok_with_every_attempt_left(mailbox: Directory) -> None:
    assert mailbox.verify_pin(SERVICE, CAROL, CAROL_PIN) == PinResult(PinOutcome.OK, 3)
    assert mailbox.verify_pin(ADMIN, CAROL, CAROL_PIN) == PinResult(PinOutcome.OK, 3)


def test_wrong_pins_count_down_and_lock_at_the_threshold(mailbox: Directory) -> None:
    results = [mailbox.verify_pin(SERVICE, CAROL, b"999990") for _ in range(3)]
    assert results == [
        PinResult(PinOutcome.WRONG, 2),
        PinResult(PinOutcome.WRONG, 1),
        PinResult(PinOutcome.WRONG, 0),
    ]
    carol = read(mailbox, CAROL)
    assert carol[PIN_LOCKED] == (b"TRUE",)
    assert carol[PIN_FAILED_COUNT] == (b"3",)
    assert PIN_LOCKED_AT in carol
    assert mailbox.verify_pin(SERVICE, CAROL, CAROL_PIN) == PinResult(PinOutcome.LOCKED, 0)


def test_a_right_pin_resets_the_counter(mailbox: Directory) -> None:
    mailbox.verify_pin(SERVICE, CAROL, b"999990")
    mailbox.verify_pin(SERVICE, CAROL, b"999990")
    assert mailbox.verify_pin(SERVICE, CAROL, CAROL_PIN) == PinResult(PinOutcome.OK, 3)
    assert PIN_FAILED_COUNT not in read(mailbox, CAROL)
    assert mailbox.verify_pin(SERVICE, CAROL, b"999990") == PinResult(PinOutcome.WRONG, 2)


def test_the_counter_persists_in_the_store(mailbox: Directory) -> None:
    mailbox.verify_pin(SERVICE, CAROL, b"999990")
    stored = [e for e in mailbox.state.store.load() if e.dn.startswith("uid=carol")]
    assert stored[0].attributes[PIN_FAILED_COUNT] == (b"1",)


def test_the_threshold_comes_from_the_defaults_entry(directory: Directory) -> None:
    add_defaults(directory, ixiVmPinMaxFailures=b"5")
    add_carol(directory)
    results = [directory.verify_pin(SERVICE, CAROL, b"999990").attempts_left for _ in range(5)]
    assert results == [4, 3, 2, 1, 0]
    assert directory.verify_pin(SERVICE, CAROL, CAROL_PIN).result is PinOutcome.LOCKED


def test_without_defaults_entry_the_threshold_is_three(directory: Directory) -> None:
    add_carol(directory)
    assert directory.verify_pin(SERVICE, CAROL, b"999990") == PinResult(PinOutcome.WRONG, 2)


def test_a_temporary_lock_expires(directory: Directory) -> None:
    add_defaults(directory, ixiVmPinLockoutSeconds=b"600")
    add_carol(directory)
    for _ in range(3):
        verify_at(directory, b"999990", T0)
    almost = T0 + timedelta(seconds=599)
    assert verify_at(directory, CAROL_PIN, almost) == PinResult(PinOutcome.LOCKED, 0)
    later = T0 + timedelta(seconds=600)
    assert verify_at(directory, b"999990", later) == PinResult(PinOutcome.WRONG, 2)
    assert read(directory, CAROL).get(PIN_LOCKED) is None
    assert verify_at(directory, CAROL_PIN, later) == PinResult(PinOutcome.OK, 3)


def test_without_lockout_seconds_the_lock_stays(mailbox: Directory) -> None:
    for _ in range(3):
        verify_at(mailbox, b"999990", T0)
    years = T0 + timedelta(days=3650)
    assert verify_at(mailbox, CAROL_PIN, years).result is PinOutcome.LOCKED


def test_an_admin_lock_over_ldap_never_expires(directory: Directory) -> None:
    add_defaults(directory, ixiVmPinLockoutSeconds=b"1")
    add_carol(directory)
    locking = Modification(ModOp.REPLACE, "ixiVmPinLocked", (b"TRUE",))
    directory.modify(ADMIN, ModifyRequest(CAROL, (locking,)))
    later = T0 + timedelta(days=1)
    assert verify_at(directory, CAROL_PIN, later).result is PinOutcome.LOCKED


def test_unlocking_over_ldap_starts_the_count_again(mailbox: Directory) -> None:
    for _ in range(3):
        mailbox.verify_pin(SERVICE, CAROL, b"999990")
    unlocking = Modification(ModOp.REPLACE, "ixiVmPinLocked", (b"FALSE",))
    mailbox.modify(ADMIN, ModifyRequest(CAROL, (unlocking,)))
    assert mailbox.verify_pin(SERVICE, CAROL, b"999990") == PinResult(PinOutcome.WRONG, 2)
    assert PIN_LOCKED_AT not in read(mailbox, CAROL)


def test_the_counter_cannot_be_written_over_ldap(mailbox: Directory) -> None:
    change = Modification(ModOp.REPLACE, PIN_FAILED_COUNT, (b"0",))
    with pytest.raises(ConstraintViolation, match="no user modification"):
        mailbox.modify(ADMIN, ModifyRequest(CAROL, (change,)))


def test_only_the_admin_and_services_verify(mailbox: Directory) -> None:
    for principal in (CAROL_P, BOB_P, ANONYMOUS):
        with pytest.raises(InsufficientAccessRights):
            mailbox.verify_pin(principal, CAROL, CAROL_PIN)
    assert PIN_FAILED_COUNT not in read(mailbox, CAROL)


def test_unknown_users_and_users_without_pin(mailbox: Directory) -> None:
    with pytest.raises(NoSuchObject):
        mailbox.verify_pin(SERVICE, f"uid=nobody,{PEOPLE}", CAROL_PIN)
    with pytest.raises(NoSuchAttribute):
        mailbox.verify_pin(SERVICE, BOB, CAROL_PIN)


# --- reset ---
def test_unlock_clears_the_lock_and_the_counter(mailbox: Directory) -> None:
    for _ in range(3):
        mailbox.verify_pin(SERVICE, CAROL, b"999990")
    pin = mailbox.reset_voicemail(ADMIN, CAROL, new_pin=False, unlock=True, resend_welcome=False)
    assert pin is None
    carol = read(mailbox, CAROL)
    assert not {PIN_LOCKED, PIN_LOCKED_AT, PIN_FAILED_COUNT, WELCOME_PENDING} & set(carol)
    assert mailbox.verify_pin(SERVICE, CAROL, CAROL_PIN) == PinResult(PinOutcome.OK, 3)


def test_new_pin_is_random_valid_and_replaces_the_old(mailbox: Directory) -> None:
    before = read(mailbox, CAROL)
    pin = mailbox.reset_voicemail(ADMIN, CAROL, new_pin=True, unlock=False, resend_welcome=True)
    assert pin is not None
    assert pin_problem(pin, numbers=[CAROL_PHONE, CAROL_FAX]) is None
    carol = read(mailbox, CAROL)
    assert carol[WELCOME_PENDING] == (b"TRUE",)
    assert carol[PIN_CHANGED_AT] > before[PIN_CHANGED_AT]
    assert carol["modifiersName"] == (ADMIN.dn.encode(),)
    assert mailbox.verify_pin(SERVICE, CAROL, pin).result is PinOutcome.OK
    assert mailbox.verify_pin(SERVICE, CAROL, CAROL_PIN).result is PinOutcome.WRONG


def test_new_pin_without_unlock_keeps_the_lock(mailbox: Directory) -> None:
    for _ in range(3):
        mailbox.verify_pin(SERVICE, CAROL, b"999990")
    pin = mailbox.reset_voicemail(ADMIN, CAROL, new_pin=True, unlock=False, resend_welcome=True)
    assert pin is not None
    assert mailbox.verify_pin(SERVICE, CAROL, pin).result is PinOutcome.LOCKED
    mailbox.reset_voicemail(ADMIN, CAROL, new_pin=False, unlock=True, resend_welcome=False)
    assert mailbox.verify_pin(SERVICE, CAROL, pin).result is PinOutcome.OK


def test_resend_welcome_adds_the_ixi_class_when_missing(mailbox: Directory) -> None:
    pin = mailbox.reset_voicemail(ADMIN, BOB, new_pin=False, unlock=False, resend_welcome=True)
    assert pin is None
    bob = read(mailbox, BOB)
    assert b"ixiUmsUser" in bob["objectClass"]
    assert bob[WELCOME_PENDING] == (b"TRUE",)
    assert "ixiVmPin" not in bob


def test_reset_needs_an_action_the_admin_and_an_existing_user(mailbox: Directory) -> None:
    with pytest.raises(UnwillingToPerform):
        mailbox.reset_voicemail(ADMIN, CAROL, new_pin=False, unlock=False, resend_welcome=False)
    with pytest.raises(InsufficientAccessRights):
        mailbox.reset_voicemail(SERVICE, CAROL, new_pin=True, unlock=True, resend_welcome=True)
    with pytest.raises(NoSuchObject):
        mailbox.reset_voicemail(
            ADMIN, f"uid=nobody,{PEOPLE}", new_pin=True, unlock=False, resend_welcome=False
        )


def test_compare_by_a_service_counts_and_locks_like_verify(mailbox: Directory) -> None:
    """Compare on ixiVmPin is no way around the lock: failures count, a lock answers false."""
    assert mailbox.compare(SERVICE, CAROL, "ixiVmPin", CAROL_PIN) is True
    for _ in range(3):
        assert mailbox.compare(SERVICE, CAROL, "ixiVmPin", b"999990") is False
    assert read(mailbox, CAROL)[PIN_LOCKED] == (b"TRUE",)
    assert mailbox.compare(SERVICE, CAROL, "ixiVmPin", CAROL_PIN) is False
