"""FirebirdCounterStore on a real embedded Firebird: limits, release, reset, purge, races.

Run as a module, this is the worker of the multi-process race test:
`python -m tests.storage.test_counters ROOT DATA UUID DAY LIMIT COUNT` opens the store, prints
`ready`, waits for a line on stdin, makes COUNT single reservations and prints the granted ones.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldaptor.protocols import pureber

from ixidir.directory.directory import Directory
from ixidir.directory.limits import DailyLimits
from ixidir.directory.ports import DeleteEntry, PutEntry, StorageError
from ixidir.directory.requests import AccessClass, AddRequest, Principal
from ixidir.directory.settings import DirectorySettings
from ixidir.errors import InsufficientAccessRights, NoSuchObject, ProtocolError
from ixidir.limits.policy import Service
from ixidir.schema import load_default_schema
from ixidir.server.extended import ExtendedCall
from ixidir.server.limits_ext import RELEASE_OID, RESERVE_OID, decode_limit_request, limit_handlers
from ixidir.server.offload import InlineOffload, answered
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.counters import FirebirdCounterStore, open_counter_store

from .conftest import Database, person
from .racers import race

DAY = date(2025, 3, 30)
FAX, SMS, VOICE = Service.FAX, Service.SMS, Service.VOICE


def new_user() -> str:
    return str(uuid.uuid4())


def test_reservations_are_granted_up_to_the_limit_then_refused(
    counters: FirebirdCounterStore,
) -> None:
    user = new_user()
    results = [counters.reserve(user, FAX, day=DAY, count=1, limit=3) for _ in range(5)]
    assert [(r.granted, r.used, r.limit) for r in results] == [
        (True, 1, 3),
        (True, 2, 3),
        (True, 3, 3),
        (False, 3, 3),
        (False, 3, 3),
    ]
    assert counters.used(user, FAX, day=DAY) == 3


def test_a_request_that_would_cross_the_limit_is_refused_whole(
    counters: FirebirdCounterStore,
) -> None:
    user = new_user()
    assert counters.reserve(user, SMS, day=DAY, count=8, limit=10).granted
    refused = counters.reserve(user, SMS, day=DAY, count=3, limit=10)
    assert (refused.granted, refused.used) == (False, 8)
    assert counters.reserve(user, SMS, day=DAY, count=2, limit=10).used == 10
    first = counters.reserve(new_user(), SMS, day=DAY, count=11, limit=10)
    assert (first.granted, first.used) == (False, 0)


def test_limit_zero_grants_nothing(counters: FirebirdCounterStore) -> None:
    user = new_user()
    result = counters.reserve(user, VOICE, day=DAY, count=1, limit=0)
    assert (result.granted, result.used, result.limit) == (False, 0, 0)
    counters.reserve(user, FAX, day=DAY, count=2, limit=None)
    assert not counters.reserve(user, FAX, day=DAY, count=1, limit=0).granted
    assert counters.used(user, VOICE, day=DAY) == 0


def test_an_infinite_limit_still_counts(counters: FirebirdCounterStore) -> None:
    user = new_user()
    for expected in (5, 10, 15):
        result = counters.reserve(user, FAX, day=DAY, count=5, limit=None)
        assert (result.granted, result.used, result.limit) == (True, expected, None)
    # Counted while infinite, so a limit set later applies to what was already sent.
    assert not counters.reserve(user, FAX, day=DAY, count=1, limit=15).granted


def test_counts_are_kept_per_user_service_and_day(counters: FirebirdCounterStore) -> None:
    alice, bob = new_user(), new_user()
    counters.reserve(alice, FAX, day=DAY, count=1, limit=1)
    assert counters.reserve(alice, SMS, day=DAY, count=1, limit=1).granted
    assert counters.reserve(bob, FAX, day=DAY, count=1, limit=1).granted
    assert counters.reserve(alice, FAX, day=DAY + timedelta(days=1), count=1, limit=1).granted
    assert not counters.reserve(alice, FAX, day=DAY, count=1, limit=1).granted


def test_release_takes_back_but_never_below_zero(counters: FirebirdCounterStore) -> None:
    user = new_user()
    counters.reserve(user, FAX, day=DAY, count=3, limit=None)
    assert counters.release(user, FAX, day=DAY, count=1) == 2
    assert counters.release(user, FAX, day=DAY, count=5) == 0
    assert counters.used(user, FAX, day=DAY) == 0
    assert counters.release(new_user(), FAX, day=DAY, count=1) == 0
    assert counters.reserve(user, FAX, day=DAY, count=2, limit=2).granted


def test_reset_one_service_or_all(counters: FirebirdCounterStore) -> None:
    user = new_user()
    for service in Service:
        counters.reserve(user, service, day=DAY, count=2, limit=None)
    counters.reserve(user, FAX, day=DAY - timedelta(days=1), count=4, limit=None)
    counters.reset(user, SMS, day=DAY)
    assert [counters.used(user, s, day=DAY) for s in Service] == [2, 0, 2]
    counters.reset(user, None, day=DAY)
    assert [counters.used(user, s, day=DAY) for s in Service] == [0, 0, 0]
    assert counters.used(user, FAX, day=DAY - timedelta(days=1)) == 4


def test_purge_deletes_only_older_days(counters: FirebirdCounterStore) -> None:
    user = new_user()
    for back in range(5):
        counters.reserve(user, FAX, day=DAY - timedelta(days=back), count=1, limit=None)
    assert counters.purge_before(DAY - timedelta(days=2)) == 2
    kept = [counters.used(user, FAX, day=DAY - timedelta(days=back)) for back in range(5)]
    assert kept == [1, 1, 1, 0, 0]
    assert counters.purge_before(DAY - timedelta(days=2)) == 0


def test_delete_user_forgets_its_counts(counters: FirebirdCounterStore) -> None:
    gone, kept = new_user(), new_user()
    for user in (gone, kept):
        counters.reserve(user, FAX, day=DAY, count=1, limit=None)
    counters.delete_user(gone)
    assert counters.used(gone, FAX, day=DAY) == 0
    assert counters.used(kept, FAX, day=DAY) == 1


def test_deleting_the_entry_deletes_its_counts_but_modifying_it_does_not(
    store: FirebirdEntryStore, counters: FirebirdCounterStore
) -> None:
    entry = person("carol")
    store.commit([PutEntry(entry)])
    counters.reserve(entry.uuid, SMS, day=DAY, count=3, limit=None)
    modified = {**entry.attributes, "mail": [b"carol@example.com"]}
    store.commit([PutEntry(replace(entry, attributes=modified))])
    assert counters.used(entry.uuid, SMS, day=DAY) == 3
    store.commit([DeleteEntry(entry.uuid)])
    assert counters.used(entry.uuid, SMS, day=DAY) == 0


def test_counts_survive_reopening(store: FirebirdEntryStore, database: Database) -> None:
    user = new_user()
    with database.counters() as first:
        first.reserve(user, VOICE, day=DAY, count=7, limit=10)
    with database.counters() as second:
        assert second.used(user, VOICE, day=DAY) == 7
        assert not second.reserve(user, VOICE, day=DAY, count=4, limit=10).granted


@pytest.mark.parametrize("count", [0, -1, 2**31])
def test_counts_outside_the_allowed_range_are_refused(
    counters: FirebirdCounterStore, count: int
) -> None:
    with pytest.raises(ValueError, match="count"):
        counters.reserve(new_user(), FAX, day=DAY, count=count, limit=None)
    with pytest.raises(ValueError, match="count"):
        counters.release(new_user(), FAX, day=DAY, count=count)


def test_negative_limit_and_bad_uuid_are_refused(counters: FirebirdCounterStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        counters.reserve(new_user(), FAX, day=DAY, count=1, limit=-1)
    with pytest.raises(StorageError, match="entryUUID"):
        counters.reserve("not-a-uuid", FAX, day=DAY, count=1, limit=None)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(min_value=0, max_value=6),
    st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=4)), max_size=12),
)
def test_reserve_and_release_agree_with_a_counter_model(
    counters: FirebirdCounterStore, limit: int, steps: list[tuple[bool, int]]
) -> None:
    user, model = new_user(), 0
    for is_reserve, count in steps:
        if is_reserve:
            result = counters.reserve(user, FAX, day=DAY, count=count, limit=limit)
            assert result.granted == (model + count <= limit)
            model += count if result.granted else 0
            assert result.used == model
        else:
            model = max(model - count, 0)
            assert counters.release(user, FAX, day=DAY, count=count) == model
    assert counters.used(user, FAX, day=DAY) == model


PROCESSES = 8
RESERVATIONS_EACH = 50
RACE_LIMIT = 100


def test_concurrent_processes_never_exceed_the_limit(
    store: FirebirdEntryStore, counters: FirebirdCounterStore, database: Database
) -> None:
    # 8 processes x 50 single reservations, all released at once on a day with no row yet, so
    # they race on the first INSERT as well as on the UPDATE of the same row.
    user = new_user()
    args = [
        str(database.runtime_root),
        *database.worker_arguments(),
        user,
        DAY.isoformat(),
        str(RACE_LIMIT),
    ]
    counts = race("tests.storage.test_counters", [*args, str(RESERVATIONS_EACH)], PROCESSES)
    assert sum(counts) == RACE_LIMIT
    assert counters.used(user, FAX, day=DAY) == RACE_LIMIT


# --- The DailyLimits use-case and its extended operations over these counters (issue 4) ---

BASE = "dc=example,dc=com"
DEFAULTS_DN = f"cn=ums-defaults,{BASE}"
ALICE, BOB = f"uid=alice,{BASE}", f"uid=bob,{BASE}"
CONNECTOR = f"cn=connector,{BASE}"
ADMIN = Principal(f"cn=admin,{BASE}", AccessClass.ADMIN)
SERVICE = Principal(CONNECTOR, AccessClass.SERVICE)
ALICE_P = Principal(ALICE, AccessClass.USER)


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def directory(store: FirebirdEntryStore) -> Directory:
    made = Directory(
        schema=load_default_schema(),
        store=store,
        base_dn=BASE,
        settings=DirectorySettings(service_accounts=(CONNECTOR,)),
        clock=lambda: datetime(2025, 1, 1, tzinfo=UTC),
        new_uuid=lambda: str(uuid.uuid4()),
    )
    made.load()
    made.add(ADMIN, AddRequest(BASE, (("objectClass", (b"domain",)), ("dc", (b"example",)))))
    for dn, name in ((ALICE, b"alice"), (BOB, b"bob")):
        person = (("objectClass", (b"inetOrgPerson",)), ("cn", (name,)), ("sn", (name,)))
        made.add(ADMIN, AddRequest(dn, person))
    defaults = (
        ("objectClass", (b"applicationProcess", b"ixiUmsServerDefaults")),
        ("ixiDailyLimitEnabled", (b"TRUE",)),
        ("ixiDailyLimitTimeZone", (b"Europe/Berlin",)),
        ("ixiFaxDailyLimitMode", (b"custom",)),
        ("ixiFaxDailyLimit", (b"2",)),
    )
    made.add(ADMIN, AddRequest(DEFAULTS_DN, defaults))
    return made


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 1, 14, 22, 0, tzinfo=UTC))  # 23:00 in Berlin


@pytest.fixture
def limits(directory: Directory, counters: FirebirdCounterStore, clock: FixedClock) -> DailyLimits:
    return DailyLimits(directory=directory, counters=counters, clock=clock)


def test_service_account_reserves_up_to_the_server_default(limits: DailyLimits) -> None:
    results = [limits.reserve(SERVICE, ALICE, Service.FAX) for _ in range(3)]
    assert [(r.granted, r.used, r.limit) for r in results] == [
        (True, 1, 2),
        (True, 2, 2),
        (False, 2, 2),
    ]


def test_a_new_local_day_starts_from_zero(limits: DailyLimits, clock: FixedClock) -> None:
    limits.reserve(ADMIN, ALICE, Service.FAX, count=2)
    assert not limits.reserve(ADMIN, ALICE, Service.FAX).granted
    clock.moment = datetime(2025, 1, 14, 23, 0, tzinfo=UTC)  # Berlin midnight, still UTC Jan 14
    assert limits.reserve(ADMIN, ALICE, Service.FAX).used == 1


def test_release_and_usage_and_reset(limits: DailyLimits) -> None:
    limits.reserve(SERVICE, BOB, Service.SMS, count=3)
    assert limits.release(SERVICE, BOB, Service.SMS) == 2
    usage = {u.service: u for u in limits.usage(SERVICE, BOB)}
    assert usage[Service.SMS].used == 2
    assert usage[Service.SMS].remaining is None  # no SMS default: infinite, still counted
    assert usage[Service.FAX].remaining == 2
    with pytest.raises(InsufficientAccessRights):
        limits.reset(SERVICE, BOB, None)
    limits.reset(ADMIN, BOB, None)
    assert all(u.used == 0 for u in limits.usage(ADMIN, BOB))


def test_users_and_anonymous_may_not_count_and_learn_nothing(limits: DailyLimits) -> None:
    for principal in (ALICE_P, Principal()):
        with pytest.raises(InsufficientAccessRights):
            limits.reserve(principal, ALICE, Service.FAX)
        with pytest.raises(InsufficientAccessRights):
            limits.reserve(principal, f"uid=nobody,{BASE}", Service.FAX)


def test_unknown_user_is_no_such_object(limits: DailyLimits) -> None:
    with pytest.raises(NoSuchObject):
        limits.reserve(SERVICE, f"uid=nobody,{BASE}", Service.FAX)


def request_value(*parts: object) -> bytes:
    return pureber.BERSequence(list(parts)).toWire()  # type: ignore[no-any-return]


def test_reserve_operation_round_trip(
    limits: DailyLimits, directory: Directory, counters: FirebirdCounterStore
) -> None:
    handlers = limit_handlers(limits)
    value = request_value(pureber.BEROctetString(ALICE.encode()), pureber.BEREnumerated(0))
    offload = InlineOffload(directory, counters)
    call = ExtendedCall(directory, SERVICE, value)
    replies = [answered(handlers[RESERVE_OID](call), offload) for _ in range(3)]
    decoded = [pureber.berDecodeObject(pureber.BERDecoderContext(), r.value)[0] for r in replies]
    # ldaptor decodes BOOLEAN TRUE as its octet 0xFF.
    fields = [[bool(seq.data[0].value), seq.data[1].value, seq.data[2].value] for seq in decoded]
    assert fields == [[True, 1, 2], [True, 2, 2], [False, 2, 2]]
    release = answered(handlers[RELEASE_OID](call), offload)
    assert release.value == request_value(pureber.BERInteger(1))


def test_infinite_limit_is_minus_one_on_the_wire(
    limits: DailyLimits, directory: Directory, counters: FirebirdCounterStore
) -> None:
    value = request_value(
        pureber.BEROctetString(BOB.encode()), pureber.BEREnumerated(2), pureber.BERInteger(5)
    )
    handler = limit_handlers(limits)[RESERVE_OID]
    reply = answered(
        handler(ExtendedCall(directory, SERVICE, value)), InlineOffload(directory, counters)
    )
    assert reply.value == request_value(
        pureber.BERBoolean(True), pureber.BERInteger(5), pureber.BERInteger(-1)
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"\x30\x00",
        b"garbage",
        request_value(pureber.BEROctetString(b"uid=x")),
        request_value(pureber.BEROctetString(b"uid=x"), pureber.BERInteger(0)),
        request_value(pureber.BEROctetString(b"uid=x"), pureber.BEREnumerated(3)),
        request_value(
            pureber.BEROctetString(b"uid=x"), pureber.BEREnumerated(0), pureber.BERInteger(0)
        ),
        request_value(pureber.BEROctetString(b"\xff"), pureber.BEREnumerated(0)),
        request_value(pureber.BEROctetString(b"uid=x"), pureber.BEREnumerated(0)) + b"\x00",
    ],
)
def test_malformed_request_values_are_protocol_errors(value: bytes | None) -> None:
    with pytest.raises(ProtocolError):
        decode_limit_request(value)


def _race_worker(argv: list[str]) -> None:
    root, data, dsn, user_name, password, user, day, limit, count = argv
    with open_counter_store(
        Path(data),
        None if dsn == "-" else dsn,
        user=user_name,
        password=None if password == "-" else password,
        runtime_root=Path(root),
    ) as counters:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()
        granted = sum(
            counters.reserve(
                user, FAX, day=date.fromisoformat(day), count=1, limit=int(limit)
            ).granted
            for _ in range(int(count))
        )
    sys.stdout.write(f"{granted}\n")


if __name__ == "__main__":
    _race_worker(sys.argv[1:])
