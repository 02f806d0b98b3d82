"""The equality/presence index: maintenance, narrowing rules, and results equal to a full scan."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ixidir.directory import index as index_module
from ixidir.directory.evaluate import FilterCompiler
from ixidir.directory.filter import Filter
from ixidir.directory.filtertext import parse_filter
from ixidir.directory.index import EntryId, EqualityIndex
from ixidir.dn import DN
from ixidir.errors import UndefinedAttributeType
from ixidir.schema import load_default_schema

from .naive import VALUE_POOLS, entries, filters

SCHEMA = load_default_schema()
COMPILER = FilterCompiler(SCHEMA)
INDEXED = ["objectClass", "cn", "sn", "mail", "uid", "fax", "ixiFaxMaxPages", "ixiVmEnabled"]
DN_ANY = DN.parse("dc=example,dc=com")
Entry = dict[str, tuple[bytes, ...]]

ALICE: Entry = {
    "objectClass": (b"top", b"person", b"inetOrgPerson"),
    "cn": (b"Alice Smith",),
    "sn": (b"Smith",),
    "mail": (b"alice@example.com",),
    "facsimileTelephoneNumber": (b"+49 8142 4799123",),
}
BOB: Entry = {
    "objectClass": (b"top", b"person"),
    "cn": (b"Bob",),
    "sn": (b"Jones",),
    "telephoneNumber": (b"+49 8142 4799100",),
}


def candidates(index: EqualityIndex, text: str) -> set[EntryId] | None:
    return index.candidates(COMPILER.compile(parse_filter(text)))


@pytest.fixture
def index() -> EqualityIndex:
    built = EqualityIndex(SCHEMA, INDEXED)
    built.add("alice", ALICE)
    built.add("bob", BOB)
    return built


def test_configured_aliases_are_kept_by_primary_name(index: EqualityIndex) -> None:
    assert "facsimileTelephoneNumber" in index.attributes
    assert index.lookup("facsimileTelephoneNumber", b"+4981424799123") == {"alice"}


def test_unknown_configured_attribute_is_refused() -> None:
    with pytest.raises(UndefinedAttributeType):
        EqualityIndex(SCHEMA, ["noSuchAttribute"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(mail=ALICE@example.com)", {"alice"}),
        ("(facsimileTelephoneNumber=+49-8142-4799123)", {"alice"}),
        ("(cn~=bob)", {"bob"}),
        ("(cn=*)", {"alice", "bob"}),
        ("(objectClass=person)", {"alice", "bob"}),
        ("(&(objectClass=person)(sn=jones))", {"bob"}),
        ("(&(objectClass=person)(telephoneNumber=x))", {"alice", "bob"}),  # only the indexed part
        ("(|(sn=jones)(mail=alice@example.com))", {"alice", "bob"}),
        ("(|(sn=nobody)(uid=nobody))", set()),
        ("(&(noSuchAttribute=x)(cn=*))", set()),  # an Undefined part can never be True
        ("(|)", set()),
        ("(mail=nobody@example.com)", set()),
    ],
)
def test_narrowable_filters_give_exact_id_sets(
    index: EqualityIndex, text: str, expected: set[str]
) -> None:
    assert candidates(index, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("(cn=*)", {"alice", "bob"}), ("(|(mail=*)(sn=jones))", {"alice", "bob"})],
)
def test_presence_right_after_a_deferred_load_counts_every_entry(
    text: str, expected: set[str]
) -> None:
    """A load that defers value tables defers their presence sets too (add_many)."""
    index = EqualityIndex(SCHEMA, INDEXED)
    index.add_many([("alice", ALICE), ("bob", BOB)], defer_values=True)
    assert candidates(index, text) == expected
    assert index.present("mail") == {"alice"}


@pytest.mark.parametrize(
    "text",
    [
        "(!(sn=jones))",
        "(|(sn=jones)(telephoneNumber=+49 8142 4799100))",  # one branch unindexed
        "(telephoneNumber=+49 8142 4799100)",
        "(cn=*li*)",
        "(ixiFaxMaxPages>=1)",
        "(cn:caseExactMatch:=Bob)",
        "(objectClass=*)",  # always True: every entry
        "(&)",
        "(name=smith)",  # subtypes of name that are not indexed
    ],
)
def test_filters_the_index_cannot_narrow_ask_for_a_scan(index: EqualityIndex, text: str) -> None:
    assert candidates(index, text) is None


def test_supertype_narrows_when_every_subtype_is_indexed() -> None:
    subtypes = COMPILER.catalog.subtypes(SCHEMA.attribute("name"))
    index = EqualityIndex(SCHEMA, subtypes)
    index.add("alice", ALICE)
    index.add("bob", BOB)
    assert candidates(index, "(name=smith)") == {"alice"}
    assert candidates(index, "(name=*)") == {"alice", "bob"}


def test_returned_candidates_are_the_callers_to_change(index: EqualityIndex) -> None:
    found = candidates(index, "(mail=alice@example.com)")
    assert found is not None
    found.add("mallory")
    assert candidates(index, "(mail=alice@example.com)") == {"alice"}


def test_remove_and_replace_leave_no_trace(index: EqualityIndex) -> None:
    index.replace("alice", ALICE, {**ALICE, "mail": (b"a.smith@example.com",)})
    assert index.lookup("mail", b"alice@example.com") == frozenset()
    assert index.lookup("mail", b"A.Smith@example.com") == {"alice"}
    index.remove("bob", BOB)
    assert index.present("sn") == {"alice"}
    assert index.distinct_values("sn") == 1
    index.remove("alice", {**ALICE, "mail": (b"a.smith@example.com",)})
    assert all(index.distinct_values(name) == 0 for name in index.attributes)
    assert all(not index.present(name) for name in index.attributes)


def test_a_value_of_one_owner_is_kept_without_a_set() -> None:
    """Memory: a set of one id costs 216 bytes, and most uid, cn and mail values have one owner."""
    index = EqualityIndex(SCHEMA, ["sn"])
    index.add("alice", ALICE)
    index.add("carol", {"sn": (b"smith",)})
    index.add("bob", BOB)
    values, _, _ = index.export()
    assert values["sn"] == {"smith": {"alice", "carol"}, "jones": "bob"}
    index.remove("carol", {"sn": (b"smith",)})
    assert index.export()[0]["sn"] == {"smith": "alice", "jones": "bob"}
    assert index.lookup("sn", b"SMITH") == {"alice"}
    assert candidates(index, "(|(sn=smith)(sn=jones))") == {"alice", "bob"}
    index.add("alice", {"sn": (b"Smith",)})  # the same id again changes nothing
    assert index.export()[0]["sn"]["smith"] == "alice"
    index.remove("alice", ALICE)
    assert index.lookup("sn", b"smith") == frozenset()
    assert index.export()[0]["sn"] == {"jones": "bob"}


@pytest.mark.parametrize("deferred", [False, True])
def test_presence_counts_an_entry_whose_values_the_rule_cannot_read(deferred: bool) -> None:
    """Presence of an attribute with a value table comes from its buckets, and a value the
    rule cannot read is in no bucket: such entries are remembered apart."""
    index = EqualityIndex(SCHEMA, INDEXED)
    odd = {"ixiFaxMaxPages": (b"x1",)}
    mixed = {"ixiFaxMaxPages": (b"5", b"x1")}
    if deferred:
        index.add_many([("odd", odd), ("mixed", mixed)], defer_values=True)
    else:
        index.add("odd", odd)
        index.add("mixed", mixed)
    index.add("plain", {"ixiFaxMaxPages": (b"5",)})
    assert candidates(index, "(ixiFaxMaxPages=*)") == {"odd", "mixed", "plain"}
    assert index.present("ixiFaxMaxPages") == {"odd", "mixed", "plain"}
    index.replace("mixed", mixed, {"ixiFaxMaxPages": (b"7",)})
    index.remove("odd", odd)
    assert candidates(index, "(ixiFaxMaxPages=*)") == {"mixed", "plain"}
    assert index.export()[2]["ixiFaxMaxPages"] == set()


def test_presence_of_an_attribute_with_many_values_is_left_to_a_scan(
    index: EqualityIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert candidates(index, "(sn=*)") == {"alice", "bob"}
    monkeypatch.setattr(index_module, "PRESENCE_UNION_LIMIT", 1)
    assert candidates(index, "(sn=*)") is None  # two keys: a scan decides
    assert candidates(index, "(&(sn=*)(mail=alice@example.com))") == {"alice"}
    assert candidates(index, "(facsimileTelephoneNumber=*)") == {"alice"}  # a presence set


def test_values_equal_under_the_rule_share_one_key() -> None:
    index = EqualityIndex(SCHEMA, ["cn"])
    index.add("x", {"cn": (b"Alice  Smith", b"alice smith")})
    assert index.distinct_values("cn") == 1
    index.remove("x", {"cn": (b"Alice  Smith", b"alice smith")})
    assert index.distinct_values("cn") == 0


def _scan(compiled_filter: Filter, population: dict[EntryId, Entry]) -> set[EntryId]:
    compiled = COMPILER.compile(compiled_filter)
    return {key for key, entry in population.items() if compiled.matches(entry, DN_ANY)}


def _search(index: EqualityIndex, f: Filter, population: dict[EntryId, Entry]) -> set[EntryId]:
    compiled = COMPILER.compile(f)
    found = index.candidates(compiled)
    pool = population if found is None else {key: population[key] for key in found}
    return {key for key, entry in pool.items() if compiled.matches(entry, DN_ANY)}


@settings(max_examples=120)
@given(st.lists(entries(), max_size=12), filters)
def test_indexed_search_equals_full_scan(population_list: list[Entry], f: Filter) -> None:
    population: dict[EntryId, Entry] = dict(enumerate(population_list))
    index = EqualityIndex(SCHEMA, INDEXED)
    for key, entry in population.items():
        index.add(key, entry)
    expected = _scan(f, population)
    found = index.candidates(COMPILER.compile(f))
    assert found is None or expected <= found
    assert _search(index, f, population) == expected


@settings(max_examples=60)
@pytest.mark.parametrize("deferred", [False, True])
@given(
    st.lists(entries(), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 7), st.none() | entries()), max_size=10),
)
def test_updates_leave_the_index_as_if_built_from_scratch(
    deferred: bool, population_list: list[Entry], changes: list[tuple[int, Entry | None]]
) -> None:
    """Also after a load that deferred its value tables (add_many(defer_values=True))."""
    population = dict(enumerate(population_list))
    index = EqualityIndex(SCHEMA, INDEXED)
    if deferred:
        index.add_many(population.items(), defer_values=True)
    for key, entry in population.items():
        if not deferred:
            index.add(key, entry)
    for key, new in changes:
        old = population.get(key)
        if new is None and old is not None:
            index.remove(key, old)
            del population[key]
        elif new is not None and old is None:
            index.add(key, new)
            population[key] = new
        elif new is not None and old is not None:
            index.replace(key, old, new)
            population[key] = new
    fresh = EqualityIndex(SCHEMA, INDEXED)
    for key, entry in population.items():
        fresh.add(key, entry)
    for name in sorted(index.attributes):
        assert index.present(name) == fresh.present(name)
        assert index.distinct_values(name) == fresh.distinct_values(name)
        for value in VALUE_POOLS.get(name, [b"person", b"top", b"inetOrgPerson"]):
            assert index.lookup(name, value) == fresh.lookup(name, value)


@settings(max_examples=60)
@given(st.lists(entries(), max_size=12))
def test_add_many_builds_the_same_index_as_adding_one_by_one(population: list[Entry]) -> None:
    one_by_one = EqualityIndex(SCHEMA, INDEXED)
    for key, entry in enumerate(population):
        one_by_one.add(key, entry)
    at_once = EqualityIndex(SCHEMA, INDEXED)
    at_once.add_many(enumerate(population))
    for name in sorted(one_by_one.attributes):
        assert at_once.present(name) == one_by_one.present(name)
        assert at_once.distinct_values(name) == one_by_one.distinct_values(name)
        for value in VALUE_POOLS.get(name, [b"person", b"top", b"inetOrgPerson"]):
            assert at_once.lookup(name, value) == one_by_one.lookup(name, value)


def test_an_attribute_keyed_elsewhere_keeps_presence_here_and_asks_for_equality() -> None:
    asked: list[object] = []

    def elsewhere(key: object) -> set[EntryId]:
        asked.append(key)
        return {"alice"}

    index = EqualityIndex(
        SCHEMA, ["cn", "fax"], keyed_elsewhere={"facsimileTelephoneNumber": elsewhere}
    )
    index.add_many([("alice", ALICE), ("bob", BOB)])
    assert index.distinct_values("facsimileTelephoneNumber") == 0  # no second copy
    assert index.present("facsimileTelephoneNumber") == {"alice"}
    assert index.lookup("facsimileTelephoneNumber", b"+49 8142 4799123") == {"alice"}
    assert candidates(index, "(&(cn=Alice Smith)(facsimileTelephoneNumber=+4981424799123))") == {
        "alice"
    }
    assert len(asked) == 2
    index.remove("alice", ALICE)
    assert index.present("facsimileTelephoneNumber") == frozenset()


def test_object_class_narrows_to_entries_of_the_class_or_a_subclass() -> None:
    """(objectClass=person) finds an entry listing only inetOrgPerson through the index."""
    index = EqualityIndex(SCHEMA, INDEXED)
    index.add("inet", {"objectClass": (b"inetOrgPerson",)})
    index.add("org", {"objectClass": (b"organization",)})
    assert candidates(index, "(objectClass=person)") == {"inet"}
    assert candidates(index, "(|(objectClass=organizationalPerson)(cn=x))") == {"inet"}
    assert candidates(index, "(objectClass=top)") is None  # every entry: a scan


def test_an_and_narrows_by_its_other_items_before_a_class_family() -> None:
    """(&(objectClass=person)(mail=...)) takes the mail bucket as it is (the filter checks the
    class per candidate): no union of the class family's buckets, which can hold everyone."""
    index = EqualityIndex(SCHEMA, INDEXED)
    index.add("alice", ALICE)
    index.add("org", {"objectClass": (b"organization",), "mail": (b"alice@example.com",)})
    assert candidates(index, "(&(objectClass=person)(mail=alice@example.com))") == {
        "alice",
        "org",
    }
    assert candidates(index, "(&(objectClass=person)(cn=*x*))") == {"alice"}
