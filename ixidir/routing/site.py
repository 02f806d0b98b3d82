"""The site's numbering settings that routing keys depend on, read from the server defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ixidir.errors import InvalidAttributeSyntax

# E.164 §6.1: a number is at most 15 digits, country code included.
MAX_E164_DIGITS = 15
# E.164 country codes are 1 to 3 digits and never start with 0.
_MAX_COUNTRY_CODE_DIGITS = 3

# Attribute names of class ixiUmsServerDefaults (SCHEMA.md, ixiAT:9.x).
ATTR_COUNTRY_CODE = "ixiSiteCountryCode"
ATTR_AREA_CODE = "ixiSiteAreaCode"
ATTR_BASE_NUMBER = "ixiSiteBaseNumber"
ATTR_DDI_LENGTH = "ixiSiteDdiLength"
ATTR_NATIONAL_PREFIX = "ixiSiteNationalPrefix"
ATTR_INTERNATIONAL_PREFIX = "ixiSiteInternationalPrefix"
ATTR_E164_MODE = "ixiSiteE164Mode"

SITE_ATTRIBUTES = (
    ATTR_COUNTRY_CODE,
    ATTR_AREA_CODE,
    ATTR_BASE_NUMBER,
    ATTR_DDI_LENGTH,
    ATTR_NATIONAL_PREFIX,
    ATTR_INTERNATIONAL_PREFIX,
    ATTR_E164_MODE,
)


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """Where the server sits in the numbering plan; national and local numbers are read against it.

    `area_code` is written without the national prefix, except where the prefix is part of the
    number (Italy: `02`). `ddi_length` 0 means the site has no direct-dialling extensions.
    Defaults are the vendor's home market (Germany) with no area code, base number or DDI.
    """

    country_code: str = "49"
    area_code: str = ""
    base_number: str = ""
    ddi_length: int = 0
    national_prefix: str = "0"
    international_prefix: str = "00"
    e164_mode: bool = False

    def __post_init__(self) -> None:
        _check_digits(ATTR_COUNTRY_CODE, self.country_code, allow_empty=False)
        if len(self.country_code) > _MAX_COUNTRY_CODE_DIGITS or self.country_code[0] == "0":
            raise InvalidAttributeSyntax(
                f"{ATTR_COUNTRY_CODE}: {self.country_code!r} is not an E.164 country code "
                "(1 to 3 digits, not starting with 0)"
            )
        _check_digits(ATTR_AREA_CODE, self.area_code, allow_empty=True)
        _check_digits(ATTR_BASE_NUMBER, self.base_number, allow_empty=True)
        _check_digits(ATTR_NATIONAL_PREFIX, self.national_prefix, allow_empty=True)
        _check_digits(ATTR_INTERNATIONAL_PREFIX, self.international_prefix, allow_empty=True)
        if not 0 <= self.ddi_length <= MAX_E164_DIGITS:
            raise InvalidAttributeSyntax(
                f"{ATTR_DDI_LENGTH}: {self.ddi_length} is outside 0..{MAX_E164_DIGITS}"
            )
        if self.national_prefix and self.national_prefix == self.international_prefix:
            raise InvalidAttributeSyntax(
                f"{ATTR_NATIONAL_PREFIX} and {ATTR_INTERNATIONAL_PREFIX} are both "
                f"{self.national_prefix!r}: numbers could not be told apart"
            )

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, Sequence[bytes]]) -> SiteSettings:
        """Read the settings from the server-defaults entry; absent attributes take the defaults.

        Attribute names match case-insensitively (RFC 4512 §2.5); values are the entry's octets.
        """
        first = {name.lower(): values[0] for name, values in attrs.items() if values}
        default = cls()

        def text(attr: str, fallback: str) -> str:
            value = first.get(attr.lower())
            return fallback if value is None else _text(attr, value)

        ddi = first.get(ATTR_DDI_LENGTH.lower())
        e164 = first.get(ATTR_E164_MODE.lower())
        return cls(
            country_code=text(ATTR_COUNTRY_CODE, default.country_code),
            area_code=text(ATTR_AREA_CODE, default.area_code),
            base_number=text(ATTR_BASE_NUMBER, default.base_number),
            ddi_length=default.ddi_length if ddi is None else _integer(ATTR_DDI_LENGTH, ddi),
            national_prefix=text(ATTR_NATIONAL_PREFIX, default.national_prefix),
            international_prefix=text(ATTR_INTERNATIONAL_PREFIX, default.international_prefix),
            e164_mode=default.e164_mode if e164 is None else _boolean(ATTR_E164_MODE, e164),
        )


def _check_digits(attr: str, value: str, *, allow_empty: bool) -> None:
    if (value or not allow_empty) and not (value.isascii() and value.isdigit()):
        raise InvalidAttributeSyntax(f"{attr}: {value!r} is not a string of digits")


def _text(attr: str, value: bytes) -> str:
    # NumericString (RFC 4517 §3.3.23) allows spaces, which numericStringMatch ignores.
    try:
        return value.decode("ascii").replace(" ", "")
    except UnicodeDecodeError:
        raise InvalidAttributeSyntax(f"{attr}: {value!r} is not a string of digits") from None


def _integer(attr: str, value: bytes) -> int:
    text = value.decode("ascii", "replace").strip()
    # RFC 4517 §3.3.16 INTEGER: an optional '-' and digits, no leading zeros beyond "0".
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise InvalidAttributeSyntax(f"{attr}: {value!r} is not an INTEGER")
    return int(text)


def _boolean(attr: str, value: bytes) -> bool:
    # RFC 4517 §3.3.3 Boolean: exactly "TRUE" or "FALSE".
    if value == b"TRUE":
        return True
    if value == b"FALSE":
        return False
    raise InvalidAttributeSyntax(f"{attr}: {value!r} is not a Boolean (TRUE or FALSE)")
