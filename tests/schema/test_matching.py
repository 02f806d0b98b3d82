"""Matching rules: RFC 4517/4518 normalization, substrings, ordering, schema-aware rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.errors import InvalidAttributeSyntax
from ixidir.schema import MatchingRule, Schema


def rule(schema: Schema, name: str) -> MatchingRule:
    found = schema.find_matching_rule(name)
    assert found is not None
    return found


def test_telephone_numbers_from_schema_md_are_equal(schema: Schema) -> None:
    tel = rule(schema, "telephoneNumberMatch")
    forms = [b"+49 8142 4799123", b"+49-8142-4799123", b"+4981424799123", b"+49  8142 4799123"]
    assert len({tel.normalize(f) for f in forms}) == 1


def test_telephone_parentheses_stay_significant(schema: Schema) -> None:
    tel = rule(schema, "telephoneNumberMatch")
    assert tel.normalize(b"+49 (8142) 4799123") != tel.normalize(b"+49 8142 4799123")


@pytest.mark.parametrize("hyphen", ["\u058a", "\u2010", "\u2011", "\u2212", "\ufe63", "\uff0d"])
def test_unicode_hyphens_of_rfc4518_are_insignificant(schema: Schema, hyphen: str) -> None:
    tel = rule(schema, "telephoneNumberMatch")
    assert tel.normalize(f"+49{hyphen}8142".encode()) == "+498142"


def test_soft_hyphen_and_no_break_space_are_insignificant(schema: Schema) -> None:
    tel = rule(schema, "telephoneNumberMatch")
    assert tel.normalize("+49\u00ad8142\u00a01".encode()) == "+4981421"


def test_fax_parameter_suffix_is_ignored(schema: Schema) -> None:
    fax = schema.attribute("facsimileTelephoneNumber")
    assert fax.equality is not None
    assert fax.equality.normalize(b"+49 8142 4799123$twoDimensional") == "+4981424799123"


def test_telephone_substrings_ignore_spaces_and_hyphens(schema: Schema) -> None:
    sub = rule(schema, "telephoneNumberSubstringsMatch")
    value = b"+49 8142 4799-123"
    assert sub.match_substrings(value, b"+49 81", [b"47 99"], b"1-23")
    assert sub.match_substrings(value, None, [b"8142479"], None)
    assert not sub.match_substrings(value, b"+43", [], None)


def test_case_ignore_folds_case_and_insignificant_spaces(schema: Schema) -> None:
    ci = rule(schema, "caseIgnoreMatch")
    assert ci.normalize(b"  Alice   SMITH ") == ci.normalize(b"alice smith") == "alice smith"
    assert ci.normalize("Stra\u00dfe".encode()) == ci.normalize(b"STRASSE")
    # NFKC: the ligature and the composed/decomposed e-acute compare equal.
    assert ci.normalize("\ufb01le".encode()) == ci.normalize(b"FILE")
    assert ci.normalize("Caf\u00e9".encode()) == ci.normalize("cafe\u0301".encode())


def test_case_exact_keeps_case_but_not_extra_spaces(schema: Schema) -> None:
    ce = rule(schema, "caseExactMatch")
    assert ce.normalize(b" Inbox  Voice ") == "Inbox Voice"
    assert ce.normalize(b"Inbox") != ce.normalize(b"inbox")


def test_invalid_utf8_cannot_be_normalized(schema: Schema) -> None:
    with pytest.raises(InvalidAttributeSyntax, match="caseIgnoreMatch"):
        rule(schema, "caseIgnoreMatch").normalize(b"\xff\xfe")


def test_private_use_character_is_prohibited(schema: Schema) -> None:
    with pytest.raises(InvalidAttributeSyntax):
        rule(schema, "caseIgnoreMatch").normalize("a\ue000".encode())


def test_case_ignore_substrings_keep_a_space_at_inner_edges(schema: Schema) -> None:
    sub = rule(schema, "caseIgnoreSubstringsMatch")
    assert sub.match_substrings(b"John  Smith", b"JOHN ", [], None)
    assert not sub.match_substrings(b"Johnny Smith", b"john ", [], None)
    assert sub.match_substrings(b"Alice Smith", None, [b"ce s"], b"TH")
    assert not sub.match_substrings(b"abc", b"ab", [], b"bc")  # pieces may not overlap


def test_ia5_rules_refuse_non_ascii(schema: Schema) -> None:
    ia5 = rule(schema, "caseIgnoreIA5Match")
    assert ia5.normalize(b" Alice@Example.COM ") == "alice@example.com"
    with pytest.raises(InvalidAttributeSyntax):
        ia5.normalize("m\u00fcller".encode())
    assert rule(schema, "caseExactIA5Match").normalize(b"Europe/Berlin") == "Europe/Berlin"


def test_numeric_string_ignores_spaces(schema: Schema) -> None:
    num = rule(schema, "numericStringMatch")
    assert num.normalize(b"49 8142") == num.normalize(b"498142")
    with pytest.raises(InvalidAttributeSyntax):
        num.normalize(b"49a")
    assert rule(schema, "numericStringSubstringsMatch").match_substrings(
        b"4981424799123", b"49 81", [], None
    )


def test_integer_rules_order_numerically(schema: Schema) -> None:
    order = rule(schema, "integerOrderingMatch")
    numbers = [order.normalize(v) for v in (b"-5", b"10", b"9000")]
    assert numbers == [-5, 10, 9000]
    assert rule(schema, "integerMatch").normalize(b"007") == 7
    with pytest.raises(InvalidAttributeSyntax):
        order.normalize(b"1.5")


def test_boolean_match_accepts_only_true_and_false(schema: Schema) -> None:
    match = rule(schema, "booleanMatch")
    assert match.normalize(b"TRUE") is True
    assert match.normalize(b"FALSE") is False
    with pytest.raises(InvalidAttributeSyntax):
        match.normalize(b"yes")


def test_generalized_time_compares_in_utc(schema: Schema) -> None:
    eq = rule(schema, "generalizedTimeMatch")
    order = rule(schema, "generalizedTimeOrderingMatch")
    assert eq.normalize(b"20240101120000Z") == eq.normalize(b"20240101130000+0100")
    assert eq.normalize(b"202401011230Z") == eq.normalize(b"2024010112.5Z")
    assert order.normalize(b"20240101120000.25Z") == datetime(2024, 1, 1, 12, 0, 0, 250000, UTC)
    assert order.normalize(b"20231231235959Z") < order.normalize(b"20240101000000Z")  # type: ignore[operator]
    with pytest.raises(InvalidAttributeSyntax):
        eq.normalize(b"20240101120000")  # no time zone


def test_octet_string_rules_compare_bytes(schema: Schema) -> None:
    assert rule(schema, "octetStringMatch").normalize(b"\x00A") == b"\x00A"
    order = rule(schema, "octetStringOrderingMatch")
    assert order.normalize(b"a") < order.normalize(b"b")  # type: ignore[operator]


def test_object_identifier_names_and_oids_compare_equal(schema: Schema) -> None:
    oid = rule(schema, "objectIdentifierMatch")
    assert oid.normalize(b"inetOrgPerson") == oid.normalize(b"2.16.840.1.113730.3.2.2")
    assert oid.normalize(b"CN") == oid.normalize(b"commonName") == "2.5.4.3"
    assert oid.normalize(b"unknownDescr") == "unknowndescr"
    with pytest.raises(InvalidAttributeSyntax):
        oid.normalize(b"not an oid")


def test_distinguished_name_match_uses_dn_key(schema: Schema) -> None:
    dn = rule(schema, "distinguishedNameMatch")
    assert dn.normalize(b"UID=Bob,DC=Example,DC=COM") == dn.normalize(b"uid=bob, dc=example,dc=com")
    with pytest.raises(InvalidAttributeSyntax):
        dn.normalize(b"noSuchAttr=x,dc=com")


def test_unique_member_match_separates_the_uid(schema: Schema) -> None:
    um = rule(schema, "uniqueMemberMatch")
    assert um.normalize(b"CN=A,DC=x#'0101'B") == ("cn=a,dc=x", "'0101'B")
    assert um.normalize(b"cn=a,dc=x") != um.normalize(b"cn=a,dc=x#'1'B")


def test_uuid_match_ignores_hex_case(schema: Schema) -> None:
    uuid = rule(schema, "uuidMatch")
    a = b"597AE2F6-16A6-1027-98F4-ABCDEFABCDEF"
    assert uuid.normalize(a) == uuid.normalize(a.lower())
    with pytest.raises(InvalidAttributeSyntax):
        uuid.normalize(b"597ae2f6")


def test_postal_address_lines_compare_case_insensitively(schema: Schema) -> None:
    lst = rule(schema, "caseIgnoreListMatch")
    assert lst.normalize(b"1 Main St $ Springfield") == lst.normalize(b"1 MAIN ST$springfield")


def test_first_component_rules_read_descriptions(schema: Schema) -> None:
    first = rule(schema, "objectIdentifierFirstComponentMatch")
    assert first.normalize(b"( 2.5.4.3 NAME 'cn' )") == first.normalize(b"cn")


# RFC 4518 §2.4 prohibits these (and U+FFFD REPLACEMENT CHARACTER): normalizing refuses them.
TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cs", "Co", "Cn"), exclude_characters="\ufffd"
    )
)


@given(TEXT)
def test_case_ignore_normalization_is_idempotent(schema: Schema, text: str) -> None:
    ci = rule(schema, "caseIgnoreMatch")
    once = ci.normalize(text.encode())
    assert isinstance(once, str)
    assert ci.normalize(once.encode()) == once


@given(st.text(alphabet="+0123456789 -()/.\u2010\u2212"))
def test_telephone_normalization_is_idempotent(schema: Schema, text: str) -> None:
    tel = rule(schema, "telephoneNumberMatch")
    once = tel.normalize(text.encode())
    assert isinstance(once, str)
    assert tel.normalize(once.encode()) == once
    assert " " not in once
    assert "-" not in once


@given(st.text(alphabet="abcAB "), st.text(alphabet="abcAB ", min_size=1))
def test_any_substring_agrees_with_normalized_containment(
    schema: Schema, value: str, piece: str
) -> None:
    sub = rule(schema, "caseIgnoreSubstringsMatch")
    normal_value = " ".join(value.lower().split())
    normal_piece = " ".join(piece.lower().split())
    expected = normal_piece in normal_value
    if normal_piece and piece == piece.strip():
        assert sub.match_substrings(value.encode(), None, [piece.encode()], None) == expected
