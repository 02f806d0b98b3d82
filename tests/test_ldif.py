"""Tests for ixidir.ldif: RFC 2849 parsing, errors with their line numbers, writer round trips."""

from __future__ import annotations

import io
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.dn import AVA, DN, RDN
from ixidir.ldif import (
    Control,
    LdifError,
    LdifRecord,
    Modification,
    ModRdn,
    format_record,
    is_safe_string,
    parse_ldif,
    write_ldif,
)

PERSON = """\
version: 1

# Jürgen, written the way ldapsearch writes him
dn: uid=jmueller,ou=people,
 dc=example,dc=com
objectClass: inetOrgPerson
cn:: SsO8cmdlbiBNw7xsbGVy
cn;lang-de: Juergen Mueller
sn: M\u00fcller
description: a long line fol
 ded in the mid
 dle
"""


def parse(text: str) -> list[LdifRecord]:
    return list(parse_ldif(text))


def error_of(text: str) -> LdifError:
    with pytest.raises(LdifError) as info:
        parse(text)
    return info.value


def test_content_record_unfolds_decodes_and_keeps_file_order() -> None:
    (record,) = parse(PERSON)
    assert record.dn == "uid=jmueller,ou=people,dc=example,dc=com"
    assert record.line == 4
    assert record.changetype is None
    assert record.attributes == [
        ("objectClass", b"inetOrgPerson"),
        ("cn", "Jürgen Müller".encode()),
        ("cn;lang-de", b"Juergen Mueller"),
        ("sn", "Müller".encode()),
        ("description", b"a long line folded in the middle"),
    ]


def test_crlf_line_endings_read_like_lf() -> None:
    assert parse(PERSON.replace("\n", "\r\n")) == parse(PERSON)


def test_text_file_and_list_of_lines_read_like_a_string() -> None:
    assert list(parse_ldif(io.StringIO(PERSON))) == parse(PERSON)
    assert list(parse_ldif(PERSON.splitlines(keepends=True))) == parse(PERSON)


@given(st.lists(st.integers(min_value=0, max_value=len(PERSON)), max_size=20))
def test_chunk_boundaries_do_not_matter(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(PERSON)]
    chunks = [PERSON[a:b] for a, b in itertools.pairwise(points)]
    assert list(parse_ldif(chunks)) == parse(PERSON)


@pytest.mark.parametrize("text", ["", "\n\n", "version: 1\n", "# only a comment\n"])
def test_input_without_records_yields_none(text: str) -> None:
    assert parse(text) == []


def test_leading_byte_order_mark_is_ignored() -> None:
    assert parse("\ufeff" + PERSON) == parse(PERSON)


def test_version_line_is_optional_and_may_share_the_first_record() -> None:
    without = parse("dn: cn=a,dc=example\ncn: a\n")
    joined = parse("version: 1\ndn: cn=a,dc=example\ncn: a\n")
    assert [(r.dn, r.attributes) for r in joined] == [(r.dn, r.attributes) for r in without]


def test_several_blank_lines_and_comments_separate_records() -> None:
    text = (
        "\n\ndn: cn=a,dc=x\ncn: a\n\n\n\n# between\n#  folded\n  comment\n\n"
        "dn: cn=b,dc=x\ncn: b\n\n"
    )
    records = parse(text)
    assert [(r.dn, r.line) for r in records] == [("cn=a,dc=x", 3), ("cn=b,dc=x", 12)]


def test_comment_inside_a_record_is_ignored() -> None:
    (record,) = parse("dn: cn=a,dc=x\n# note\ncn: a\n")
    assert record.attributes == [("cn", b"a")]


def test_trailing_spaces_are_dropped_from_plain_values_but_kept_in_base64() -> None:
    (record,) = parse("dn: cn=a,dc=x\nsn: Doe   \ndescription:: RG9lICA=\nempty:\n")
    assert record.attributes == [("sn", b"Doe"), ("description", b"Doe  "), ("empty", b"")]


def test_base64_dn_is_decoded() -> None:
    (record,) = parse("dn:: Y249SsO8cmdlbixkYz14\ncn: x\n")
    assert record.dn == "cn=Jürgen,dc=x"


def test_keywords_are_case_insensitive() -> None:
    (record,) = parse("DN: cn=a,dc=x\nChangeType: Delete\n")
    assert (record.dn, record.changetype) == ("cn=a,dc=x", "delete")


def test_changetype_add_carries_attributes() -> None:
    (record,) = parse("dn: cn=a,dc=x\nchangetype: add\nobjectClass: person\ncn: a\n")
    assert record.changetype == "add"
    assert record.attributes == [("objectClass", b"person"), ("cn", b"a")]


def test_changetype_modify_lists_mod_specs() -> None:
    text = (
        "dn: cn=a,dc=x\nchangetype: modify\nadd: mail\nmail: a@x\nmail: b@x\n-\n"
        "delete: description\n-\nreplace: sn\nsn: A\n-\nincrement: ixiFaxMaxPages\n"
        "ixiFaxMaxPages: 1\n"
    )
    (record,) = parse(text)
    assert record.changetype == "modify"
    assert record.changes == [
        Modification("add", "mail", [b"a@x", b"b@x"]),
        Modification("delete", "description", []),
        Modification("replace", "sn", [b"A"]),
        Modification("increment", "ixiFaxMaxPages", [b"1"]),
    ]


@pytest.mark.parametrize("kind", ["modrdn", "moddn"])
def test_changetype_modrdn_reads_newrdn_deleteoldrdn_newsuperior(kind: str) -> None:
    text = f"dn: cn=a,dc=x\nchangetype: {kind}\nnewrdn: cn=b\ndeleteoldrdn: 1\nnewsuperior: dc=y\n"
    (record,) = parse(text)
    assert record.changetype == kind
    assert record.changes == ModRdn("cn=b", deleteoldrdn=True, newsuperior="dc=y")
    (short,) = parse("dn: cn=a,dc=x\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 0\n")
    assert short.changes == ModRdn("cn=b", deleteoldrdn=False, newsuperior=None)


def test_controls_precede_the_changetype() -> None:
    text = "dn: cn=a,dc=x\ncontrol: 1.2.840.113556.1.4.805 true\ncontrol: 1.2.3:: AAE=\n"
    (record,) = parse(text + "changetype: delete\n")
    assert record.controls == (
        Control("1.2.840.113556.1.4.805", critical=True, value=None),
        Control("1.2.3", critical=False, value=b"\x00\x01"),
    )


# Every error names the offending line (the first physical line of a folded line) and the DN.
@pytest.mark.parametrize(
    ("text", "line", "dn", "words"),
    [
        (
            "dn: cn=a,dc=x\njpegPhoto:: ab!c\n",
            2,
            "cn=a,dc=x",
            "invalid base64 value for 'jpegPhoto'",
        ),
        ("dn: cn=a,dc=x\njpegPhoto:: abc\n", 2, "cn=a,dc=x", "invalid base64"),
        ("dn: cn=a,dc=x\ncn: a\n\ncn: b\n", 4, None, "expected 'dn:'"),
        ("dn: cn=a,dc=x\ncn: a\nno colon here\n", 3, "cn=a,dc=x", "no colon"),
        ("dn: cn=a,dc=x\n\ndn: cn=a,,dc=x\ncn: a\n", 3, None, "invalid DN"),
        ("dn: cn=a\n ,dc=x\nphoto:< file:///tmp/a.jpg\n", 3, "cn=a,dc=x", "does not fetch URLs"),
        (" stray continuation\n", 1, None, "continuation"),
        ("dn: cn=a,dc=x\ncn: a\ndn: cn=b,dc=x\n", 3, "cn=a,dc=x", "second 'dn:'"),
        ("dn: cn=a,dc=x\nc n: a\n", 2, "cn=a,dc=x", "invalid attribute description"),
        ("version: 2\n\ndn: cn=a,dc=x\n", 1, None, "version"),
        ("dn:: /w==\ncn: a\n", 1, None, "not UTF-8"),
        ("dn: cn=a,dc=x\nchangetype: rename\n", 2, "cn=a,dc=x", "unknown changetype"),
        ("dn: cn=a,dc=x\nchangetype: delete\ncn: a\n", 3, "cn=a,dc=x", "unexpected line"),
        (
            "dn: cn=a,dc=x\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: yes\n",
            4,
            "cn=a,dc=x",
            "0 or 1",
        ),
        ("dn: cn=a,dc=x\nchangetype: modrdn\nnewrdn: cn=b,dc=x\n", 3, "cn=a,dc=x", "one RDN"),
        ("dn: cn=a,dc=x\nchangetype: modrdn\ndeleteoldrdn: 1\n", 3, "cn=a,dc=x", "'newrdn:'"),
        ("dn: cn=a,dc=x\nchangetype: modify\nadd: mail\ncn: a\n", 4, "cn=a,dc=x", "missing '-'"),
        ("dn: cn=a,dc=x\nchangetype: modify\nfrob: mail\n", 3, "cn=a,dc=x", "expected 'add:'"),
        ("dn: cn=a,dc=x\ncontrol: 1.2.3 true\ncn: a\n", 2, "cn=a,dc=x", "only allowed in change"),
        (
            "dn: cn=a,dc=x\ncontrol: x.y maybe\nchangetype: delete\n",
            2,
            "cn=a,dc=x",
            "invalid control",
        ),
    ],
)
def test_errors_name_line_dn_and_reason(text: str, line: int, dn: str | None, words: str) -> None:
    error = error_of(text)
    assert (error.line, error.dn) == (line, dn)
    assert words in error.reason
    assert str(error).startswith(f"line {line}")


def test_error_message_reads_like_the_documented_example() -> None:
    text = "\n" * 10 + "dn: uid=x,ou=people,dc=example,dc=com\njpegPhoto:: %%%\n"
    assert str(error_of(text)) == (
        "line 12 (dn: uid=x,ou=people,dc=example,dc=com): invalid base64 value for 'jpegPhoto'"
    )


def test_error_names_the_source_when_given() -> None:
    with pytest.raises(LdifError, match=r"^users\.ldif: line 1: "):
        list(parse_ldif("cn: a\n", source="users.ldif"))


def test_records_before_an_error_are_yielded_first() -> None:
    records = parse_ldif("dn: cn=a,dc=x\ncn: a\n\ndn: cn=b,dc=x\nbroken\n")
    assert next(records).dn == "cn=a,dc=x"
    with pytest.raises(LdifError):
        next(records)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        (b"", True),
        (b"plain text: with colon", True),
        (b" leading space", False),
        (b":leading colon", False),
        (b"<leading angle", False),
        (b"trailing space ", False),
        (b"nul\x00", False),
        (b"line\nbreak", False),
        (b"carriage\rreturn", False),
        ("Müller".encode(), False),
        (b"\xff\xfe", False),
    ],
)
def test_safe_strings_follow_rfc_2849(value: bytes, safe: bool) -> None:
    assert is_safe_string(value) is safe


def test_writer_emits_header_base64_and_blank_line_between_records() -> None:
    out = io.StringIO()
    records = [
        ("cn=Jörg,dc=x", [("cn", ["Jörg".encode()]), ("sn", [b"J"])]),
        ("cn=b,dc=x", [("cn", [b"b", b" b"])]),
    ]
    write_ldif(records, out)
    assert out.getvalue() == (
        "version: 1\n\ndn:: Y249SsO2cmcsZGM9eA==\ncn:: SsO2cmc=\nsn: J\n\n"
        "dn: cn=b,dc=x\ncn: b\ncn:: IGI=\n"
    )


@given(st.integers(min_value=2, max_value=120))
def test_writer_folds_every_line_to_the_wrap_width(wrap: int) -> None:
    text = format_record("cn=a,dc=x", [("description", [b"x" * 300, bytes(range(256))])], wrap=wrap)
    assert all(len(line) <= wrap for line in text.splitlines())


def test_writer_refuses_invalid_attribute_descriptions_and_widths() -> None:
    with pytest.raises(ValueError, match="attribute description"):
        format_record("cn=a", [("bad name", [b"x"])])
    with pytest.raises(ValueError, match="wrap"):
        format_record("cn=a", [], wrap=1)


# Attribute names that the parser reads as keywords right after `dn:` are left out on purpose.
_KEYWORDS = {"dn", "changetype", "control"}
attribute_descriptions = st.from_regex(
    r"[A-Za-z][A-Za-z0-9-]{0,12}(;[A-Za-z0-9-]{1,6}){0,2}", fullmatch=True
).filter(lambda name: name.lower() not in _KEYWORDS)
dns = st.builds(
    DN,
    st.lists(
        st.builds(
            RDN,
            st.lists(
                st.builds(
                    AVA, st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,8}", fullmatch=True), st.text()
                ),
                min_size=1,
                max_size=2,
            ).map(tuple),
        ),
        max_size=4,
    ).map(tuple),
)
entries = st.tuples(
    dns.map(str),
    st.lists(st.tuples(attribute_descriptions, st.lists(st.binary(), min_size=1, max_size=3))),
)


@given(st.lists(entries, max_size=4), st.integers(min_value=2, max_value=100))
def test_written_records_parse_back_unchanged(
    records: list[tuple[str, list[tuple[str, list[bytes]]]]], wrap: int
) -> None:
    out = io.StringIO()
    write_ldif(records, out, wrap=wrap)
    parsed = list(parse_ldif(out.getvalue()))
    assert [(r.dn, r.attributes) for r in parsed] == [
        (dn, [(attr, value) for attr, values in attrs for value in values]) for dn, attrs in records
    ]


@given(st.lists(entries, max_size=3))
def test_rewriting_parsed_output_gives_the_same_text(
    records: list[tuple[str, list[tuple[str, list[bytes]]]]],
) -> None:
    first, second = io.StringIO(), io.StringIO()
    write_ldif(records, first)
    parsed = parse_ldif(first.getvalue())
    write_ldif(((r.dn, [(a, [v]) for a, v in r.attributes]) for r in parsed), second)
    assert second.getvalue() == first.getvalue()
