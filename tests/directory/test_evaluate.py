"""Filter evaluation with schema semantics, checked item by item and against the naive evaluator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from ixidir.directory.evaluate import (
    CompiledFilter,
    FilterCompiler,
    NormalizedCache,
    compile_filter,
    normalized_values,
)
from ixidir.directory.filter import And, Filter, Not, Or
from ixidir.directory.filtertext import parse_filter
from ixidir.dn import DN
from ixidir.schema import Schema, load_default_schema

from .naive import dns, entries, filters, naive_evaluate

SCHEMA = load_default_schema()
ALICE_DN = DN.parse("uid=alice,ou=people,dc=example,dc=com")
ALICE: dict[str, tuple[bytes, ...]] = {
    "objectClass": (b"top", b"person", b"organizationalPerson", b"inetOrgPerson"),
    "cn": (b"Alice Smith",),
    "sn": (b"Smith",),
    "uid": (b"alice",),
    "mail": (b"Alice@Example.com",),
    "facsimileTelephoneNumber": (b"+49 8142 4799123",),
    "telephoneNumber": (b"+49 8142 4799100",),
    "ixiFaxMaxPages": (b"10",),
    "ixiVmEnabled": (b"TRUE",),
}


def evaluate(text: str, entry: dict[str, tuple[bytes, ...]] | None = None) -> bool | None:
    compiled = compile_filter(parse_filter(text), SCHEMA)
    return compiled.evaluate(ALICE if entry is None else entry, ALICE_DN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(facsimileTelephoneNumber=+49-8142-4799123)", True),
        ("(facsimileTelephoneNumber=+4981424799123)", True),
        ("(fax=+49 8142 4799124)", False),
        ("(mail=alice@EXAMPLE.com)", True),
        ("(cn=ALICE   smith)", True),
        ("(cn=Alice)", False),
        ("(objectClass=INETORGPERSON)", True),
        ("(objectClass=2.16.840.1.113730.3.2.2)", True),
        ("(ixiVmEnabled=TRUE)", True),
        ("(ixiVmEnabled=FALSE)", False),
        ("(ixiFaxMaxPages=10)", True),
    ],
)
def test_equality_uses_the_attribute_equality_rule(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(cn=*smi*)", True),
        ("(cn=ali*)", True),
        ("(cn=*SMITH)", True),
        ("(cn=a*s*h)", True),
        ("(cn=*smith*alice*)", False),
        ("(cn=Alice Sm*mith)", False),  # initial and final may not overlap
        ("(facsimileTelephoneNumber=*4799-123)", True),
        ("(mail=*@example.COM)", True),
    ],
)
def test_substrings_use_the_substrings_rule(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(ixiFaxMaxPages>=9)", True),
        ("(ixiFaxMaxPages>=10)", True),
        ("(ixiFaxMaxPages>=11)", False),
        ("(ixiFaxMaxPages<=10)", True),
        ("(ixiFaxMaxPages<=9)", False),
        ("(ixiFaxMaxPages>=2)", True),  # numeric, not text, order: "10" < "2" as text
    ],
)
def test_ordering_compares_integers_numerically(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "(noSuchAttribute=x)",
        "(noSuchAttribute=*)",
        "(cn;lang-de=Alice Smith)",
        "(ixiFaxMaxPages=ten)",  # invalid assertion value
        "(ixiFaxMaxPages>=ten)",
        "(mail>=a)",  # no ordering rule
        "(ixiVmEnabled=*TRU*)",  # no substrings rule
        "(cn:noSuchRule:=x)",
        "(cn:integerMatch:=1)",  # rule not suitable for the type
        r"(cn:caseIgnoreSubstringsMatch:=a\2a)",  # substrings rules as extensible: not supported
    ],
)
def test_items_that_cannot_be_decided_are_undefined(text: str) -> None:
    assert evaluate(text) is None
    assert evaluate(f"(!{text})") is None


def test_attribute_without_equality_rule_is_undefined_for_equality_and_approx() -> None:
    no_equality = next(
        at for at in SCHEMA.attribute_types.values() if at.equality is None and at.names
    )
    entry = {**ALICE, no_equality.name: (b"x",)}
    assert evaluate(f"({no_equality.name}=x)", entry) is None
    assert evaluate(f"({no_equality.name}~=x)", entry) is None
    assert evaluate(f"({no_equality.name}=*)", entry) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(&)", True),
        ("(|)", False),
        ("(&(cn=*)(noSuchAttribute=x))", None),
        ("(&(sn=Jones)(noSuchAttribute=x))", False),
        ("(|(cn=*)(noSuchAttribute=x))", True),
        ("(|(sn=Jones)(noSuchAttribute=x))", None),
        ("(!(sn=Jones))", True),
        ("(!(!(noSuchAttribute=x)))", None),
    ],
)
def test_and_or_not_follow_rfc_4511_three_valued_logic(text: str, expected: bool | None) -> None:
    assert evaluate(text) is expected


def test_present_matches_subtypes_and_objectclass_always() -> None:
    assert evaluate("(name=*)") is True
    assert evaluate("(objectClass=*)", {"cn": (b"x",)}) is True
    assert evaluate("(ou=*)") is False


def test_supertype_assertion_matches_subtype_values() -> None:
    assert evaluate("(name=smith)") is True
    assert evaluate("(name=*lice*)") is True
    assert evaluate("(name=nobody)") is False


def test_approx_is_equality() -> None:
    assert evaluate("(cn~=alice smith)") is True
    assert evaluate("(cn~=alyce smith)") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(cn:caseExactMatch:=Alice Smith)", True),
        ("(cn:caseExactMatch:=alice smith)", False),
        ("(cn:2.5.13.5:=Alice Smith)", True),
        ("(cn:=alice smith)", True),  # no rule: the type's equality rule
        ("(ou:dn:=people)", True),
        ("(ou:=people)", False),  # only the DN has ou=people
        ("(:dn:caseIgnoreMatch:=PEOPLE)", True),
        ("(:caseExactMatch:=Smith)", True),  # every suitable attribute, here sn
        ("(ixiFaxMaxPages:integerOrderingMatch:=11)", True),  # ordering: value < assertion
        ("(ixiFaxMaxPages:integerOrderingMatch:=10)", False),
    ],
)
def test_extensible_match(text: str, expected: bool) -> None:
    assert evaluate(text) is expected


def test_extensible_dn_match_reads_hex_ava_values() -> None:
    dn = DN.parse("uid=alice,ou=#040670656f706c65,dc=example")  # ou=people as BER
    compiled = compile_filter(parse_filter("(ou:dn:=people)"), SCHEMA)
    assert compiled.matches({"objectClass": (b"top",)}, dn)


def test_stored_values_the_rule_cannot_read_match_nothing() -> None:
    entry = {**ALICE, "ixiFaxMaxPages": (b"abc", b"12")}
    assert evaluate("(ixiFaxMaxPages=12)", entry) is True
    assert evaluate("(ixiFaxMaxPages<=11)", entry) is False


def test_matches_is_true_only_for_true() -> None:
    assert compile_filter(parse_filter("(cn=*)"), SCHEMA).matches(ALICE, ALICE_DN)
    assert not compile_filter(parse_filter("(noSuch=x)"), SCHEMA).matches(ALICE, ALICE_DN)
    assert not compile_filter(parse_filter("(sn=x)"), SCHEMA).matches(ALICE, ALICE_DN)


def test_normalized_values_cache_is_keyed_by_rule_and_values() -> None:
    cache: NormalizedCache = {}
    rule = SCHEMA.attribute("cn").equality
    assert rule is not None
    values = (b"Alice  Smith", b"BOB")
    first = normalized_values(rule, values, cache)
    assert first == normalized_values(rule, values)
    assert cache[(rule.oid, values)] is first
    assert normalized_values(rule, values, cache) is first


def test_compiler_with_cache_gives_the_same_answers() -> None:
    compiler = FilterCompiler(SCHEMA, cache={})
    compiled = compiler.compile(parse_filter("(&(objectClass=person)(mail=ALICE@example.com))"))
    assert compiled.matches(ALICE, ALICE_DN)
    assert compiled.matches(ALICE, ALICE_DN)  # second time from the cache
    assert not compiled.matches({**ALICE, "mail": (b"bob@example.com",)}, ALICE_DN)


def test_compiling_keeps_the_filter() -> None:
    f: Filter = And((Or(()), Not(And(()))))
    compiled = compile_filter(f, SCHEMA)
    assert isinstance(compiled, CompiledFilter)
    assert compiled.filter == f
    assert compiled.evaluate(ALICE, ALICE_DN) is False


def _check_against_naive(
    schema: Schema, f: Filter, entry: dict[str, tuple[bytes, ...]], dn: DN
) -> None:
    expected = naive_evaluate(f, schema, entry, dn)
    assert compile_filter(f, schema).evaluate(entry, dn) is expected
    cached = FilterCompiler(schema, cache={}).compile(f)
    assert cached.evaluate(entry, dn) is expected


@settings(max_examples=300)
@given(filters, entries(), dns())
def test_compiled_evaluator_agrees_with_naive_evaluator(
    f: Filter, entry: dict[str, tuple[bytes, ...]], dn: DN
) -> None:
    _check_against_naive(SCHEMA, f, entry, dn)


def test_a_compiler_applies_equality_rules_replaced_after_it_compiled() -> None:
    """The compiler remembers each description's rule, and forgets when the rules change."""
    compiler = FilterCompiler(SCHEMA)
    f = parse_filter("(mail=ALICE@example.com)")
    assert compiler.compile(f).matches(ALICE, ALICE_DN)
    octets = SCHEMA.find_matching_rule("octetStringMatch")  # exact, unlike caseIgnoreIA5Match
    assert octets is not None
    compiler.rules = {"mail": octets}
    assert not compiler.compile(f).matches(ALICE, ALICE_DN)
    assert compiler.compile(parse_filter("(mail=Alice@Example.com)")).matches(ALICE, ALICE_DN)


def test_a_compiler_remembers_unknown_descriptions_as_undefined() -> None:
    compiler = FilterCompiler(SCHEMA)
    for _ in range(2):
        assert compiler.compile(parse_filter("(noSuchType=x)")).evaluate(ALICE, ALICE_DN) is None


@pytest.mark.parametrize(
    ("text", "uses_dn"),
    [
        ("(facsimileTelephoneNumber=+49 8142 1)", False),
        ("(ou:=people)", False),
        ("(ou:dn:=people)", True),
        ("(&(objectClass=person)(!(|(cn=x)(ou:dn:=people))))", True),
    ],
)
def test_a_compiled_filter_says_whether_it_reads_the_dn(text: str, uses_dn: bool) -> None:
    assert compile_filter(parse_filter(text), SCHEMA).uses_dn is uses_dn


ONLY_INET: dict[str, tuple[bytes, ...]] = {"objectClass": (b"inetOrgPerson",), "cn": (b"x",)}
DOMAIN: dict[str, tuple[bytes, ...]] = {
    "objectClass": (b"dcObject", b"organization"),
    "dc": (b"example",),
    "o": (b"example",),
}


@pytest.mark.parametrize(
    ("text", "entry", "expected"),
    [
        ("(objectClass=top)", DOMAIN, True),
        ("(objectClass=TOP)", ONLY_INET, True),
        ("(objectClass=2.5.6.0)", ONLY_INET, True),
        ("(objectClass=person)", ONLY_INET, True),
        ("(objectClass=organizationalPerson)", ONLY_INET, True),
        ("(objectClass~=person)", ONLY_INET, True),
        ("(objectClass=2.5.6.6)", ONLY_INET, True),  # person by OID
        ("(objectClass=organization)", ONLY_INET, False),
        ("(objectClass=inetOrgPerson)", {"objectClass": (b"person",)}, False),  # not upwards
        ("(|(objectClass=top)(cn=nobody))", DOMAIN, True),
        ("(&(objectClass=person)(cn=x))", ONLY_INET, True),
        ("(!(objectClass=person))", ONLY_INET, False),
        ("(!(objectClass=top))", DOMAIN, False),
        ("(objectClass=noSuchClass)", ONLY_INET, False),
    ],
)
def test_object_class_matches_by_the_class_hierarchy(
    text: str, entry: dict[str, tuple[bytes, ...]], expected: bool
) -> None:
    """RFC 4512 §2.4.1, as slapd: an entry is of every superclass of the classes it lists."""
    assert evaluate(text, entry) is expected


def test_object_class_family_is_expanded_once_at_compile_time() -> None:
    """The per-entry work is one set test, whatever the number of subclasses."""
    compiled = compile_filter(parse_filter("(objectClass=person)"), SCHEMA)
    assert type(compiled.root).__name__ == "ClassNode"
    top = compile_filter(parse_filter("(objectClass=top)"), SCHEMA)
    assert top.matches({}, ALICE_DN)
