"""The site's local day: midnight, DST changes and zones other than UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.limits.day import InvalidTimeZone, local_day, purge_cutoff, time_zone

BERLIN = "Europe/Berlin"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_berlin_day_starts_at_23_utc_in_winter() -> None:
    assert local_day(utc(2025, 1, 14, 22, 59, 59), BERLIN) == date(2025, 1, 14)
    assert local_day(utc(2025, 1, 14, 23, 0, 0), BERLIN) == date(2025, 1, 15)


def test_berlin_day_starts_at_22_utc_in_summer() -> None:
    assert local_day(utc(2025, 7, 1, 21, 59, 59), BERLIN) == date(2025, 7, 1)
    assert local_day(utc(2025, 7, 1, 22, 0, 0), BERLIN) == date(2025, 7, 2)


def test_utc_and_berlin_disagree_in_the_hour_after_berlin_midnight() -> None:
    now = utc(2025, 1, 14, 23, 30)
    assert local_day(now, "UTC") == date(2025, 1, 14)
    assert local_day(now, BERLIN) == date(2025, 1, 15)


def test_spring_forward_day_is_23_hours_long() -> None:
    # 2025-03-30, last Sunday of March: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    start = utc(2025, 3, 29, 23, 0)  # local midnight, still CET
    end = utc(2025, 3, 30, 22, 0)  # next local midnight, CEST
    assert end - start == timedelta(hours=23)
    assert local_day(start, BERLIN) == date(2025, 3, 30)
    assert local_day(utc(2025, 3, 30, 1, 0), BERLIN) == date(2025, 3, 30)
    assert local_day(end - timedelta(seconds=1), BERLIN) == date(2025, 3, 30)
    assert local_day(end, BERLIN) == date(2025, 3, 31)


def test_fall_back_day_is_25_hours_long() -> None:
    # 2025-10-26, last Sunday of October: 03:00 CEST falls back to 02:00 CET (01:00 UTC).
    start = utc(2025, 10, 25, 22, 0)  # local midnight, CEST
    end = utc(2025, 10, 26, 23, 0)  # next local midnight, CET
    assert end - start == timedelta(hours=25)
    for hour in (0, 1, 2):  # the repeated local hour 02:00-03:00 belongs to the same day
        assert local_day(utc(2025, 10, 26, hour, 30), BERLIN) == date(2025, 10, 26)
    assert local_day(end - timedelta(seconds=1), BERLIN) == date(2025, 10, 26)
    assert local_day(end, BERLIN) == date(2025, 10, 27)


def test_aware_times_in_other_offsets_give_the_same_day() -> None:
    now = datetime(2025, 1, 15, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert local_day(now, BERLIN) == date(2025, 1, 15)
    assert local_day(now, "UTC") == date(2025, 1, 15)
    assert local_day(now, "America/New_York") == date(2025, 1, 14)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_day(datetime(2025, 1, 1, 12), BERLIN)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "Europe/Berlin ", "../etc/passwd", "/etc/localtime"]
)
def test_unknown_time_zone_is_a_clear_error(name: str) -> None:
    with pytest.raises(InvalidTimeZone, match="IANA"):
        local_day(utc(2025, 1, 1), name)
    with pytest.raises(InvalidTimeZone):
        time_zone(name)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    )
)
def test_local_day_is_within_one_day_of_the_utc_date(now: datetime) -> None:
    day = local_day(now, BERLIN)
    assert day - now.date() in (timedelta(0), timedelta(days=1))


def test_purge_cutoff_keeps_the_given_number_of_days() -> None:
    assert purge_cutoff(date(2025, 3, 31), 90) == date(2025, 1, 1)
    assert purge_cutoff(date(2025, 3, 31), 1) == date(2025, 3, 31)
    with pytest.raises(ValueError, match="at least 1"):
        purge_cutoff(date(2025, 3, 31), 0)
