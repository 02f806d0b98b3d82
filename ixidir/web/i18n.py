"""German and English: the message catalogs, and which one a request gets.

The catalogs are gettext .po files in the package, compiled in memory at start-up (Babel
reads and compiles them in milliseconds), so there is no build step and no compiled file to
keep in step with its source. English is the source language: its catalog is empty and every
message stands for itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "ixidir_lang"


@dataclass(frozen=True, slots=True)
class Language:
    """One language's catalog and its locale's number and date formats."""

    code: str
    translations: Translations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.code)

    def name(self) -> str:
        return Locale.parse(self.code).get_display_name(self.code) or self.code

    def datetime(self, value: datetime) -> str:
        """A moment in this locale's medium format, in UTC (said in the text)."""
        return format_datetime(value, format="medium", tzinfo=UTC, locale=self.code)


def load_languages() -> dict[str, Language]:
    return {code: Language(code, _catalog(code)) for code in LANGUAGES}


def _catalog(code: str) -> Translations:
    source = files("ixidir.web").joinpath("locale", code, "LC_MESSAGES", "messages.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The remembered choice, else the first supported language the browser asks for."""
    if cookie in LANGUAGES:
        return str(cookie)
    for code in _preferred(accept_language or ""):
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _preferred(header: str) -> list[str]:
    """RFC 9110 §12.5.4 Accept-Language, best first (`de-DE,de;q=0.9,en;q=0.8`)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]
