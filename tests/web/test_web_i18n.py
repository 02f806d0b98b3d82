"""The catalogs and the choice of language (Accept-Language, then the remembered cookie)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ixidir.web.i18n import choose, load_languages


def test_the_browser_language_is_chosen_unless_one_was_remembered() -> None:
    assert choose(None, "de-DE,de;q=0.9,en;q=0.8") == "de"
    assert choose(None, "fr-FR, en;q=0.5, de;q=0.7") == "de"  # by quality, not by position
    assert choose(None, "fr, it") == "en"
    assert choose(None, None) == "en"
    assert choose("en", "de") == "en"
    assert choose("xx", "de") == "de"  # a cookie naming no catalog is ignored


def test_german_catalog_translates_every_message_and_formats_numbers() -> None:
    german = load_languages()["de"]
    assert german.gettext("Users") == "Benutzer"
    assert german.number(100000) == "100.000"
    assert load_languages()["en"].number(100000) == "100,000"
    source = files("ixidir.web").joinpath("locale", "de", "LC_MESSAGES", "messages.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale="de")
    untranslated = [message.id for message in catalog if message.id and not message.string]
    assert untranslated == []


def test_both_catalogs_hold_the_same_messages() -> None:
    ids = {}
    for code in ("de", "en"):
        source = files("ixidir.web").joinpath("locale", code, "LC_MESSAGES", "messages.po")
        with source.open("rb") as po:
            ids[code] = {message.id for message in read_po(po, locale=code) if message.id}
    assert ids["de"] == ids["en"]


def test_every_message_of_the_pages_and_the_code_is_in_the_catalogs() -> None:
    """Extracted as pybabel would (templates: _(); code: N_()), so none is left untranslated."""
    folder = files("ixidir.web")
    used = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            str(folder),
            method_map=[("**/templates/*.html", "jinja2"), ("**.py", "python")],
            options_map={"**/templates/*.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "N_": None},
        )
    }
    source = folder.joinpath("locale", "de", "LC_MESSAGES", "messages.po")
    with source.open("rb") as po:
        catalog = {message.id for message in read_po(po, locale="de") if message.id}
    assert used == catalog


def test_dates_per_locale() -> None:
    moment = datetime(2026, 12, 7, 9, 5, tzinfo=UTC)
    languages = load_languages()
    assert languages["de"].datetime(moment) == "07.12.2026, 09:05:00"
    assert languages["en"].datetime(moment).startswith("Dec 7, 2026")
