"""The site's local calendar day, the key of the daily counters, from an aware clock reading."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# An absent ixiDailyLimitTimeZone: UTC, the one zone whose day never shifts with DST rules.
DEFAULT_TIME_ZONE = "UTC"
# Days of counters kept before purging (issue 4: configurable, default 90).
DEFAULT_KEEP_DAYS = 90


class InvalidTimeZone(ValueError):
    """The configured time zone is not an IANA name that the tz database knows."""


def time_zone(tz_name: str) -> ZoneInfo:
    """The zone for an IANA name such as `Europe/Berlin`; anything else raises InvalidTimeZone."""
    if not tz_name or tz_name != tz_name.strip():
        raise InvalidTimeZone(f"{tz_name!r} is not an IANA time zone name (e.g. Europe/Berlin)")
    try:
        return ZoneInfo(tz_name)  # ZoneInfo caches instances by key
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # ValueError: keys that are not normalized relative paths ("../x", "/etc/localtime").
        raise InvalidTimeZone(
            f"{tz_name!r} is not an IANA time zone name (e.g. Europe/Berlin)"
        ) from exc


def local_day(now: datetime, tz_name: str) -> date:
    """The calendar date at the site when it is `now` (an aware datetime) there.

    Naive datetimes are refused: guessing their zone would move the day boundary silently.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("local_day needs an aware datetime (e.g. datetime.now(UTC))")
    return now.astimezone(time_zone(tz_name)).date()


def purge_cutoff(today: date, keep_days: int = DEFAULT_KEEP_DAYS) -> date:
    """The oldest day still kept: counters of days before it may be purged."""
    if keep_days < 1:
        raise ValueError(
            f"keep_days must be at least 1 (today's counts are always kept): {keep_days}"
        )
    return today - timedelta(days=keep_days - 1)
