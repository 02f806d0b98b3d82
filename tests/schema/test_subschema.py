"""The subschema rendering, read back with ldap3's own RFC 4512 parsers."""

from __future__ import annotations

from dataclasses import replace

from ldap3.protocol.rfc4512 import (
    AttributeTypeInfo,
    LdapSyntaxInfo,
    MatchingRuleInfo,
    MatchingRuleUseInfo,
    ObjectClassInfo,
)

from ixidir.schema import Schema
from ixidir.schema.parser import parse_attribute_type, parse_object_class
from ixidir.schema.subschema import render_attribute_type, render_object_class


def texts(values: list[bytes]) -> list[str]:
    return [v.decode("utf-8") for v in values]


def test_ldap3_parses_every_attribute_type(schema: Schema) -> None:
    rendered = schema.subschema_attributes()["attributeTypes"]
    parsed = AttributeTypeInfo.from_definition(texts(rendered))
    assert parsed["facsimileTelephoneNumber"].equality == ["telephoneNumberMatch"]
    assert parsed["fax"].oid == "2.5.4.23"
    assert parsed["ixiCanonicalNumber"].no_user_modification
    assert parsed["cn"].superior == ["name"]
    assert len(rendered) == len(schema.attribute_types)


def test_ldap3_parses_every_object_class(schema: Schema) -> None:
    parsed = ObjectClassInfo.from_definition(texts(schema.subschema_attributes()["objectClasses"]))
    assert parsed["inetOrgPerson"].superior == ["organizationalPerson"]
    assert "ixiVmPin" in parsed["ixiUmsUser"].may_contain
    assert parsed["ixiUmsServerDefaults"].kind == "AUXILIARY"


def test_ldap3_parses_syntaxes_and_matching_rules(schema: Schema) -> None:
    attrs = schema.subschema_attributes()
    syntaxes = LdapSyntaxInfo.from_definition(texts(attrs["ldapSyntaxes"]))
    rules = MatchingRuleInfo.from_definition(texts(attrs["matchingRules"]))
    uses = MatchingRuleUseInfo.from_definition(texts(attrs["matchingRuleUse"]))
    assert "1.3.6.1.4.1.1466.115.121.1.50" in syntaxes
    assert rules["telephoneNumberMatch"].oid == "2.5.13.20"
    assert "facsimileTelephoneNumber" in uses["telephoneNumberMatch"].apply_to


def test_rendering_round_trips_through_our_parser(schema: Schema) -> None:
    for at in schema.attribute_types.values():
        expected = replace(at.source, oid_text=at.oid)
        assert parse_attribute_type(render_attribute_type(at.source)) == expected
    for oc in schema.object_classes.values():
        expected_oc = replace(oc.source, oid_text=oc.oid)
        assert parse_object_class(render_object_class(oc.source)) == expected_oc


def test_descriptions_escape_quotes_and_backslashes() -> None:
    item = parse_attribute_type("( 1.2.3 NAME 'x' DESC 'it\\27s a \\5C' )")
    assert item.description == "it's a \\"
    assert "DESC 'it\\27s a \\5C'" in render_attribute_type(item)


def test_every_reference_in_the_published_subschema_resolves(schema: Schema) -> None:
    """A client (ldap3, Directory Studio) that follows any OID or name of cn=Subschema finds
    its definition there: syntaxes of types and rules, rules of types, superiors, MUST/MAY."""
    attrs = schema.subschema_attributes()
    syntaxes = LdapSyntaxInfo.from_definition(texts(attrs["ldapSyntaxes"]))
    rules = MatchingRuleInfo.from_definition(texts(attrs["matchingRules"]))
    uses = MatchingRuleUseInfo.from_definition(texts(attrs["matchingRuleUse"]))
    types = AttributeTypeInfo.from_definition(texts(attrs["attributeTypes"]))
    classes = ObjectClassInfo.from_definition(texts(attrs["objectClasses"]))
    unresolved: list[str] = []

    def check(where: str, name: str | None, table: dict[str, object]) -> None:
        if name and name not in table and name.lower() not in {k.lower() for k in table}:
            unresolved.append(f"{where} -> {name}")

    for key, at in types.items():
        check(f"attributeType {key} SYNTAX", at.syntax, syntaxes)
        for rule in (*(at.equality or ()), *(at.ordering or ()), *(at.substring or ())):
            check(f"attributeType {key} rule", rule, rules)
        for sup in at.superior or ():
            check(f"attributeType {key} SUP", sup, types)
    for key, oc in classes.items():
        for sup in oc.superior or ():
            check(f"objectClass {key} SUP", sup, classes)
        for name in (*(oc.must_contain or ()), *(oc.may_contain or ())):
            check(f"objectClass {key} MUST/MAY", name, types)
    for key, rule in rules.items():
        check(f"matchingRule {key} SYNTAX", rule.syntax, syntaxes)
    for key, use in uses.items():
        check(f"matchingRuleUse {key}", key, rules)
        for name in use.apply_to or ():
            check(f"matchingRuleUse {key} APPLIES", name, types)
    assert unresolved == []
