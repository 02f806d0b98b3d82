"""Canonical routing keys: the E.164 digits of any written form of a telephone number.

The site-aware rules are ours (SCHEMA.md "Canonical routing key"): `phonenumbers` knows neither
the site's area code nor its base number, so it only judges plausibility, never the key.
"""

from __future__ import annotations

import re

from ixidir.errors import InvalidAttributeSyntax
from ixidir.routing.site import MAX_E164_DIGITS, SiteSettings

# Shorter keys are a country code at best; they would route by accident.
MIN_KEY_DIGITS = 3
MAX_KEY_DIGITS = MAX_E164_DIGITS

# RFC 4518 §2.2 maps every space separator (Unicode category Zs) to SPACE.
_SPACES = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
# RFC 4518 §2.6.3 hyphens, plus figure dash and en dash that word processors put into numbers.
_HYPHENS = "-\u058a\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"
_SEPARATORS = _SPACES + _HYPHENS + "./"
_DELETE_FORMATTING = str.maketrans("", "", _SEPARATORS + "()")
# Quoting a hostile value in full would put it into every log line and response.
_MAX_QUOTED_CHARS = 64

_SEP = "[" + re.escape(_SEPARATORS) + "]*"
_SPACE = "[" + re.escape(_SPACES) + "]*"
# "+49 (0)8142 ...": a trunk-prefix group right after the country code (1 to 3 digits,
# perhaps in parentheses of its own: "+(49) (0)8142").
_TRUNK_GROUP = re.compile(
    r"\A(\+"
    + "["
    + re.escape(_SEPARATORS + "(")
    + "]*"
    + "[0-9]{1,3}"
    + "["
    + re.escape(_SEPARATORS + ")")
    + "]*)"
    r"\(" + _SPACE + "0" + _SPACE + r"\)"
)


class InvalidNumber(InvalidAttributeSyntax):
    """A value that has no canonical routing key; the message quotes it and says why."""

    def __init__(self, number: str, reason: str, *, attribute: str = "") -> None:
        where = f"{attribute}: " if attribute else ""
        super().__init__(f"{where}{_quote(number)} is not a routable telephone number: {reason}")
        self.number = number
        self.reason = reason
        self.attribute = attribute


def canonicalize(number: str, site: SiteSettings) -> str:
    """Return the E.164 digits (no '+') of `number`, read against the site's numbering plan.

    Plain `+digits`, the form the ixi kernel sends (sometimes with spaces, even two in a row),
    costs a few string checks and nothing else; so does `+digits` written with spaces, hyphens
    and parentheses, unless a "(0" may be a trunk-prefix group (the written path drops those).
    Whatever these shortcuts do not return goes the written path, which they equal.
    """
    if number[:1] == "+":
        digits = number[1:]
        if not digits.isdigit():
            digits = digits.replace(" ", "")
            if not digits.isdigit() and "(0" not in digits:
                digits = digits.replace("-", "").replace("(", "").replace(")", "")
        if (
            digits.isdigit()
            and digits.isascii()
            and MIN_KEY_DIGITS <= len(digits) <= MAX_KEY_DIGITS
            and digits[0] != "0"
        ):
            return digits
    return _canonicalize_written(number, site)


def assertion_key(text: str | bytes, site: SiteSettings) -> str | None:
    """The key a search assertion looks up, or None: an unreadable number matches no entry."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return canonicalize(text, site)
    except InvalidNumber:
        return None


def is_plausible(key: str) -> bool:
    """Whether `phonenumbers` thinks the key is a valid number of its country's plan.

    Advice for tools and warnings only: sites route private and test numbers it does not know.
    """
    # Imported here: its metadata costs ~40 ms, which start-up and the hot path need not pay.
    import phonenumbers

    try:
        parsed = phonenumbers.parse("+" + key, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def _canonicalize_written(number: str, site: SiteSettings) -> str:
    # RFC 4517 §3.3.11: a fax number's "$" parameters (e.g. "$twoDimensional") are no part of it.
    text = number.partition("$")[0].strip(_SPACES)
    opened = text.lstrip(_SPACES + "(")
    if opened.startswith("+"):
        if "(" in opened and (trunk := _TRUNK_GROUP.match(opened)) is not None:
            # Not .sub(r"\1", ...): expanding the template took 2.5 of the 5.3 µs of a value
            # like "+49 (0)8142 4799 123", a third of the fax numbers a cold start keys.
            opened = trunk[1] + opened[trunk.end() :]
        key = _digits(opened[1:], number, after_plus=True)
    else:
        key = _apply_site(_digits(text, number, after_plus=False), site)
    _check_key(key, number)
    return key


def _digits(text: str, number: str, *, after_plus: bool) -> str:
    # Plain spaces are what the ixi kernel adds; removing them alone is cheaper than translate().
    digits = text.replace(" ", "")
    if digits.isdigit() and digits.isascii():
        return digits
    # The usual formatting, each replace() a fraction of what translate() costs.
    digits = digits.replace("-", "").replace("(", "").replace(")", "")
    if digits.isdigit() and digits.isascii():
        return digits
    digits = digits.translate(_DELETE_FORMATTING)
    if digits.isdigit() and digits.isascii():
        return digits
    if not digits:
        raise InvalidNumber(number, "it has no digits" + (" after '+'" if after_plus else ""))
    bad = next(char for char in digits if not "0" <= char <= "9")
    if bad == "+":
        raise InvalidNumber(number, "'+' may only stand in front of the country code")
    raise InvalidNumber(
        number,
        f"it contains {bad!r}; only digits, a leading '+', spaces, hyphens, dots, slashes "
        "and parentheses may appear",
    )


def _apply_site(digits: str, site: SiteSettings) -> str:
    """SCHEMA.md's rules for numbers written without '+', in their order."""
    international, national = site.international_prefix, site.national_prefix
    if international and digits.startswith(international):
        return digits[len(international) :]
    if national and digits.startswith(national):
        if site.area_code.startswith(national):
            # Italy: the leading 0 belongs to the number (+39 02 ...), so it stays.
            return site.country_code + digits
        return site.country_code + digits[len(national) :]
    if len(digits) <= site.ddi_length:
        return site.country_code + site.area_code + site.base_number + digits
    if site.e164_mode:
        return digits
    return site.country_code + site.area_code + digits


def _check_key(key: str, number: str) -> None:
    if len(key) > MAX_KEY_DIGITS:
        raise InvalidNumber(
            number, f"its E.164 form has {len(key)} digits, more than {MAX_KEY_DIGITS}"
        )
    if len(key) < MIN_KEY_DIGITS:
        raise InvalidNumber(
            number, f"its E.164 form has {len(key)} digits, fewer than {MIN_KEY_DIGITS}"
        )
    if key[0] == "0":
        raise InvalidNumber(number, f"its E.164 form {key} starts with 0, as no country code does")


def _quote(number: str) -> str:
    if len(number) > _MAX_QUOTED_CHARS:
        number = number[: _MAX_QUOTED_CHARS - 3] + "..."
    return repr(number)
