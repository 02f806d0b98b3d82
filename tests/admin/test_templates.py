"""Template rendering and transliteration: always a valid mail local part, a valid uid."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.admin.templates import (
    DOT_STRING,
    MAX_LOCAL_PART,
    TemplateError,
    check,
    domain,
    local_part,
    render_display_name,
    render_mail,
    render_uid,
    transliterate,
)

JUERGEN = {"givenname": "Jürgen", "sn": "Müller", "uid": "jmueller", "o": "Müller & Söhne"}


@pytest.mark.parametrize(
    ("text", "ascii_text"),
    [
        ("Jürgen Müller", "Juergen Mueller"),
        ("Björk Øster", "Bjoerk OEster"),
        ("Straße", "Strasse"),
        ("Éléonore Ñúñez", "Eleonore Nunez"),
        ("Łukasz Żółć", "Lukasz Zolc"),
        ("Æsa Œuvre", "AEsa OEuvre"),
        ("ﬁnn", "finn"),  # NFKD takes the ligature apart
        ("李", ""),
    ],
)
def test_transliteration_spells_out_umlauts_and_drops_accents(text: str, ascii_text: str) -> None:
    assert transliterate(text) == ascii_text


def test_mail_template_gives_a_valid_lower_case_address() -> None:
    assert render_mail("{givenName}.{sn}@example.com", JUERGEN) == "juergen.mueller@example.com"
    assert render_mail("{givenName:1}{sn}@Example.COM", JUERGEN) == "jmueller@example.com"
    assert render_mail("{uid}@{o}.de", JUERGEN) == "jmueller@muellersoehne.de"


def test_spaces_and_characters_a_local_part_may_not_hold_are_removed() -> None:
    values = {"givenname": "Anne Marie", "sn": "O'Neil (Ops)"}
    assert render_mail("{givenName}.{sn}@example.com", values) == "annemarie.o'neilops@example.com"
    assert local_part(" ..a..b.. ") == "a.b"


def test_display_name_keeps_the_spelling() -> None:
    assert render_display_name("{sn}, {givenName}", JUERGEN) == "Müller, Jürgen"
    assert render_display_name("{givenName}  {sn} ", JUERGEN) == "Jürgen Müller"


def test_uid_template_gives_a_plain_uid() -> None:
    assert render_uid("{givenName:1}{sn}", JUERGEN) == "jmueller"
    assert render_uid("{givenName}.{sn}", {"givenname": "Zoë", "sn": "Saldaña Pérez"}) == (
        "zoe.saldanaperez"
    )


def test_missing_attribute_is_named() -> None:
    with pytest.raises(TemplateError, match="needs o"):
        render_mail("{uid}@{o}", {"uid": "x"})


def test_result_without_local_part_is_refused() -> None:
    with pytest.raises(TemplateError, match="no valid address"):
        render_mail("{sn}@example.com", {"sn": "李"})
    with pytest.raises(TemplateError, match="too long"):
        render_mail("{sn}@example.com", {"sn": "x" * (MAX_LOCAL_PART + 1)})


@pytest.mark.parametrize("template", ["{sn@example.com", "{givenName}.{sn}", "a@b@{sn}", "{1x}@e"])
def test_malformed_mail_template_is_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        check("ixiMailTemplate", template)


@given(st.text())
def test_local_part_is_always_a_valid_dot_string_or_empty(text: str) -> None:
    part = local_part(text)
    assert part == "" or DOT_STRING.fullmatch(part)
    assert part == part.lower()
    assert part.isascii()


@given(st.text(), st.text())
def test_rendered_mail_is_always_valid_or_refused(given_name: str, surname: str) -> None:
    try:
        mail = render_mail("{givenName}.{sn}@{o}", {"givenname": given_name, "sn": surname,
                                                     "o": surname})  # fmt: skip
    except TemplateError:
        return
    local, _, host = mail.partition("@")
    assert DOT_STRING.fullmatch(local)
    assert len(local) <= MAX_LOCAL_PART
    assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", host)
    assert domain(host) == host
