"""The verify-PIN extended operation: request bytes as a client encodes them, response bytes out."""

from __future__ import annotations

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import (
    ADMIN,
    ADMIN_DN,
    ALICE,
    CONNECTOR,
    PASSWORDS,
    PEOPLE,
    default_settings,
    make_directory,
    person,
)
from directory.tree import populate as populate_tree
from ldaptor.protocols import pureber

from ixidir.directory.directory import Directory
from ixidir.directory.pins import PinOutcome, PinResult
from ixidir.directory.requests import AddRequest, SearchResultEntry
from ixidir.errors import ProtocolError, ResultCode
from ixidir.server.extended import find_handler, standard_handlers
from ixidir.server.messages import ExtendedResult, Result
from ixidir.server.pin_ext import (
    VERIFY_PIN_OID,
    decode_verify_pin,
    encode_verify_pin_response,
    pin_handlers,
)

from . import wire
from .test_protocol import Connection

CAROL = f"uid=carol,{PEOPLE}"
PIN = b"480271"


def request_value(user: str, pin: bytes) -> bytes:
    """As a client builds it: SEQUENCE { user LDAPDN, pin OCTET STRING }."""
    value = pureber.BERSequence(
        [pureber.BEROctetString(user.encode()), pureber.BEROctetString(pin)]
    )
    wire_bytes: bytes = value.toWire()
    return wire_bytes


def response(result: int, attempts_left: int) -> bytes:
    """The expected responseValue: SEQUENCE { ENUMERATED, INTEGER }, DER as written by hand."""
    return bytes([0x30, 0x06, 0x0A, 0x01, result, 0x02, 0x01, attempts_left])


@pytest.fixture
def directory() -> Directory:
    real = make_directory(MemoryEntryStore(), default_settings())
    populate_tree(real)
    carol = person("carol", objectClass=(b"inetOrgPerson", b"ixiUmsUser"), ixiVmPin=(PIN,))
    real.add(ADMIN, AddRequest(CAROL, carol))
    return real


def bound(directory: Directory, dn: str) -> Connection[Directory]:
    connection = Connection(directory, extended={**standard_handlers(), **pin_handlers()})
    (reply,) = connection.send(wire.bind(1, dn, PASSWORDS[dn].decode()))
    assert isinstance(reply[1], Result)
    assert reply[1].code is ResultCode.SUCCESS
    return connection


def verify(connection: Connection[Directory], value: bytes | None) -> ExtendedResult:
    (reply,) = connection.send(wire.extended(2, VERIFY_PIN_OID, value))
    result = reply[1]
    assert isinstance(result, ExtendedResult)
    return result


def test_the_table_offers_verify_pin() -> None:
    assert find_handler(pin_handlers(), VERIFY_PIN_OID) is not None


def test_request_value_decodes() -> None:
    decoded = decode_verify_pin(request_value(CAROL, PIN))
    assert (decoded.user, decoded.pin) == (CAROL, PIN)


def test_response_value_is_the_ber_sequence() -> None:
    assert encode_verify_pin_response(PinResult(PinOutcome.LOCKED, 0)) == response(2, 0)
    assert encode_verify_pin_response(PinResult(PinOutcome.OK, 3)) == response(0, 3)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="absent"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x04\x00", id="not-a-sequence"),
        pytest.param(b"\x30\x02\x04\x00", id="pin-missing"),
        pytest.param(b"\x30\x06\x04\x00\x04\x00\x04\x00", id="three-fields"),
        pytest.param(b"\x30\x05\x04\x00\x02\x01\x05", id="pin-as-integer"),
        pytest.param(b"\x30\x04\x04\x00\x80\x00", id="context-tag"),
        pytest.param(b"\x30\x05\x04\x00\x04\x01", id="truncated"),
        pytest.param(b"\x30\x04\x04\x00\x04\x00\x00", id="trailing-bytes"),
        pytest.param(b"\x30\x05\x04\x01\xff\x04\x00", id="user-not-utf8"),
        pytest.param(request_value(CAROL, b"1" * 300), id="pin-too-long"),
    ],
)
def test_malformed_request_values_are_protocol_errors(data: bytes | None) -> None:
    with pytest.raises(ProtocolError):
        decode_verify_pin(data)


def test_service_verifies_over_the_wire_and_wrong_pins_lock(directory: Directory) -> None:
    connection = bound(directory, CONNECTOR)
    ok = verify(connection, request_value(CAROL, PIN))
    assert (ok.code, ok.name, ok.value) == (ResultCode.SUCCESS, VERIFY_PIN_OID, response(0, 3))
    answers = [verify(connection, request_value(CAROL, b"999990")).value for _ in range(3)]
    assert answers == [response(1, 2), response(1, 1), response(1, 0)]
    locked = verify(connection, request_value(CAROL, PIN))
    assert (locked.code, locked.value) == (ResultCode.SUCCESS, response(2, 0))


def test_the_admin_may_verify(directory: Directory) -> None:
    assert verify(bound(directory, ADMIN_DN), request_value(CAROL, PIN)).value == response(0, 3)


def test_users_get_insufficient_access_rights(directory: Directory) -> None:
    result = verify(bound(directory, ALICE), request_value(CAROL, PIN))
    assert result.code is ResultCode.INSUFFICIENT_ACCESS_RIGHTS
    assert int(result.code) == 50
    assert result.value is None


def test_anonymous_gets_insufficient_access_rights(directory: Directory) -> None:
    connection = Connection(directory, extended=pin_handlers())
    assert verify(connection, request_value(CAROL, PIN)).code == 50


def test_unknown_user_is_no_such_object(directory: Directory) -> None:
    result = verify(bound(directory, CONNECTOR), request_value(f"uid=nobody,{PEOPLE}", PIN))
    assert result.code is ResultCode.NO_SUCH_OBJECT


def test_malformed_value_is_protocol_error_on_the_wire(directory: Directory) -> None:
    result = verify(bound(directory, CONNECTOR), b"\x30\x02\x04\x00")
    assert result.code is ResultCode.PROTOCOL_ERROR


def test_service_cannot_read_the_hash_over_the_wire(directory: Directory) -> None:
    connection = bound(directory, CONNECTOR)
    replies = connection.send(wire.search(2, CAROL, scope=0, attributes=["*", "+", "ixiVmPin"]))
    entries = [r for _, r, _ in replies if isinstance(r, SearchResultEntry)]
    assert [entry.dn for entry in entries] == [CAROL]
    assert "ixiVmPin" not in dict(entries[0].attributes)
