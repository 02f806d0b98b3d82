"""Tests for ixidir.routing.site: reading the site's numbering settings from the defaults entry."""

from __future__ import annotations

import pytest

from ixidir.errors import InvalidAttributeSyntax, ResultCode
from ixidir.routing.site import SiteSettings


def test_every_site_attribute_is_read_from_the_entry() -> None:
    site = SiteSettings.from_attributes(
        {
            "ixiSiteCountryCode": [b"43"],
            "ixiSiteAreaCode": [b"1"],
            "ixiSiteBaseNumber": [b"5344"],
            "ixiSiteDdiLength": [b"4"],
            "ixiSiteNationalPrefix": [b"0"],
            "ixiSiteInternationalPrefix": [b"00"],
            "ixiSiteE164Mode": [b"TRUE"],
        }
    )
    assert site == SiteSettings(
        country_code="43",
        area_code="1",
        base_number="5344",
        ddi_length=4,
        national_prefix="0",
        international_prefix="00",
        e164_mode=True,
    )


def test_absent_attributes_take_the_defaults() -> None:
    assert SiteSettings.from_attributes({"cn": [b"ums-defaults"]}) == SiteSettings()
    assert SiteSettings() == SiteSettings(
        country_code="49",
        area_code="",
        base_number="",
        ddi_length=0,
        national_prefix="0",
        international_prefix="00",
        e164_mode=False,
    )


def test_attribute_names_match_without_regard_to_case() -> None:
    site = SiteSettings.from_attributes({"ixisiteareacode": [b"8142"], "IXISITEDDILENGTH": [b"3"]})
    assert (site.area_code, site.ddi_length) == ("8142", 3)


def test_numeric_string_spaces_are_ignored() -> None:
    assert SiteSettings.from_attributes({"ixiSiteBaseNumber": [b"47 99"]}).base_number == "4799"


def test_empty_prefix_means_the_site_has_none() -> None:
    site = SiteSettings.from_attributes({"ixiSiteNationalPrefix": [b""]})
    assert site.national_prefix == ""


@pytest.mark.parametrize(
    ("attrs", "named"),
    [
        ({"ixiSiteE164Mode": [b"true"]}, "ixiSiteE164Mode"),
        ({"ixiSiteDdiLength": [b"three"]}, "ixiSiteDdiLength"),
        ({"ixiSiteDdiLength": [b"-1"]}, "ixiSiteDdiLength"),
        ({"ixiSiteDdiLength": [b"16"]}, "ixiSiteDdiLength"),
        ({"ixiSiteAreaCode": [b"81-42"]}, "ixiSiteAreaCode"),
        ({"ixiSiteAreaCode": [b"\xff"]}, "ixiSiteAreaCode"),
        ({"ixiSiteCountryCode": [b"049"]}, "ixiSiteCountryCode"),
        ({"ixiSiteCountryCode": [b"4912"]}, "ixiSiteCountryCode"),
        ({"ixiSiteCountryCode": [b""]}, "ixiSiteCountryCode"),
        ({"ixiSiteInternationalPrefix": [b"0"]}, "ixiSiteNationalPrefix"),
    ],
)
def test_unusable_settings_are_refused_naming_the_attribute(
    attrs: dict[str, list[bytes]], named: str
) -> None:
    with pytest.raises(InvalidAttributeSyntax, match=named) as raised:
        SiteSettings.from_attributes(attrs)
    assert raised.value.result_code is ResultCode.INVALID_ATTRIBUTE_SYNTAX
