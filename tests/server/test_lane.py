"""The routing lane answers exactly what the general search answers, byte for byte."""

from __future__ import annotations

import gc
from typing import cast

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN,
    ADMIN_DN,
    ALICE,
    ALICE_P,
    BASE,
    BOB_P,
    PASSWORDS,
    PEOPLE,
    SERVICE,
    make_directory,
    person,
    populate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldaptor.protocols import pureldap
from twisted.logger import ILogObserver, Logger

from ixidir.directory.directory import Directory
from ixidir.directory.filter import And, Equality, Filter
from ixidir.directory.requests import (
    ANONYMOUS,
    AddRequest,
    Modification,
    ModifyRequest,
    ModOp,
    Principal,
    Scope,
    SearchRequest,
)
from ixidir.server import lane
from ixidir.server.extended import standard_handlers
from ixidir.server.session import Session

from . import wire
from .test_protocol import Connection

# Users with routing numbers in the forms people write them; carol has two attributes, dave
# no mail, erin a voice number only.
NUMBERS: dict[str, dict[str, tuple[bytes, ...]]] = {
    "carol": {"facsimileTelephoneNumber": (b"+49 8142 4799123",), "ixiVoiceNumber": (b"+4930 1",)},
    "dave": {"facsimileTelephoneNumber": (b"+49 (8142) 4799-124", b"+49 89 5")},
    "erin": {"ixiVoiceNumber": (b"+49 8142 4799125",)},
    "frank": {"facsimileTelephoneNumber": (b"+44 20 7946 0000",)},
}
ASKED = [
    b"+4981424799123",
    b"+49 8142  4799123",
    b"+49 8142 4799124",
    b"+4989 5",
    b"+49 8142 4799125",
    b"+4930 1",
    b"+44 20 7946 0000",
    b"+49 8142 1",
    b"+4900000",
    b"not a number",
]
ATTRIBUTES = ["facsimileTelephoneNumber", "fax", "FACSIMILETELEPHONENUMBER", "2.5.4.23"]
ATTRIBUTES += ["ixiVoiceNumber", "telephoneNumber", "mail", "ixiCanonicalNumber"]
SELECTED = ["mail", "cn", "*", "+", "1.1", "userPassword", "ixiCanonicalNumber", "MAIL"]
SELECTED += ["hasSubordinates", "unknownThing", "facsimileTelephoneNumber", "entryDN"]
BASES = [BASE, PEOPLE, ALICE, f"uid=carol,{PEOPLE}", f"ou=gone,{BASE}", "", "cn=x,=y"]
PRINCIPALS = [ADMIN, SERVICE, ALICE_P, BOB_P, ANONYMOUS]
PRINCIPALS.append(Principal(f"uid=carol,{PEOPLE}", ALICE_P.access))


def _directory() -> Directory:
    directory = make_directory(MemoryEntryStore())
    populate(directory)
    for uid, numbers in NUMBERS.items():
        attributes = dict(person(uid, **numbers))
        attributes["objectClass"] = (b"inetOrgPerson", b"ixiUmsUser")
        if uid == "dave":
            del attributes["mail"]
        directory.add(ADMIN, AddRequest(f"uid={uid},{PEOPLE}", tuple(attributes.items())))
    return directory


@pytest.fixture(scope="module")
def directory() -> Directory:
    return _directory()


def general(
    directory: Directory, principal: Principal, request: SearchRequest
) -> tuple[bytes, ...]:
    log = Logger(observer=cast(ILogObserver, lambda event: None))
    session = Session(directory, extended=standard_handlers(), log=log)
    session.principal = principal
    return tuple(session.search_operations(request))


equalities = st.builds(Equality, st.sampled_from(ATTRIBUTES), st.sampled_from(ASKED))
wrappers = st.sampled_from(
    [
        Equality("objectClass", b"inetOrgPerson"),
        Equality("objectClass", b"ixiUmsUser"),
        Equality("objectClass", b"device"),
        Equality("mail", b"carol@example.com"),
    ]
)
filters: st.SearchStrategy[Filter] = st.one_of(
    equalities,
    st.builds(
        lambda inner, outer: And((*outer, inner)), equalities, st.lists(wrappers, max_size=2)
    ),
)
requests = st.builds(
    SearchRequest,
    base=st.sampled_from(BASES),
    scope=st.sampled_from(Scope),
    filter=filters,
    attributes=st.lists(st.sampled_from(SELECTED), max_size=3).map(tuple),
    size_limit=st.sampled_from([0, 0, 1, 2]),
    types_only=st.booleans(),
)


def encoded(request: SearchRequest) -> bytes:
    """The SearchRequest protocolOp as a client sends it (ldaptor: an encoder not ours)."""

    def equality(f: Equality) -> pureldap.LDAPFilter_equalityMatch:
        return pureldap.LDAPFilter_equalityMatch(
            attributeDesc=pureldap.LDAPAttributeDescription(value=f.attr),
            assertionValue=pureldap.LDAPAssertionValue(value=f.value.decode()),
        )

    f = request.filter
    wire_filter = (
        equality(f)
        if isinstance(f, Equality)
        else pureldap.LDAPFilter_and(
            [equality(cast(Equality, child)) for child in cast(And, f).filters]
        )
    )
    operation = pureldap.LDAPSearchRequest(
        baseObject=request.base, scope=int(request.scope), derefAliases=0,
        sizeLimit=request.size_limit, timeLimit=request.time_limit,
        typesOnly=request.types_only, filter=wire_filter, attributes=list(request.attributes),
    )  # fmt: skip
    data: bytes = operation.toWire()
    return data


def answer(
    routing: lane.RoutingLane, directory: Directory, principal: Principal, request: SearchRequest
) -> tuple[bytes, ...] | None:
    return routing.answer(principal, encoded(request), directory.layout)


@pytest.fixture(scope="module")
def routing(directory: Directory) -> lane.RoutingLane:
    """One lane for the module: examples with the same shape reuse what it settled."""
    return lane.RoutingLane(directory)


@settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests, principal=st.sampled_from(PRINCIPALS))
def test_lane_answers_are_the_general_answers(
    directory: Directory, routing: lane.RoutingLane, request: SearchRequest, principal: Principal
) -> None:
    answered = answer(routing, directory, principal, request)
    if answered is not None:
        assert answered == general(directory, principal, request)


@pytest.mark.parametrize("number", ASKED)
@pytest.mark.parametrize("base", [BASE, PEOPLE])
@pytest.mark.parametrize("attr", ["facsimileTelephoneNumber", "fax"])
def test_the_connectors_search_is_answered_by_the_lane(
    directory: Directory, routing: lane.RoutingLane, number: bytes, base: str, attr: str
) -> None:
    for f in (
        Equality(attr, number),
        And((Equality("objectClass", b"inetOrgPerson"), Equality(attr, number))),
    ):
        request = SearchRequest(base, Scope.SUB, f, ("mail",))
        answered = answer(routing, directory, SERVICE, request)
        assert answered is not None
        assert answered == general(directory, SERVICE, request)


def test_one_shape_answers_every_number(directory: Directory) -> None:
    """Numbers of one length share a shape (the bytes around them): each still gets its own
    owner's entry, none, or (voice number, not fax) nothing, as the general search says."""
    routing = lane.RoutingLane(directory)
    numbers = [b"+4981424799123", b"+4981424799124", b"+4981424799125", b"+4981424799126"]
    mails = []
    for number in numbers:
        request = SearchRequest(PEOPLE, Scope.SUB, Equality("fax", number), ("mail",))
        answered = answer(routing, directory, SERVICE, request)
        assert answered is not None
        assert answered == general(directory, SERVICE, request)
        mails.append(len(answered))
    assert mails == [2, 2, 1, 1]  # carol, dave (one entry and the done); erin's is a voice number


def test_a_filter_wrapped_around_the_number_still_counts(directory: Directory) -> None:
    """(&(objectClass=device)(fax=...)) matches no one: the wrapping is kept in the shape."""
    routing = lane.RoutingLane(directory)
    for wrapper, entries in ((b"inetOrgPerson", 1), (b"device", 0)):
        f = And((Equality("objectClass", wrapper), Equality("fax", b"+4981424799123")))
        request = SearchRequest(PEOPLE, Scope.SUB, f, ("mail",))
        answered = answer(routing, directory, SERVICE, request)
        assert answered == general(directory, SERVICE, request)
        assert len(general(directory, SERVICE, request)) == entries + 1


@pytest.mark.parametrize(
    "operation",
    [b"", b"\x63", b"\x63\x05\x04\x00", b"\x63\x03\x04\x01", b"\x63\x02\x04\x00"],
)
def test_bytes_the_lane_cannot_read_go_to_the_codec(directory: Directory, operation: bytes) -> None:
    assert lane.RoutingLane(directory).answer(SERVICE, operation, directory.layout) is None


def test_a_write_replaces_what_the_entry_kept() -> None:
    """The encoded entry goes with the old snapshot: the next answer carries the new mail."""
    directory = _directory()
    routing = lane.RoutingLane(directory)
    request = SearchRequest(PEOPLE, Scope.SUB, Equality("fax", b"+4981424799123"), ("mail",))
    first = answer(routing, directory, SERVICE, request)
    assert first is not None
    assert b"carol@example.com" in first[0]
    change = Modification(ModOp.REPLACE, "mail", (b"new@example.com",))
    directory.modify(ADMIN, ModifyRequest(f"uid=carol,{PEOPLE}", (change,)))
    second = answer(routing, directory, SERVICE, request)
    assert second is not None
    assert b"new@example.com" in second[0]
    assert second == general(directory, SERVICE, request)


def test_shapes_outlive_a_modify_and_are_settled_again_when_a_base_comes_or_goes() -> None:
    """A modify keeps the directory's layout (the shapes stay); an add or delete of a search
    base changes it, so a shape that was no routing shape (no base) is settled again."""
    directory = _directory()
    routing = lane.RoutingLane(directory)
    carol = SearchRequest(PEOPLE, Scope.SUB, Equality("fax", b"+4981424799123"), ("mail",))
    before = (directory.layout, directory.generation)
    assert answer(routing, directory, SERVICE, carol) is not None
    change = Modification(ModOp.REPLACE, "mail", (b"new@example.com",))
    directory.modify(ADMIN, ModifyRequest(f"uid=carol,{PEOPLE}", (change,)))
    assert directory.layout == before[0]
    assert directory.generation != before[1]
    assert answer(routing, directory, SERVICE, carol) == general(directory, SERVICE, carol)

    unit = f"ou=fax,{BASE}"
    elsewhere = SearchRequest(unit, Scope.SUB, Equality("fax", b"+4981424799123"), ("mail",))
    assert answer(routing, directory, SERVICE, elsewhere) is None  # no such base: the codec's
    unit_attributes = (("objectClass", (b"organizationalUnit",)), ("ou", (b"fax",)))
    directory.add(ADMIN, AddRequest(unit, unit_attributes))
    assert directory.layout != before[0]
    answered = answer(routing, directory, SERVICE, elsewhere)
    assert answered is not None
    assert answered == general(directory, SERVICE, elsewhere)  # only the done: carol is not there
    directory.delete(ADMIN, unit)
    assert answer(routing, directory, SERVICE, elsewhere) is None


def test_an_entry_keeps_a_bounded_number_of_encoded_answers() -> None:
    """A client cycling attribute lists does not grow an entry's memo without bound."""
    directory = _directory()
    routing = lane.RoutingLane(directory)
    for index in range(3 * lane.MAX_FORMS):
        attributes = ("mail", f"x-{index}")
        request = SearchRequest(PEOPLE, Scope.SUB, Equality("fax", b"+4981424799123"), attributes)
        answered = answer(routing, directory, SERVICE, request)
        assert answered == general(directory, SERVICE, request)
    entry = directory.route("+4981424799123")
    assert entry is not None
    assert 0 < entry.remembered() <= lane.MAX_FORMS


def test_what_an_entry_keeps_is_left_alone_by_the_garbage_collector() -> None:
    """Strings, flags and bytes only, so the collector can stop tracking an entry's memo (a
    frozenset in the key kept 20,000 of them tracked, lengthening its passes over the older
    generations)."""
    directory = _directory()
    routing = lane.RoutingLane(directory)
    request = SearchRequest(PEOPLE, Scope.SUB, Equality("fax", b"+4981424799123"), ("mail",))
    assert answer(routing, directory, SERVICE, request) is not None
    entry = directory.route("+4981424799123")
    assert entry is not None
    assert isinstance(entry.memo, tuple)
    for _ in range(3):  # one pass per level of nesting: the form, then the key
        gc.collect()
    # What the memo holds is untracked, so the collector may untrack the memo itself.
    assert not any(gc.is_tracked(part) for part in entry.memo)


def test_a_server_answers_through_the_lane_what_a_debug_server_answers_without() -> None:
    """The protocol's decision: the same PDUs give the same bytes with the lane (info level)
    and without it (debug level, where every uncached search goes the general way)."""
    directory = _directory()
    pdus = [wire.bind(1, ADMIN_DN, PASSWORDS[ADMIN_DN].decode())]
    for message_id, number in enumerate(ASKED, start=2):
        text = number.decode()
        pdus.append(wire.search(message_id, PEOPLE, f"(fax={text})", attributes=["mail"]))
        wrapped = f"(&(objectClass=inetOrgPerson)(facsimileTelephoneNumber={text}))"
        pdus.append(wire.search(100 + message_id, BASE, wrapped, attributes=["mail", "cn"]))
    written = []
    for log_searches in (False, True):
        connection = Connection(directory, log_searches=log_searches)
        assert (connection.factory.lane is None) is log_searches
        connection.send(*pdus)
        written.append(connection.transport.written())
    assert written[0] == written[1]
    assert written[0].count(b"carol@example.com") == 4  # two spellings, each in two filters
