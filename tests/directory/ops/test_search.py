"""Search: scopes, root DSE, subschema, selection, typesOnly, limits, index vs scan, laziness."""

from __future__ import annotations

import itertools

import pytest

from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN,
    ALICE,
    ALICE_P,
    BASE,
    BOB,
    PEOPLE,
    SERVICE,
    default_settings,
    make_directory,
    person,
    populate,
)
from ixidir.directory.directory import Directory
from ixidir.directory.filter import And, Equality, Extensible, Not, Or, Present, Substrings
from ixidir.directory.requests import (
    ANONYMOUS,
    AddRequest,
    Principal,
    Scope,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.errors import InvalidDNSyntax, NoSuchObject, SizeLimitExceeded, TimeLimitExceeded


def dns(directory: Directory, request: SearchRequest, who: Principal = ADMIN) -> set[str]:
    return {entry.dn for entry in directory.search(who, request)}


def names(entry: SearchResultEntry) -> set[str]:
    return {name for name, _ in entry.attributes}


def test_scopes(directory: Directory) -> None:
    assert dns(directory, SearchRequest(PEOPLE, Scope.BASE)) == {PEOPLE}
    assert dns(directory, SearchRequest(PEOPLE, Scope.ONE)) == {ALICE, BOB}
    assert dns(directory, SearchRequest(PEOPLE, Scope.SUB)) == {PEOPLE, ALICE, BOB}
    assert dns(directory, SearchRequest(PEOPLE, Scope.CHILDREN)) == {ALICE, BOB}
    assert len(dns(directory, SearchRequest(BASE, Scope.SUB))) == 6


def test_indexed_and_scanned_searches_agree(directory: Directory) -> None:
    indexed = SearchRequest(BASE, Scope.SUB, Equality("mail", b"ALICE@example.com"))
    scanned = SearchRequest(BASE, Scope.SUB, Substrings("mail", b"alice@", (), None))
    assert dns(directory, indexed) == dns(directory, scanned) == {ALICE}
    one = SearchRequest(PEOPLE, Scope.ONE, Equality("objectClass", b"inetOrgPerson"))
    assert dns(directory, one) == {ALICE, BOB}
    base_only = SearchRequest(PEOPLE, Scope.BASE, Equality("objectClass", b"inetOrgPerson"))
    assert dns(directory, base_only) == set()


def test_missing_base_names_matched_dn(directory: Directory) -> None:
    with pytest.raises(NoSuchObject) as info:
        directory.search(ADMIN, SearchRequest(f"uid=x,ou=gone,{PEOPLE}"))
    assert info.value.matched_dn == PEOPLE
    with pytest.raises(InvalidDNSyntax):
        directory.search(ADMIN, SearchRequest("uid=x,=y"))


def test_attribute_selection(directory: Directory) -> None:
    def one(*attributes: str) -> SearchResultEntry:
        (entry,) = directory.search(ADMIN, SearchRequest(ALICE, Scope.BASE, attributes=attributes))
        return entry

    default = names(one())
    assert {"cn", "mail", "userPassword"} <= default
    assert not default & {"createTimestamp", "entryUUID", "entryDN"}
    assert names(one("*")) == default
    operational = names(one("+"))
    assert {"createTimestamp", "modifyTimestamp", "creatorsName", "modifiersName"} <= operational
    assert {"entryUUID", "entryDN", "hasSubordinates", "structuralObjectClass"} <= operational
    assert "subschemaSubentry" in operational
    assert "cn" not in operational
    assert names(one("1.1")) == set()
    assert names(one("commonName", "SURNAME", "unknownThing")) == {"cn", "sn"}
    assert names(one("name")) == {"cn", "sn"}
    assert names(one("entryDN")) == {"entryDN"}


def test_types_only(directory: Directory) -> None:
    request = SearchRequest(ALICE, Scope.BASE, attributes=("cn",), types_only=True)
    (entry,) = directory.search(ADMIN, request)
    assert entry.attributes == (("cn", ()),)


def test_root_dse(directory: Directory) -> None:
    request = SearchRequest("", Scope.BASE, attributes=("+",))
    (entry,) = directory.search(ANONYMOUS, request)
    attrs = dict(entry.attributes)
    assert attrs["namingContexts"] == (BASE.encode(),)
    assert attrs["supportedLDAPVersion"] == (b"3",)
    assert attrs["subschemaSubentry"] == (b"cn=Subschema",)


@pytest.mark.parametrize(
    ("who", "sees_counters"), [(ADMIN, True), (SERVICE, True), (ALICE_P, False), (ANONYMOUS, False)]
)
def test_root_dse_counters_only_for_administrator_and_services(
    directory: Directory, who: Principal, sees_counters: bool
) -> None:
    request = SearchRequest("", Scope.BASE, attributes=("+",))
    (entry,) = directory.search(who, request)
    attrs = dict(entry.attributes)
    assert ("ixiRoutingLookups" in attrs) is sees_counters
    assert attrs["namingContexts"] == (BASE.encode(),)  # the standard root DSE for everyone


def test_root_dse_extra(store: MemoryEntryStore) -> None:
    extra = {"supportedExtension": (b"1.3.6.1.4.1.4203.1.11.3",)}
    directory = make_directory(store, default_settings(root_dse_extra=extra))
    request = SearchRequest("", Scope.BASE, attributes=("supportedExtension",))
    (entry,) = directory.search(ANONYMOUS, request)
    assert dict(entry.attributes) == extra


def test_subschema_only_on_request(directory: Directory) -> None:
    (plain,) = directory.search(ANONYMOUS, SearchRequest("cn=subschema", Scope.BASE))
    assert "attributeTypes" not in names(plain)
    wanted = ("attributeTypes", "objectClasses")
    request = SearchRequest("cn=Subschema", Scope.BASE, attributes=wanted)
    (asked,) = directory.search(ANONYMOUS, request)
    assert names(asked) == {"attributeTypes", "objectClasses"}


def test_size_limit(directory: Directory) -> None:
    results = directory.search(ADMIN, SearchRequest(BASE, Scope.SUB, size_limit=2))
    assert len(list(itertools.islice(results, 2))) == 2
    with pytest.raises(SizeLimitExceeded):
        next(results)
    exact = SearchRequest(PEOPLE, Scope.ONE, size_limit=2)
    assert len(list(directory.search(ADMIN, exact))) == 2


def test_server_size_limit_spares_admin_and_service_accounts(store: MemoryEntryStore) -> None:
    """slapd's rootdn has no limit, and the connector reads every user (issue 12 item 3)."""
    directory = make_directory(store, default_settings(size_limit=1, anonymous_read=True))
    populate(directory)
    assert len(list(directory.search(ADMIN, SearchRequest(PEOPLE, Scope.ONE)))) == 2
    assert len(list(directory.search(SERVICE, SearchRequest(PEOPLE, Scope.ONE)))) == 2
    with pytest.raises(SizeLimitExceeded):
        list(directory.search(ANONYMOUS, SearchRequest(PEOPLE, Scope.ONE)))


def test_a_smaller_client_size_limit_still_binds_a_service_account(
    store: MemoryEntryStore,
) -> None:
    directory = make_directory(store, default_settings(size_limit=100))
    populate(directory)
    with pytest.raises(SizeLimitExceeded):
        list(directory.search(SERVICE, SearchRequest(PEOPLE, Scope.ONE, size_limit=1)))


def test_server_time_limit_applies_to_all_but_the_admin(store: MemoryEntryStore) -> None:
    """RFC 4511 §4.5.1.5 timeLimit 0 asks for none; the server's own limit still applies."""
    directory = make_directory(store, default_settings(time_limit=1))
    populate(directory)
    request = SearchRequest(BASE)
    ticks = itertools.count(0.0, 0.6)
    with pytest.raises(TimeLimitExceeded, match="time limit of 1s"):
        list(directory.search(SERVICE, request, now=lambda: next(ticks)))
    assert list(directory.search(ADMIN, request, now=lambda: next(ticks)))


def test_the_smaller_of_client_and_server_time_limit_wins(store: MemoryEntryStore) -> None:
    directory = make_directory(store, default_settings(time_limit=3600))
    populate(directory)
    ticks = itertools.count(0.0, 0.6)
    results = directory.search(SERVICE, SearchRequest(BASE, time_limit=1), now=lambda: next(ticks))
    with pytest.raises(TimeLimitExceeded, match="time limit of 1s"):
        list(results)


def test_time_limit(directory: Directory) -> None:
    ticks = itertools.count(0.0, 0.6)
    results = directory.search(ADMIN, SearchRequest(BASE, time_limit=1), now=lambda: next(ticks))
    with pytest.raises(TimeLimitExceeded):
        list(results)


def test_writes_during_a_lazy_search(directory: Directory) -> None:
    results = directory.search(ADMIN, SearchRequest(PEOPLE, Scope.SUB))
    first = next(results)
    directory.delete(ADMIN, BOB)
    directory.add(ADMIN, AddRequest(f"uid=carol,{PEOPLE}", person("carol")))
    rest = {entry.dn for entry in results}
    assert first.dn == PEOPLE
    assert BOB not in rest
    assert ALICE in rest


def test_a_repeated_search_sees_its_base_appear_and_go(directory: Directory) -> None:
    """Prepared searches are valid for one generation: a write may add or remove the base."""
    base = f"ou=team,{PEOPLE}"
    request = SearchRequest(base, Scope.SUB, Equality("objectClass", b"organizationalUnit"))
    with pytest.raises(NoSuchObject):
        directory.search(ADMIN, request)
    directory.add(ADMIN, AddRequest(base, (("objectClass", (b"organizationalUnit",)),)))
    assert dns(directory, request) == {base}
    assert dns(directory, request) == {base}
    directory.delete(ADMIN, base)
    with pytest.raises(NoSuchObject):
        directory.search(ADMIN, request)


def test_a_repeated_search_answers_each_principal_with_its_own_rights(
    directory: Directory,
) -> None:
    request = SearchRequest(PEOPLE, Scope.ONE, attributes=("userPassword", "mail"))
    for _ in range(2):
        by_admin = {entry.dn: names(entry) for entry in directory.search(ADMIN, request)}
        by_service = {entry.dn: names(entry) for entry in directory.search(SERVICE, request)}
        by_alice = {entry.dn: names(entry) for entry in directory.search(ALICE_P, request)}
        assert by_admin == {ALICE: {"userPassword", "mail"}, BOB: {"userPassword", "mail"}}
        assert by_service == {ALICE: {"mail"}, BOB: {"mail"}}
        assert by_alice == {ALICE: {"mail"}}


def test_filters_on_dn_attributes_see_each_entrys_dn(directory: Directory) -> None:
    """Entries' DNs are given to filters that read them (RFC 4511 §4.5.1.7.7 dnAttributes)."""
    by_rdn = Extensible(None, "uid", b"alice", dn_attributes=True)
    assert dns(directory, SearchRequest(BASE, Scope.SUB, by_rdn)) == {ALICE}
    nested = And((Present("objectClass"), Not(Extensible(None, "ou", b"people", True))))
    assert ALICE not in dns(directory, SearchRequest(BASE, Scope.SUB, nested))
    assert BASE in dns(directory, SearchRequest(BASE, Scope.SUB, nested))


def test_object_class_filters_follow_the_class_hierarchy(directory: Directory) -> None:
    """Entries list only their most specific classes; top and superclasses still match, in
    every position, indexed (objectClass is) or not, as slapd answers."""
    everything = dns(directory, SearchRequest(BASE, Scope.SUB))
    top = SearchRequest(BASE, Scope.SUB, Equality("objectClass", b"top"))
    assert dns(directory, top) == everything
    either = Or((Equality("objectClass", b"top"), Equality("cn", b"nobody")))
    assert dns(directory, SearchRequest(BASE, Scope.SUB, either)) == everything
    person_ = SearchRequest(BASE, Scope.SUB, Equality("objectClass", b"person"))
    assert dns(directory, person_) == {ALICE, BOB}
    not_person = SearchRequest(BASE, Scope.SUB, Not(Equality("objectClass", b"person")))
    assert dns(directory, not_person) == everything - {ALICE, BOB}
    scanned = And(
        (Equality("objectClass", b"organizationalPerson"), Substrings("cn", b"a", (), None))
    )
    assert dns(directory, SearchRequest(BASE, Scope.SUB, scanned)) == {ALICE}


def test_prepared_searches_live_on_their_directory_state(store: MemoryEntryStore) -> None:
    """No module-level cache: two directories never share a plan, and each state's plans are
    dropped with it."""
    first, second = make_directory(store), make_directory(MemoryEntryStore())
    populate(first)
    request = SearchRequest(PEOPLE, Scope.ONE)
    assert dns(first, request) == {ALICE, BOB}
    key = (ADMIN, PEOPLE, Scope.ONE, (), 0, 0)  # ... size and time limit
    assert first.state.search_plans.get(first.state.generation, key) is not None
    assert second.state.search_plans.get(second.state.generation, key) is None
