"""Session: the encoded-operations search answers exactly what the general path answers."""

from __future__ import annotations

from typing import cast

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, ALICE_P, BASE, PEOPLE, SERVICE, make_directory, populate
from twisted.logger import ILogObserver, Logger

from ixidir.directory.directory import Directory
from ixidir.directory.filter import Equality, Present, Substrings
from ixidir.directory.requests import (
    ANONYMOUS,
    Principal,
    Scope,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.server.codec import LDAPCodec, envelope
from ixidir.server.extended import standard_handlers
from ixidir.server.messages import LDAPMessage, Result
from ixidir.server.session import Reply, Session

REQUESTS = [
    SearchRequest(PEOPLE, Scope.SUB, Equality("mail", b"ALICE@example.com"), ("mail",)),
    SearchRequest(PEOPLE, Scope.ONE, Present("objectClass"), ("*", "+")),
    SearchRequest(PEOPLE, Scope.ONE, Substrings("cn", b"b", (), None), types_only=True),
    SearchRequest(BASE, Scope.SUB, size_limit=2),
    SearchRequest(f"ou=gone,{BASE}", Scope.SUB),  # noSuchObject, with a matched DN
    SearchRequest("", Scope.BASE, attributes=("namingContexts",)),  # the root DSE
    SearchRequest("cn=x,=y", Scope.SUB),  # invalidDNSyntax
]


@pytest.fixture
def directory() -> Directory:
    real = make_directory(MemoryEntryStore())
    populate(real)
    return real


def session(directory: Directory, principal: Principal, events: list[object]) -> Session:
    log = Logger(observer=cast(ILogObserver, events.append))
    made = Session(directory, extended=standard_handlers(), log=log)
    made.principal = principal
    return made


@pytest.mark.parametrize("principal", [ADMIN, SERVICE, ALICE_P, ANONYMOUS])
@pytest.mark.parametrize("request_", REQUESTS)
def test_search_operations_are_the_general_answer_encoded(
    directory: Directory, principal: Principal, request_: SearchRequest
) -> None:
    general = []
    for reply in session(directory, principal, []).respond(LDAPMessage(7, request_)):
        assert isinstance(reply, Reply)
        assert not reply.controls
        assert isinstance(reply.response, SearchResultEntry | Result)
        general.append(LDAPCodec(1).encode(7, reply.response))
    direct = session(directory, principal, []).search_operations(request_)
    assert [envelope(7, operation) for operation in direct] == general


def test_searches_are_not_logged_when_the_server_says_so(directory: Directory) -> None:
    events: list[object] = []
    quiet = Session(
        directory,
        extended=standard_handlers(),
        log=Logger(observer=cast(ILogObserver, events.append)),
        log_searches=False,
    )
    list(quiet.search_operations(REQUESTS[0]))
    list(quiet.respond(LDAPMessage(2, REQUESTS[0])))
    assert events == []
    list(session(directory, ADMIN, events).search_operations(REQUESTS[0]))
    assert len(events) == 1
