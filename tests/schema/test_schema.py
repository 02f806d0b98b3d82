"""Schema look-ups and dn_key (RFC 4517 distinguishedNameMatch semantics)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.dn import AVA, DN, RDN
from ixidir.errors import InvalidDNSyntax
from ixidir.schema import Schema


def key(schema: Schema, text: str) -> str:
    return schema.dn_key(DN.parse(text))


def test_dn_key_ignores_case_spaces_and_aliases(schema: Schema) -> None:
    a = key(schema, "CN=Alice Smith , OU=People,DC=Example,DC=com")
    b = key(schema, "cn=alice  smith,ou=people,dc=example,dc=com")
    c = key(schema, "commonName=ALICE SMITH,organizationalUnitName=People,dc=EXAMPLE,dc=COM")
    d = key(schema, "2.5.4.3=alice smith,ou=people,dc=example,dc=com")
    assert a == b == c == d == "cn=alice smith,ou=people,dc=example,dc=com"


def test_dn_key_sorts_multi_valued_rdns(schema: Schema) -> None:
    assert key(schema, "uid=a+cn=B,dc=x") == key(schema, "CN=b+UID=A,dc=x")


def test_dn_key_uses_each_attributes_equality_rule(schema: Schema) -> None:
    assert key(schema, r"telephoneNumber=\+49 8142,dc=x") == key(
        schema, r"telephoneNumber=\+49-8142,dc=x"
    )
    # labeledURI is caseExactMatch: case stays significant.
    assert key(schema, "labeledURI=A,dc=x") != key(schema, "labeledURI=a,dc=x")


def test_dn_key_escapes_special_characters(schema: Schema) -> None:
    assert key(schema, r"cn=a\,b,dc=x") != key(schema, "cn=a,cn=b,dc=x")
    assert key(schema, r"cn=a\+b,dc=x") != key(schema, "cn=a+cn=b,dc=x")


def test_dn_key_decodes_hex_ber_strings(schema: Schema) -> None:
    assert key(schema, "cn=#0c05416c696365,dc=x") == key(schema, "cn=alice,dc=x")


def test_undefined_type_in_dn_is_invalid_dn_syntax(schema: Schema) -> None:
    with pytest.raises(InvalidDNSyntax, match="noSuchType"):
        key(schema, "noSuchType=x,dc=example")


def test_bad_value_in_dn_is_invalid_dn_syntax(schema: Schema) -> None:
    with pytest.raises(InvalidDNSyntax):
        key(schema, "uidNumber=abc,dc=example")


def test_root_dn_key_is_empty(schema: Schema) -> None:
    assert schema.dn_key(DN()) == ""


def test_enum_tokens_are_exposed(schema: Schema) -> None:
    assert schema.enum_tokens("ixiFaxInboundFormat") == frozenset({"tif", "pdf"})
    assert schema.enum_tokens("ixiVmAccessMode") == frozenset(
        {"default", "mailboxonly", "phoneconfig", "remoteinquiry"}
    )
    assert schema.enum_tokens("cn") is None


def test_resolve_oid_covers_classes_types_and_rules(schema: Schema) -> None:
    assert schema.resolve_oid("person") == "2.5.6.6"
    assert schema.resolve_oid("SN") == "2.5.4.4"
    assert schema.resolve_oid("caseIgnoreMatch") == "2.5.13.2"
    assert schema.resolve_oid("nothing") is None


VALUES = st.text(alphabet="abcXYZ ,+=\\#é", min_size=1).filter(lambda v: v.strip())


@given(st.lists(VALUES, min_size=1, max_size=4))
def test_dn_key_is_stable_under_string_round_trip(schema: Schema, values: list[str]) -> None:
    dn = DN(tuple(RDN((AVA("CN", v),)) for v in values))
    assert schema.dn_key(DN.parse(str(dn))) == schema.dn_key(dn)


@given(st.lists(VALUES, min_size=1, max_size=4))
def test_parent_key_equals_the_key_of_the_parent_dn(schema: Schema, values: list[str]) -> None:
    dn = DN(tuple(RDN((AVA("cn", value),)) for value in values))
    assert Schema.parent_key(schema.dn_key(dn)) == schema.dn_key(dn.parent)


def test_parent_key_cuts_at_the_first_unescaped_comma(schema: Schema) -> None:
    assert Schema.parent_key(key(schema, r"cn=a\,b\\,ou=c\,d,dc=x")) == r"ou=c\,d,dc=x"
    assert Schema.parent_key(key(schema, "dc=x")) == ""
    assert Schema.parent_key("") == ""
