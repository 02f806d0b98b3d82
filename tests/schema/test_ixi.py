"""ixi cross-attribute rules (SCHEMA.md): daily-limit mode and value."""

from __future__ import annotations

import pytest

from ixidir.errors import ConstraintViolation
from ixidir.schema import check_ixi_rules


def test_custom_mode_with_limit_is_accepted() -> None:
    check_ixi_rules({"ixiFaxDailyLimitMode": [b"Custom"], "ixiFaxDailyLimit": [b"10"]})


def test_absent_mode_and_limit_mean_system_default() -> None:
    check_ixi_rules({"cn": [b"x"]})


@pytest.mark.parametrize(
    "attributes",
    [
        {"ixiFaxDailyLimit": [b"10"]},
        {"ixiSmsDailyLimitMode": [b"infinite"], "ixiSmsDailyLimit": [b"10"]},
        {"ixiVoiceDailyLimitMode": [b"custom"]},
    ],
)
def test_limit_present_iff_mode_is_custom(attributes: dict[str, list[bytes]]) -> None:
    with pytest.raises(ConstraintViolation, match="DailyLimit"):
        check_ixi_rules(attributes)


def test_server_defaults_refuse_mode_default() -> None:
    entry = {"objectClass": [b"applicationProcess", b"IXIUMSSERVERDEFAULTS"],
             "ixiFaxDailyLimitMode": [b"default"]}  # fmt: skip
    with pytest.raises(ConstraintViolation, match="infinite"):
        check_ixi_rules(entry)
    check_ixi_rules({**entry, "ixiFaxDailyLimitMode": [b"infinite"]})


def test_user_may_defer_to_default_mode() -> None:
    check_ixi_rules({"objectClass": [b"ixiUmsUser"], "ixiFaxDailyLimitMode": [b"default"]})
