"""Control handling: the criticality rule (RFC 4511 §4.1.11) and the RFC 2696 value codec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.directory.requests import SearchRequest
from ixidir.errors import ProtocolError, UnavailableCriticalExtension
from ixidir.server.controls import (
    MANAGE_DSA_IT_OID,
    PAGED_RESULTS_OID,
    PagedRequest,
    check_critical,
    decode_paged,
    paged_response,
)
from ixidir.server.messages import Control, DeleteRequest

from . import wire


@given(st.integers(0, 2**31 - 1), st.binary(max_size=40))
def test_paged_values_as_clients_send_them_decode(size: int, cookie: bytes) -> None:
    assert decode_paged(wire.paged(size, cookie)[2]) == PagedRequest(size, cookie)


@given(st.binary(max_size=40))
def test_paged_response_value_carries_the_cookie(cookie: bytes) -> None:
    control = paged_response(cookie)
    assert control.value is not None
    assert decode_paged(control.value) == PagedRequest(0, cookie)
    assert not control.critical


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"",
        b"\x04\x00",
        b"\x30\x03\x02\x01\x05",
        b"\x30\x05\x04\x00\x02\x01\x05",
        b"\x30\x05\x02\x01\xff\x04\x00",
    ],
)
def test_malformed_paged_values_are_protocol_errors(value: bytes | None) -> None:
    with pytest.raises(ProtocolError):
        decode_paged(value)


def test_criticality_rule() -> None:
    search = SearchRequest("dc=x")
    delete = DeleteRequest("dc=x")
    check_critical(search, (Control(PAGED_RESULTS_OID, True),))
    check_critical(delete, (Control(MANAGE_DSA_IT_OID, True), Control("1.2.3", False)))
    with pytest.raises(UnavailableCriticalExtension):
        check_critical(delete, (Control(PAGED_RESULTS_OID, True),))
    with pytest.raises(UnavailableCriticalExtension):
        check_critical(search, (Control("1.2.3", True),))
