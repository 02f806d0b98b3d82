"""Templates for new users (vendor manual §4.1.2.1): rendering and transliteration for mail and uid.

A template is text with placeholders `{attribute}` or `{attribute:N}` (the first N characters of
the attribute's first value), e.g. `{sn}, {givenName}` or `{givenName:1}{sn}@example.com`. The
placeholder grammar is the schema's (`ixidir.schema.ixi`), so `ldapmodify` and `ixidir user
templates` refuse the same typos. Pure functions: no directory access here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from ixidir.admin.errors import AdminError
from ixidir.errors import LDAPError
from ixidir.schema.ixi import TEMPLATE_PLACEHOLDER, check_template

DEFAULT_DISPLAY_NAME = "{givenName} {sn}"
# As the demo users (jmueller, sbaeuerle): first initial and surname.
DEFAULT_UID = "{givenName:1}{sn}"
# RFC 5321 §4.5.3.1.1: a local part holds at most 64 octets.
MAX_LOCAL_PART = 64
# RFC 1035 §2.3.4: a label holds at most 63 octets.
MAX_LABEL = 63

# Letters NFKD does not take apart, or takes apart into the wrong thing for names (German
# convention: ä→ae, not a). Upper-case forms are lowered afterwards anyway.
_SPELLED_OUT = {
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ø": "oe", "Ø": "OE", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D",
    "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "\u0131": "i", "ŋ": "ng",
}  # fmt: skip
_TABLE = str.maketrans(_SPELLED_OUT)
# RFC 5321 §4.1.2 atext (RFC 5322 §3.2.3): what an Atom of a Dot-string may hold.
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_NOT_UID = re.compile(r"[^a-z0-9._-]+")
_NOT_LABEL = re.compile(r"[^a-z0-9-]+")
DOT_STRING = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class TemplateError(AdminError):
    """A template cannot give a value for this user (missing attribute, empty result)."""


@dataclass(frozen=True, slots=True)
class Templates:
    """The templates in force; `mail` None means `--mail` must be given."""

    display_name: str = DEFAULT_DISPLAY_NAME
    mail: str | None = None
    uid: str = DEFAULT_UID


def check(attr: str, template: str) -> None:
    """The schema's check, as an AdminError (before anything is written)."""
    try:
        check_template(attr, template)
    except LDAPError as error:
        raise TemplateError(error.message) from None


def fill(template: str, values: Mapping[str, str], *, what: str) -> str:
    """Replace each placeholder by its attribute's value; `values` keys are lower case."""

    def value(match: re.Match[str]) -> str:
        name = match["attr"]
        found = values.get(name.lower())
        if not found:
            raise TemplateError(f"the {what} template {template!r} needs {name}, which is not set")
        length = match["length"]
        return found[: int(length)] if length else found

    return TEMPLATE_PLACEHOLDER.sub(value, template)


def transliterate(text: str) -> str:
    """ASCII for names: umlauts spelled out (ä→ae, ß→ss), accents dropped (é→e), the rest gone."""
    spelled = unicodedata.normalize("NFC", text).translate(_TABLE)
    decomposed = unicodedata.normalize("NFKD", spelled)
    return "".join(c for c in decomposed if c.isascii() and not unicodedata.combining(c))


def local_part(text: str) -> str:
    """A valid RFC 5321 Dot-string from any text (possibly empty): transliterated, lower case,
    characters outside atext removed, dots never leading, trailing or doubled."""
    atoms = (_NOT_ATEXT.sub("", atom) for atom in transliterate(text).lower().split("."))
    return ".".join(atom for atom in atoms if atom)


def domain(text: str) -> str:
    """A host name from any text: LDH labels (RFC 1035 §2.3.1), lower case, empty labels gone."""
    labels = (
        _NOT_LABEL.sub("", label).strip("-") for label in transliterate(text).lower().split(".")
    )
    return ".".join(label for label in labels if label)


def render_display_name(template: str, values: Mapping[str, str]) -> str:
    """The display name as the template spells it (no transliteration; spaces tidied)."""
    text = " ".join(fill(template, values, what="display-name").split())
    if not text:
        raise TemplateError(f"the display-name template {template!r} gives an empty name")
    return text


def render_mail(template: str, values: Mapping[str, str]) -> str:
    """The address the template gives, made valid: `Jürgen Müller` → `juergen.mueller@...`."""
    check("ixiMailTemplate", template)
    at = _literal_at(template)
    local = local_part(fill(template[:at], values, what="mail"))
    host = domain(fill(template[at + 1 :], values, what="mail"))
    if not local or not host:
        raise TemplateError(f"the mail template {template!r} gives no valid address here")
    if len(local) > MAX_LOCAL_PART or any(len(label) > MAX_LABEL for label in host.split(".")):
        raise TemplateError(f"the mail template {template!r} gives an address too long for mail")
    return f"{local}@{host}"


def render_uid(template: str, values: Mapping[str, str]) -> str:
    """A user id: transliterated, lower case, letters, digits, `.`, `_` and `-` only."""
    uid = _NOT_UID.sub("", transliterate(fill(template, values, what="uid")).lower()).strip(".-")
    if not uid:
        raise TemplateError(f"the uid template {template!r} gives an empty uid")
    return uid


def _literal_at(template: str) -> int:
    """Where the template's one literal `@` stands (placeholders may not hide it)."""
    spans = [match.span() for match in TEMPLATE_PLACEHOLDER.finditer(template)]
    for index, char in enumerate(template):
        if char == "@" and not any(start <= index < end for start, end in spans):
            return index
    raise TemplateError(f"the mail template {template!r} has no '@'")
