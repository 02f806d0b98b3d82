"""Syntax validators (RFC 4517 §3.3) and time parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ixidir.schema import Schema
from ixidir.schema.timeparse import parse_generalized_time, parse_utc_time

P = "1.3.6.1.4.1.1466.115.121.1."


@pytest.mark.parametrize(
    ("oid", "good", "bad"),
    [
        (P + "15", "Grüße".encode(), b"\xff"),
        (P + "15", b"x", b""),
        (P + "26", b"a@b", "ü".encode()),
        (P + "44", b"Abc 1'()+,-./:=?", b"a@b"),
        (P + "36", b"49 8142", b"49a"),
        (P + "27", b"-12", b"1.0"),
        (P + "27", b"0", b"-"),
        (P + "7", b"TRUE", b"true"),
        (P + "50", b"+49 (8142) 4799-123", b"+49#1"),
        (P + "22", b"+49 1$twoDimensional$fineResolution", b"+49 1$color"),
        (P + "24", b"20240229235960Z", b"20230229000000Z"),
        (P + "53", b"2401011200Z", b"240101"),
        (P + "12", b"cn=a,dc=b", b"cn"),
        (P + "38", b"2.5.4.3", b"2..5"),
        (P + "38", b"cn", b"-cn"),
        (P + "11", b"DE", b"DEU"),
        (P + "41", b"1 Main St$Springfield", b""),
        (P + "34", b"cn=a,dc=b#'0101'B", b"cn#'01'B"),
        (P + "6", b"'0101'B", b"'012'B"),
        (P + "39", b"smtp$a@b", b"smtp"),
        (P + "14", b"telephone $ mhs", b"pigeon"),
        ("1.3.6.1.1.16.1", b"597ae2f6-16a6-1027-98f4-abcdefabcdef", b"597ae2f616a6"),
    ],
)
def test_syntax_accepts_good_and_refuses_bad(
    schema: Schema, oid: str, good: bytes, bad: bytes
) -> None:
    syntax = schema.syntaxes[oid]
    assert syntax.check(good)
    assert not syntax.check(bad)


def test_binary_syntaxes_accept_anything(schema: Schema) -> None:
    assert schema.syntaxes[P + "28"].check(b"\xff\xd8\x00")
    assert schema.syntaxes[P + "40"].check(b"")


def test_generalized_time_forms() -> None:
    assert parse_generalized_time(b"2024010112Z") == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert parse_generalized_time(b"20240101120000-0130") == datetime(
        2024, 1, 1, 13, 30, tzinfo=UTC
    )
    assert parse_generalized_time(b"20240101120000,5Z").microsecond == 500000
    with pytest.raises(ValueError, match="zone"):
        parse_generalized_time(b"20240101120000")


def test_utc_time_pivots_at_fifty() -> None:
    assert parse_utc_time(b"4901011200Z").year == 2049
    assert parse_utc_time(b"5001011200Z").year == 1950
