"""GeneralizedTime and UTCTime parsing (RFC 4517 §3.3.13, §3.3.34) into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Fraction digits beyond this carry no information at microsecond resolution.
_MAX_FRACTION = 20
# Microseconds per unit the fraction refers to (hour, minute, second), by length of the digits.
_FRACTION_UNIT_US = {10: 3_600_000_000, 12: 60_000_000, 14: 1_000_000}


def _split_zone(text: str) -> tuple[str, timedelta]:
    """Strip `Z` or a `+hh[mm]`/`-hh[mm]` differential; RFC 4517 requires one of them."""
    if text.endswith("Z"):
        return text[:-1], timedelta(0)
    sign_at = max(text.rfind("+"), text.rfind("-"))
    if sign_at < 0:
        raise ValueError("time zone missing")
    zone = text[sign_at + 1 :]
    if len(zone) not in (2, 4) or not zone.isdigit() or not zone.isascii():
        raise ValueError("bad time zone differential")
    hours, minutes = int(zone[:2]), int(zone[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("bad time zone differential")
    offset = timedelta(hours=hours, minutes=minutes)
    return text[:sign_at], offset if text[sign_at] == "+" else -offset


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _build(fields: list[int], extra_us: int, offset: timedelta) -> datetime:
    year, month, day, hour, minute, second = fields
    leap = second == 60  # RFC 4517 allows a leap second
    moment = datetime(year, month, day, hour, minute, 59 if leap else second, tzinfo=UTC)
    return moment + timedelta(seconds=1 if leap else 0, microseconds=extra_us) - offset


def parse_generalized_time(value: bytes) -> datetime:
    """`YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|+hh[mm]|-hh[mm])` -> UTC datetime; ValueError if bad."""
    body, offset = _split_zone(value.decode("ascii"))
    main, sep, fraction = body.replace(",", ".").partition(".")
    if len(main) not in _FRACTION_UNIT_US or not _digits(main):
        raise ValueError("bad generalized time")
    if sep and (not fraction or len(fraction) > _MAX_FRACTION or not _digits(fraction)):
        raise ValueError("bad fraction")
    fields = [int(main[0:4]), int(main[4:6]), int(main[6:8]), int(main[8:10])]
    fields += [
        int(main[10:12]) if len(main) >= 12 else 0,
        int(main[12:14]) if len(main) == 14 else 0,
    ]
    if fields[4] > 59:
        raise ValueError("bad minute")
    extra_us = 0
    if fraction:
        extra_us = int(fraction) * _FRACTION_UNIT_US[len(main)] // 10 ** len(fraction)
    return _build(fields, extra_us, offset)


def parse_utc_time(value: bytes) -> datetime:
    """`YYMMDDhhmm[ss](Z|+hhmm|-hhmm)` (RFC 4517 §3.3.34; years < 50 are 20xx)."""
    body, offset = _split_zone(value.decode("ascii"))
    if len(body) not in (10, 12) or not _digits(body):
        raise ValueError("bad UTC time")
    year = int(body[0:2])
    fields = [year + (2000 if year < 50 else 1900), int(body[2:4]), int(body[4:6])]
    fields += [int(body[6:8]), int(body[8:10]), int(body[10:12] or 0)]
    if fields[4] > 59:
        raise ValueError("bad minute")
    return _build(fields, 0, offset)
