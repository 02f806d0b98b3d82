"""Which daily limit applies: user modes over server defaults, the global switch, bad data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.limits.policy import (
    MAX_LIMIT,
    Service,
    Source,
    decide_limit,
    effective_limit,
    is_enabled,
    limit_time_zone,
)

Attrs = dict[str, list[bytes]]

ENABLED: Attrs = {"ixiDailyLimitEnabled": [b"TRUE"]}


def defaults(**extra: list[bytes]) -> Attrs:
    return {**ENABLED, **extra}


def test_service_values_are_the_extended_operation_enumeration() -> None:
    assert [(s.name, int(s)) for s in Service] == [("FAX", 0), ("SMS", 1), ("VOICE", 2)]


@pytest.mark.parametrize(
    ("service", "mode", "value"),
    [
        (Service.FAX, "ixiFaxDailyLimitMode", "ixiFaxDailyLimit"),
        (Service.SMS, "ixiSmsDailyLimitMode", "ixiSmsDailyLimit"),
        (Service.VOICE, "ixiVoiceDailyLimitMode", "ixiVoiceDailyLimit"),
    ],
)
def test_each_service_reads_its_own_attributes(service: Service, mode: str, value: str) -> None:
    user = {mode: [b"custom"], value: [b"7"]}
    assert service.mode_attribute == mode
    assert service.limit_attribute == value
    assert effective_limit(user, ENABLED, service=service) == 7
    others = [s for s in Service if s is not service]
    assert all(effective_limit(user, ENABLED, service=s) is None for s in others)


def test_absent_switch_means_no_limits_like_the_kernel_addon_switched_off() -> None:
    user = {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"0"]}
    decision = decide_limit(user, {}, service=Service.FAX)
    assert decision.limit is None
    assert decision.source is Source.DISABLED
    assert not is_enabled({})


def test_switch_false_means_no_limits_even_for_custom_users() -> None:
    user = {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"3"]}
    off = {"ixiDailyLimitEnabled": [b"FALSE"], "ixiFaxDailyLimitMode": [b"custom"]}
    assert effective_limit(user, off, service=Service.FAX) is None


def test_user_without_setting_gets_the_server_default_number() -> None:
    server = defaults(ixiSmsDailyLimitMode=[b"custom"], ixiSmsDailyLimit=[b"50"])
    decision = decide_limit({}, server, service=Service.SMS)
    assert decision.limit == 50
    assert decision.source is Source.SERVER
    assert decision.problem is None


def test_user_mode_default_gets_the_server_default() -> None:
    server = defaults(ixiFaxDailyLimitMode=[b"custom"], ixiFaxDailyLimit=[b"20"])
    user = {"ixiFaxDailyLimitMode": [b"default"], "ixiFaxDailyLimit": [b"999"]}
    assert effective_limit(user, server, service=Service.FAX) == 20


def test_server_infinite_or_unset_default_means_no_limit() -> None:
    assert (
        effective_limit({}, defaults(ixiFaxDailyLimitMode=[b"infinite"]), service=Service.FAX)
        is None
    )
    assert effective_limit({}, ENABLED, service=Service.FAX) is None


def test_user_infinite_overrides_a_server_limit() -> None:
    server = defaults(ixiVoiceDailyLimitMode=[b"custom"], ixiVoiceDailyLimit=[b"5"])
    decision = decide_limit(
        {"ixiVoiceDailyLimitMode": [b"infinite"]}, server, service=Service.VOICE
    )
    assert decision.limit is None
    assert decision.source is Source.USER


def test_user_custom_overrides_a_server_limit_both_ways() -> None:
    server = defaults(ixiFaxDailyLimitMode=[b"custom"], ixiFaxDailyLimit=[b"5"])
    for number in (b"0", b"2", b"500"):
        user = {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [number]}
        assert effective_limit(user, server, service=Service.FAX) == int(number)


def test_user_custom_overrides_an_infinite_server() -> None:
    user = {"ixiSmsDailyLimitMode": [b"custom"], "ixiSmsDailyLimit": [b"1"]}
    assert (
        effective_limit(user, defaults(ixiSmsDailyLimitMode=[b"infinite"]), service=Service.SMS)
        == 1
    )


def test_modes_and_names_match_case_insensitively() -> None:
    user = {"IXIFAXDAILYLIMITMODE": [b"Custom"], "ixifaxdailylimit": [b"4"]}
    server = {"ixidailylimitenabled": [b"TRUE"]}
    assert effective_limit(user, server, service=Service.FAX) == 4
    assert (
        effective_limit({"ixiFaxDailyLimitMode": [b"INFINITE"]}, server, service=Service.FAX)
        is None
    )


def test_number_is_ignored_unless_the_mode_is_custom() -> None:
    user = {"ixiFaxDailyLimitMode": [b"infinite"], "ixiFaxDailyLimit": [b"3"]}
    assert effective_limit(user, ENABLED, service=Service.FAX) is None
    server = defaults(ixiFaxDailyLimit=[b"3"])  # no mode on the server: no system default
    assert effective_limit({}, server, service=Service.FAX) is None


@pytest.mark.parametrize(
    "user",
    [
        {"ixiFaxDailyLimitMode": [b"custom"]},
        {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"-1"]},
        {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"ten"]},
        {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b" 5"]},
        {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"5", b"6"]},
        {"ixiFaxDailyLimitMode": [b"unlimited"]},
        {"ixiFaxDailyLimitMode": [b"custom", b"infinite"], "ixiFaxDailyLimit": [b"5"]},
    ],
)
def test_malformed_user_settings_fail_closed_to_zero(user: Attrs) -> None:
    decision = decide_limit(user, ENABLED, service=Service.FAX)
    assert decision.limit == 0
    assert decision.source is Source.USER
    assert decision.problem is not None


def test_malformed_server_default_fails_closed_to_zero() -> None:
    server = defaults(ixiSmsDailyLimitMode=[b"default"])
    decision = decide_limit({}, server, service=Service.SMS)
    assert (decision.limit, decision.source) == (0, Source.SERVER)
    assert decision.problem is not None
    broken = defaults(ixiSmsDailyLimitMode=[b"custom"], ixiSmsDailyLimit=[b"x"])
    assert effective_limit({}, broken, service=Service.SMS) == 0


def test_malformed_switch_counts_as_enabled_and_is_reported() -> None:
    user = {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"2"]}
    decision = decide_limit(user, {"ixiDailyLimitEnabled": [b"yes"]}, service=Service.FAX)
    assert decision.limit == 2
    assert decision.problem is not None
    assert is_enabled({"ixiDailyLimitEnabled": [b"true"]})  # Boolean is exactly TRUE/FALSE


def test_limits_beyond_the_counter_range_are_clamped() -> None:
    user = {"ixiFaxDailyLimitMode": [b"custom"], "ixiFaxDailyLimit": [b"9" * 40]}
    assert effective_limit(user, ENABLED, service=Service.FAX) == MAX_LIMIT


@given(st.integers(min_value=0, max_value=MAX_LIMIT), st.sampled_from(list(Service)))
def test_any_custom_number_is_the_limit(number: int, service: Service) -> None:
    user = {service.mode_attribute: [b"custom"], service.limit_attribute: [str(number).encode()]}
    server = defaults(**{service.mode_attribute: [b"custom"], service.limit_attribute: [b"1"]})
    assert effective_limit(user, server, service=service) == number


def test_time_zone_comes_from_the_defaults_entry_else_utc() -> None:
    assert limit_time_zone({}) == "UTC"
    assert limit_time_zone({"ixiDailyLimitTimeZone": [b"Europe/Berlin"]}) == "Europe/Berlin"
