"""Routing inside the directory: any formatting finds the one entry; one number, one entry."""

from __future__ import annotations

import pytest

from ixidir.directory.directory import Directory
from ixidir.directory.filter import And, Equality, Or, Present
from ixidir.directory.numbers import Routing
from ixidir.directory.ports import Change, PutEntry, StoredEntry
from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Scope,
    SearchRequest,
)
from ixidir.errors import ConstraintViolation, InvalidAttributeSyntax

from .memory_store import MemoryEntryStore
from .tree import ADMIN, BASE, PEOPLE, make_directory, person

DEFAULTS = f"cn=ums-defaults,{BASE}"
CAROL = f"uid=carol,{PEOPLE}"
DAVE = f"uid=dave,{PEOPLE}"


def site_defaults(area: bytes = b"8142") -> AddRequest:
    return AddRequest(
        DEFAULTS,
        (
            ("objectClass", (b"applicationProcess", b"ixiUmsServerDefaults")),
            ("ixiSiteCountryCode", (b"49",)),
            ("ixiSiteAreaCode", (area,)),
        ),
    )


def fax(*numbers: bytes) -> dict[str, tuple[bytes, ...]]:
    return {"facsimileTelephoneNumber": numbers}


def routed_dn(directory: Directory, number: str) -> str | None:
    entry = directory.route(number)
    return None if entry is None else str(entry.dn)


def uids(directory: Directory, *filters: Equality | And | Or) -> list[list[str]]:
    found = []
    for f in filters:
        request = SearchRequest(BASE, Scope.SUB, f, attributes=("uid",))
        found.append(sorted(e.dn for e in directory.search(ADMIN, request)))
    return found


@pytest.fixture
def routed(directory: Directory) -> Directory:
    directory.add(ADMIN, site_defaults())
    directory.add(ADMIN, AddRequest(CAROL, person("carol", **fax(b"+49 (8142) 4799-123"))))
    return directory


@pytest.mark.parametrize(
    "asserted",
    [
        "+49 8142 4799123",
        "+4981424799123",
        "+49 (0)8142 4799-123",
        "+49  8142  4799123",
        "08142 4799123",
        "0049 8142 4799123",
        "4799123",
    ],
)
def test_every_formatting_finds_the_one_entry(routed: Directory, asserted: str) -> None:
    """The connector's filter finds the user whatever formatting the number arrives in."""
    found = uids(routed, Equality("facsimileTelephoneNumber", asserted.encode()))
    assert found == [[CAROL]]


def test_route_returns_the_entry_for_any_formatting(routed: Directory) -> None:
    """`route` is the O(1) look-up the `ixidir route` command and the server share."""
    assert routed_dn(routed, "+49 8142 4799-123") == CAROL
    assert routed_dn(routed, "+49 8142 4799124") is None


def test_routing_filters_work_inside_and_or(routed: Directory) -> None:
    """A connector may search several attributes at once."""
    number = b"+4981424799123"
    either = Or((Equality("ixiVoiceNumber", number), Equality("facsimileTelephoneNumber", number)))
    both = And((Present("mail"), Equality("facsimileTelephoneNumber", number)))
    assert uids(routed, either, both) == [[CAROL], [CAROL]]


def test_a_second_entry_cannot_take_a_routing_number(routed: Directory) -> None:
    """One number, one user: the error names the holder and nothing is written."""
    request = AddRequest(DAVE, person("dave", ixiSmsNumber=(b"+49 8142 4799-123",)))
    request = AddRequest(DAVE, (*request.attributes, ("objectClass", (b"ixiUmsUser",))))
    with pytest.raises(ConstraintViolation, match="uid=carol"):
        routed.add(ADMIN, request)
    assert uids(routed, Equality("uid", b"dave")) == [[]]


def test_modify_cannot_take_another_entrys_number(routed: Directory) -> None:
    routed.add(ADMIN, AddRequest(DAVE, person("dave", **fax(b"+49 8142 4799200"))))
    change = Modification(ModOp.ADD, "facsimileTelephoneNumber", (b"004981424799123",))
    with pytest.raises(ConstraintViolation, match="uid=carol"):
        routed.modify(ADMIN, ModifyRequest(DAVE, (change,)))
    assert routed_dn(routed, "+4981424799123") == CAROL


def test_numbers_move_with_modify_and_go_with_delete(routed: Directory) -> None:
    change = Modification(ModOp.REPLACE, "facsimileTelephoneNumber", (b"+49 8142 4799-555",))
    routed.modify(ADMIN, ModifyRequest(CAROL, (change,)))
    assert routed.route("+4981424799123") is None
    assert routed_dn(routed, "+4981424799555") == CAROL
    routed.delete(ADMIN, CAROL)
    assert routed.route("+4981424799555") is None


def test_rename_keeps_the_number_routed_to_the_new_dn(routed: Directory) -> None:
    routed.modify_dn(ADMIN, ModifyDNRequest(CAROL, "uid=caroline", delete_old_rdn=True))
    assert routed_dn(routed, "+4981424799123") == f"uid=caroline,{PEOPLE}"


def test_unroutable_number_is_refused(routed: Directory) -> None:
    """A routing attribute must hold a routable number (21, naming the value)."""
    with pytest.raises(InvalidAttributeSyntax, match="FAX-ONLY"):
        routed.add(ADMIN, AddRequest(DAVE, person("dave", **fax(b"FAX-ONLY"))))


def test_new_site_settings_rekey_national_forms(routed: Directory) -> None:
    """Local forms depend on the area code: changing it re-keys every number."""
    change = Modification(ModOp.REPLACE, "ixiSiteAreaCode", (b"89",))
    routed.modify(ADMIN, ModifyRequest(DEFAULTS, (change,)))
    assert uids(routed, Equality("facsimileTelephoneNumber", b"4799123")) == [[]]
    assert uids(routed, Equality("facsimileTelephoneNumber", b"08142 4799123")) == [[CAROL]]


def test_reload_rebuilds_routing_from_the_store(
    directory: Directory, store: MemoryEntryStore
) -> None:
    """At start the index is rebuilt with the stored site settings, even when the user entry
    is loaded before the defaults entry (the store returns rows in no particular order)."""
    directory.add(ADMIN, AddRequest(CAROL, person("carol", **fax(b"+49 (8142) 4799-123"))))
    directory.add(ADMIN, site_defaults())
    again = make_directory(store)
    again.load()
    assert routed_dn(again, "08142 4799-123") == CAROL


def test_canonical_numbers_are_an_operational_attribute(routed: Directory) -> None:
    """ixiCanonicalNumber shows the digits the entry routes by, with '+' or by name."""
    for attributes in (("+",), ("ixiCanonicalNumber",)):
        request = SearchRequest(CAROL, Scope.BASE, attributes=attributes)
        (entry,) = routed.search(ADMIN, request)
        assert dict(entry.attributes)["ixiCanonicalNumber"] == (b"4981424799123",)
    plain = SearchRequest(CAROL, Scope.BASE, attributes=("*",))
    (entry,) = routed.search(ADMIN, plain)
    assert "ixiCanonicalNumber" not in dict(entry.attributes)


def another_process_writes(directory: Directory, uid: str, numbers: tuple[bytes, ...]) -> None:
    """What a follower applies: an entry another process committed, unchecked here."""
    store = directory.state.store
    dn = f"uid={uid},{PEOPLE}"
    attributes = dict(person(uid, **fax(*numbers)))
    attributes["uid"] = (uid.encode(),)
    stored = StoredEntry(
        uuid=f"00000000-0000-4000-8000-{len(uid):012d}",
        dn=dn,
        dn_key=directory.state.parse_dn(dn)[1],
        attributes={name: list(values) for name, values in attributes.items()},
    )
    sequence = store.commit([PutEntry(stored)])
    directory.state.apply_changes([Change(sequence, (stored,), ())])


def test_a_number_two_entries_hold_routes_to_the_first_and_is_found_on_both(
    routed: Directory,
) -> None:
    """Only a follower can get here (two processes wrote at once); a search still tells the
    truth of what the entries hold, and routing stays with the first holder."""
    another_process_writes(routed, "dave", (b"+49 8142 4799123",))
    assert routed_dn(routed, "+4981424799123") == CAROL
    found = uids(routed, Equality("facsimileTelephoneNumber", b"08142 4799-123"))
    assert found == [[CAROL, DAVE]]
    routed.delete(ADMIN, DAVE)
    assert uids(routed, Equality("facsimileTelephoneNumber", b"+4981424799123")) == [[CAROL]]


def test_an_unroutable_value_a_follower_applied_is_still_found(routed: Directory) -> None:
    another_process_writes(routed, "dave", (b"fax me maybe",))
    assert uids(routed, Equality("facsimileTelephoneNumber", b"fax me maybe")) == [[DAVE]]
    assert uids(routed, Equality("facsimileTelephoneNumber", b"+4981424799123")) == [[CAROL]]


def root_dse_counters(directory: Directory) -> dict[str, int]:
    request = SearchRequest("", Scope.BASE, attributes=("+",))
    (entry,) = directory.search(ADMIN, request)
    return {
        name: int(values[0]) for name, values in entry.attributes if name.startswith("ixiRouting")
    }


def test_routing_look_ups_hits_and_misses_are_counted_on_the_root_dse(
    routed: Directory,
) -> None:
    before = root_dse_counters(routed)
    assert set(before) == {"ixiRoutingLookups", "ixiRoutingHits", "ixiRoutingMisses"}
    uids(routed, Equality("facsimileTelephoneNumber", b"+49 8142 4799123"))  # hit
    uids(routed, Equality("facsimileTelephoneNumber", b"+49 8142 4799999"))  # miss
    routed.route("+4981424799123")  # hit
    after = root_dse_counters(routed)
    assert after["ixiRoutingLookups"] - before["ixiRoutingLookups"] == 3
    assert after["ixiRoutingHits"] - before["ixiRoutingHits"] == 2
    assert after["ixiRoutingMisses"] - before["ixiRoutingMisses"] == 1


def test_stored_numbers_are_remembered_for_the_site_they_were_keyed_under(
    routed: Directory,
) -> None:
    """Searches confirm candidates by normalizing stored numbers: the keys computed while
    indexing are reused, and new site settings start afresh (national forms re-key)."""
    routing = routed.state.routing
    stored = b"+49 (8142) 4799-123"
    assert routing.memo[stored] == "4981424799123"
    assert routing.rule.normalize(stored) == ("e164", "4981424799123")
    routed.add(ADMIN, AddRequest(DAVE, person("dave", **fax(b"4799 200"))))
    assert routing.memo[b"4799 200"] == "4981424799200"
    moved = Modification(ModOp.REPLACE, "ixiSiteAreaCode", (b"30",))
    routed.modify(ADMIN, ModifyRequest(DEFAULTS, (moved,)))
    assert routing.memo[b"4799 200"] == "49304799200"
    assert routed.state.routing.rule.normalize(b"4799 200") == ("e164", "49304799200")
    assert uids(routed, Equality("facsimileTelephoneNumber", b"+49 30 4799200")) == [[DAVE]]


def test_only_the_configured_routing_attributes_give_keys(directory: Directory) -> None:
    entry = {
        "cn": (b"Alice",),
        "telephoneNumber": (b"+49 8142 4799100",),
        "facsimileTelephoneNumber": (b"+49 8142 4799123$twoDimensional",),
        "ixiSmsNumber": (b"+49 170 1234567",),
    }
    routing = directory.state.routing
    assert routing.keys(entry) == {"4981424799123", "491701234567"}
    fax_only = Routing(directory.state.schema, ("facsimileTelephoneNumber",), describe=str)
    assert fax_only.keys(entry) == {"4981424799123"}
