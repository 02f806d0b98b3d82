"""Tests for ixidir.routing.e164: SCHEMA.md's canonical routing key, examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.errors import InvalidAttributeSyntax, ResultCode
from ixidir.routing.e164 import (
    MAX_KEY_DIGITS,
    MIN_KEY_DIGITS,
    InvalidNumber,
    _canonicalize_written,
    assertion_key,
    canonicalize,
    is_plausible,
)
from ixidir.routing.site import SiteSettings

GILCHING = SiteSettings(country_code="49", area_code="8142", ddi_length=3)
GILCHING_PBX = SiteSettings(country_code="49", area_code="8142", base_number="4799", ddi_length=3)
KEY = "4981424799123"


@pytest.mark.parametrize(
    "written",
    [
        "+49 8142 4799123",
        "+49 (8142) 4799-123",
        "+4981424799123",
        "+49 (0)8142 4799-123",
        "+49(0)8142/4799.123",
        "+49 ( 0 ) 8142 4799123",
        "(+49) (0)8142 4799123",
        "0049 8142 4799123",
        "08142 4799123",
        "(08142) 479 91 23",
        "08142/4799-123",
        "4799123",
        "+49  8142  4799123",
        " +49 8142 4799123 ",
        "+49 8142 4799123$twoDimensional",
        "+49 8142 4799123$twoDimensional$fineResolution",
        "+49\u00a08142\u202f4799123",
        "+49 8142 4799\u2010123",
        "+49 8142 4799\u2011123",
        "+49 8142 4799\u2212123",
        "+49 8142 4799\uff0d123",
        "+49.8142.4799.123",
    ],
)
def test_every_written_form_of_the_schema_example_has_one_key(written: str) -> None:
    assert canonicalize(written, GILCHING) == KEY


def test_local_number_gets_country_and_area_code_when_base_number_is_empty() -> None:
    assert canonicalize("4799123", GILCHING) == KEY


def test_extension_of_ddi_length_gets_the_base_number() -> None:
    assert canonicalize("123", GILCHING_PBX) == KEY
    assert canonicalize("12", GILCHING_PBX) == "498142479912"


def test_longer_local_number_skips_the_base_number() -> None:
    assert canonicalize("4799123", GILCHING_PBX) == KEY


def test_e164_mode_takes_digits_without_plus_as_international() -> None:
    site = SiteSettings(country_code="49", area_code="8142", ddi_length=3, e164_mode=True)
    assert canonicalize("4981424799123", site) == KEY
    assert canonicalize("49 8142 4799123", site) == KEY
    # Prefixed and DDI forms keep their meaning in E.164 mode (the rules' order).
    assert canonicalize("08142 4799123", site) == KEY
    pbx = SiteSettings(area_code="8142", base_number="4799", ddi_length=3, e164_mode=True)
    assert canonicalize("123", pbx) == KEY


def test_without_e164_mode_digits_without_plus_are_local() -> None:
    assert canonicalize("49814247", GILCHING) == "498142" + "49814247"
    with pytest.raises(InvalidNumber, match="more than 15"):
        canonicalize("4981424799123", GILCHING)


def test_italian_area_code_keeps_its_leading_zero() -> None:
    rome = SiteSettings(country_code="39", area_code="06", ddi_length=3)
    assert canonicalize("06 1234 5678", rome) == "390612345678"
    assert canonicalize("12345678", rome) == "390612345678"
    assert canonicalize("+39 06 1234 5678", rome) == "390612345678"
    assert canonicalize("0039 06 12345678", rome) == "390612345678"


def test_north_american_prefixes() -> None:
    manhattan = SiteSettings(
        country_code="1", area_code="212", national_prefix="1", international_prefix="011"
    )
    assert canonicalize("1 (212) 555-0100", manhattan) == "12125550100"
    assert canonicalize("555-0100", manhattan) == "12125550100"
    assert canonicalize("011 49 8142 4799123", manhattan) == KEY


def test_site_without_national_prefix_reads_every_local_number_as_local() -> None:
    site = SiteSettings(country_code="34", area_code="91", national_prefix="")
    assert canonicalize("0123456", site) == "34910123456"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "no digits"),
        ("   ", "no digits"),
        ("+", "no digits after '+'"),
        ("+ ()", "no digits after '+'"),
        ("$twoDimensional", "no digits"),
        ("+49 8142 FAX", "contains 'F'"),
        ("0800-FLOWERS", "contains 'F'"),
        ("tel:+4981424799123", "contains 't'"),
        ("+49_8142", "contains '_'"),
        ("+49\t8142", "contains '\\t'"),
        ("49+8142", "'+' may only stand in front"),
        ("++4981424799123", "'+' may only stand in front"),
        ("+\uff14\uff19 8142 4799123", "contains '\uff14'"),
        ("+49 8142 4799123\u00b2", "contains '\u00b2'"),
        ("+1234567890123456", "16 digits, more than 15"),
        ("0049 1234 5678 9012 3456", "more than 15"),
        ("+12", "fewer than 3"),
        ("00", "fewer than 3"),
        ("+0049 8142 4799123", "starts with 0"),
        ("000 49 8142", "starts with 0"),
    ],
)
def test_unroutable_input_is_refused_saying_why(written: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as raised:
        canonicalize(written, GILCHING)
    error = raised.value
    assert isinstance(error, InvalidAttributeSyntax)
    assert error.result_code is ResultCode.INVALID_ATTRIBUTE_SYNTAX
    assert reason in error.message
    assert repr(written) in error.message
    assert error.number == written


def test_refusal_quotes_only_the_start_of_a_huge_value() -> None:
    with pytest.raises(InvalidNumber) as raised:
        canonicalize("1" * 10_000, GILCHING)
    assert len(raised.value.message) < 200
    assert "..." in raised.value.message


def test_refusal_can_name_the_attribute() -> None:
    error = InvalidNumber("x", "it contains 'x'", attribute="ixiSmsNumber")
    assert error.message.startswith("ixiSmsNumber: 'x' is not a routable telephone number")


def test_assertion_key_is_none_for_unreadable_assertions() -> None:
    assert assertion_key("+49 8142 4799123", GILCHING) == KEY
    assert assertion_key(b"08142 4799123", GILCHING) == KEY
    assert assertion_key("*", GILCHING) is None
    assert assertion_key(b"\xff\xfe", GILCHING) is None
    assert assertion_key("", GILCHING) is None


def test_plausibility_follows_the_numbering_plans() -> None:
    assert is_plausible(KEY)
    assert not is_plausible("999123")
    assert not is_plausible("4912")


# --- properties -------------------------------------------------------------------------------

_LEAD = "234567"  # real subscriber numbers and area codes start with none of the site prefixes
_PLANS = [("49", "0", "00"), ("44", "0", "00"), ("1", "1", "011"), ("7", "8", "810")]
_FOREIGN = ["1", "7", "33", "39", "44", "49", "86", "358", "971"]
_SEPARATORS = ["", " ", "  ", "-", "\u2011", "\u2013", ".", "/"]


def _digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Digit strings that do not start with 0, 1 or 8 (no prefix of any plan in _PLANS)."""
    return st.builds(
        lambda lead, rest: lead + rest,
        st.sampled_from(_LEAD),
        st.text("0123456789", min_size=max(min_size - 1, 0), max_size=max_size - 1),
    )


@st.composite
def _sites(draw: st.DrawFn) -> SiteSettings:
    country, national, international = draw(st.sampled_from(_PLANS))
    return SiteSettings(
        country_code=country,
        area_code=draw(_digits(1, 4)),
        base_number=draw(st.just("") | _digits(1, 4)),
        ddi_length=draw(st.integers(0, 4)),
        national_prefix=national,
        international_prefix=international,
        e164_mode=draw(st.booleans()),
    )


@st.composite
def _formatted(draw: st.DrawFn, digits: str) -> str:
    """The digits cut into groups with random separators; groups of 2+ digits may get '()'."""
    out: list[str] = []
    rest = digits
    while rest:
        size = draw(st.integers(1, max(1, len(rest))))
        group, rest = rest[:size], rest[size:]
        if len(group) >= 2 and draw(st.integers(0, 4)) == 0:
            group = f"({group})"
        out.append(group)
        if rest:
            out.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(out)


@st.composite
def _numbers(draw: st.DrawFn, site: SiteSettings) -> tuple[str, str, str, str]:
    """(country code, area code, subscriber number, key) of a number at, near or far from site."""
    where = draw(st.sampled_from(["pbx", "area", "country", "abroad"]))
    country = site.country_code if where != "abroad" else draw(st.sampled_from(_FOREIGN))
    area = site.area_code if where in ("pbx", "area") else draw(_digits(1, 4))
    room = MAX_KEY_DIGITS - len(country) - len(area)
    if where == "pbx" and site.ddi_length:
        room -= len(site.base_number)
        extension = draw(_digits(1, min(site.ddi_length, room)))
        subscriber = site.base_number + extension
    else:
        subscriber = draw(_digits(2, room))
    return country, area, subscriber, country + area + subscriber


@st.composite
def _written_forms(draw: st.DrawFn) -> tuple[SiteSettings, str, list[str]]:
    site = draw(_sites())
    country, area, subscriber, key = draw(_numbers(site))

    def fmt(digits: str) -> str:
        return draw(_formatted(digits))

    forms = [
        "+" + fmt(key),
        "+"
        + draw(st.sampled_from([country, f"({country})", f"{country} "]))
        + "(0)"
        + fmt(area + subscriber),
        site.international_prefix + fmt(key),
    ]
    home = country == site.country_code
    if home:
        forms.append(site.national_prefix + fmt(area + subscriber))
    if home and area == site.area_code:
        if len(subscriber) > site.ddi_length and not site.e164_mode:
            forms.append(fmt(subscriber))
        base, extension = subscriber[: len(site.base_number)], subscriber[len(site.base_number) :]
        is_extension = base == site.base_number and 0 < len(extension) <= site.ddi_length
        if is_extension and not _has_prefix(extension, site):
            forms.append(fmt(extension))
    if site.e164_mode and len(key) > site.ddi_length and not _has_prefix(key, site):
        forms.append(fmt(key))
    suffix = draw(st.sampled_from(["", "$twoDimensional", "$fineResolution$uncompressed"]))
    padding = draw(st.sampled_from(["", " ", "  "]))
    return site, key, [padding + form + padding + suffix for form in forms]


def _has_prefix(digits: str, site: SiteSettings) -> bool:
    """Whether digits written without '+' would read as a national or international number."""
    prefixes = tuple(p for p in (site.national_prefix, site.international_prefix) if p)
    return digits.startswith(prefixes)


@given(_written_forms())
def test_every_formatting_of_a_number_gives_the_same_key(
    case: tuple[SiteSettings, str, list[str]],
) -> None:
    site, key, forms = case
    assert {form: canonicalize(form, site) for form in forms} == dict.fromkeys(forms, key)


@given(_sites(), _digits(MIN_KEY_DIGITS, MAX_KEY_DIGITS))
def test_canonicalize_is_idempotent_on_plus_key(site: SiteSettings, digits: str) -> None:
    key = canonicalize("+" + digits, site)
    assert key == digits
    assert canonicalize("+" + key, site) == key


_NOISE = st.text(
    st.sampled_from(list("0123456789+$()./- \u2011\u00a0aZ_*\t\uff11\u00b2")), max_size=30
)


@given(_sites(), _NOISE)
def test_any_text_gives_a_short_digit_key_or_a_reason(site: SiteSettings, text: str) -> None:
    try:
        key = canonicalize(text, site)
    except InvalidNumber as error:
        refusal = error
    else:
        assert key.isascii()
        assert key.isdigit()
        assert MIN_KEY_DIGITS <= len(key) <= MAX_KEY_DIGITS
        assert key[0] != "0"
        assert canonicalize("+" + key, site) == key
        return
    assert refusal.reason
    assert repr(text) in refusal.message


_COUNTRY_PART = st.text(st.sampled_from(list("0123456789 ()-")), max_size=5)
_TRUNK_PART = st.sampled_from(["", "(0)", "( 0 )", "(0", "0)", "(\u00a00)", "(00)", "(01)"])


@given(_sites(), _COUNTRY_PART, _TRUNK_PART, _NOISE)
def test_the_plus_shortcuts_give_what_the_written_path_gives(
    site: SiteSettings, country: str, trunk: str, rest: str
) -> None:
    """canonicalize's shortcuts for '+' numbers are pinned to the general path."""
    number = "+" + country + trunk + rest
    try:
        expected: str | None = _canonicalize_written(number, site)
    except InvalidNumber:
        expected = None
    assert assertion_key(number, site) == expected


@given(_sites(), _NOISE)
def test_assertion_key_agrees_with_canonicalize(site: SiteSettings, text: str) -> None:
    try:
        expected: str | None = canonicalize(text, site)
    except InvalidNumber:
        expected = None
    assert assertion_key(text, site) == expected
    assert assertion_key(text.encode("utf-8"), site) == expected
