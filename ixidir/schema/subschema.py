"""RFC 4512 §4.1 description rendering for the subschema subentry (what ldap3 reads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ixidir.schema.model import AttributeType, MatchingRule, ObjectClass, Syntax
from ixidir.schema.parser import AttributeTypeDef, ObjectClassDef

if TYPE_CHECKING:
    from ixidir.schema.schema import Schema


def qdstring(text: str) -> str:
    """RFC 4512 §4.1 qdstring: quote and backslash escaped as \\27 and \\5C."""
    return "'" + text.replace("\\", "\\5C").replace("'", "\\27") + "'"


def _names(names: tuple[str, ...]) -> list[str]:
    if not names:
        return []
    if len(names) == 1:
        return ["NAME", qdstring(names[0])]
    return ["NAME", "(", *(qdstring(n) for n in names), ")"]


def _oids(keyword: str, oids: tuple[str, ...] | list[str]) -> list[str]:
    if not oids:
        return []
    if len(oids) == 1:
        return [keyword, oids[0]]
    return [keyword, "(", " $ ".join(oids), ")"]


def render_attribute_type(item: AttributeTypeDef, *, oid: str | None = None) -> str:
    """An AttributeTypeDescription as written in its file (`oid` may be a macro form)."""
    parts = ["(", oid or item.oid, *_names(item.names)]
    if item.description:
        parts += ["DESC", qdstring(item.description)]
    parts += ["OBSOLETE"] if item.obsolete else []
    for keyword, value in (("SUP", item.sup), ("EQUALITY", item.equality),
                           ("ORDERING", item.ordering), ("SUBSTR", item.substr)):  # fmt: skip
        if value:
            parts += [keyword, value]
    if item.syntax:
        bound = f"{{{item.syntax_len}}}" if item.syntax_len else ""
        parts += ["SYNTAX", item.syntax + bound]
    for flag, is_set in (("SINGLE-VALUE", item.single_value), ("COLLECTIVE", item.collective),
                         ("NO-USER-MODIFICATION", item.no_user_modification)):  # fmt: skip
        parts += [flag] if is_set else []
    if item.usage != "userApplications":
        parts += ["USAGE", item.usage]
    return " ".join([*parts, ")"])


def render_object_class(item: ObjectClassDef, *, oid: str | None = None) -> str:
    """An ObjectClassDescription as written in its file."""
    parts = ["(", oid or item.oid, *_names(item.names)]
    if item.description:
        parts += ["DESC", qdstring(item.description)]
    parts += ["OBSOLETE"] if item.obsolete else []
    parts += [*_oids("SUP", item.sup), item.kind]
    parts += [*_oids("MUST", item.must), *_oids("MAY", item.may)]
    return " ".join([*parts, ")"])


def render_syntax(syntax: Syntax) -> str:
    readable = "" if syntax.human_readable else " X-NOT-HUMAN-READABLE 'TRUE'"
    return f"( {syntax.oid} DESC {qdstring(syntax.description)}{readable} )"


def render_matching_rule(rule: MatchingRule) -> str:
    return f"( {rule.oid} NAME {qdstring(rule.name)} SYNTAX {rule.syntax} )"


def render_matching_rule_use(rule: MatchingRule, users: list[AttributeType]) -> str:
    names = sorted(at.name for at in users)
    return " ".join(["(", rule.oid, "NAME", qdstring(rule.name), *_oids("APPLIES", names), ")"])


def _rule_users(schema: Schema) -> dict[str, list[AttributeType]]:
    """Matching rule name -> the attribute types that use it (RFC 4512 §4.1.4, by usage)."""
    users: dict[str, list[AttributeType]] = {}
    for at in schema.attribute_types.values():
        for rule in (at.equality, at.ordering, at.substr):
            if rule is not None:
                users.setdefault(rule.name, []).append(at)
    return users


def _sorted_classes(schema: Schema) -> list[ObjectClass]:
    return sorted(schema.object_classes.values(), key=lambda oc: oc.oid)


def subschema_attributes(schema: Schema) -> dict[str, list[bytes]]:
    """attributeTypes, objectClasses, ldapSyntaxes, matchingRules and matchingRuleUse values."""
    types = sorted(schema.attribute_types.values(), key=lambda at: at.oid)
    users = _rule_users(schema)
    rules = sorted(schema.matching_rules.values(), key=lambda r: r.oid)
    return {
        "attributeTypes": [render_attribute_type(at.source).encode() for at in types],
        "objectClasses": [
            render_object_class(oc.source).encode() for oc in _sorted_classes(schema)
        ],
        "ldapSyntaxes": [render_syntax(s).encode() for s in schema.syntaxes.values()],
        "matchingRules": [render_matching_rule(r).encode() for r in rules],
        "matchingRuleUse": [
            render_matching_rule_use(r, users[r.name]).encode() for r in rules if r.name in users
        ],
    }
