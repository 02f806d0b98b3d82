"""The codec writes every response exactly as ldaptor (the oracle) writes it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from ldaptor.protocols import pureldap

from ixidir.directory.requests import SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.codec import LDAPCodec
from ixidir.server.messages import ExtendedResult, Response, Result, ResultKind

_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z")
_values = st.lists(st.binary(max_size=300), min_size=1, max_size=4).map(tuple)
_codes = st.sampled_from(list(ResultCode))
entries = st.builds(
    SearchResultEntry,
    st.text(max_size=200),
    st.lists(st.tuples(_names, _values), max_size=6).map(tuple),
)
results = st.builds(
    Result, st.sampled_from(list(ResultKind)), _codes, st.text(max_size=50), st.text(max_size=300)
)
extended = st.builds(
    ExtendedResult,
    _codes,
    st.text(max_size=50),
    st.text(max_size=300),
    st.none() | st.sampled_from(["1.3.6.1.4.1.1466.20036", "1.2.3"]),
    st.none() | st.binary(max_size=300),
)

_RESULT_CLASSES: dict[ResultKind, Any] = {
    ResultKind.BIND: pureldap.LDAPBindResponse,
    ResultKind.SEARCH_DONE: pureldap.LDAPSearchResultDone,
    ResultKind.MODIFY: pureldap.LDAPModifyResponse,
    ResultKind.ADD: pureldap.LDAPAddResponse,
    ResultKind.DELETE: pureldap.LDAPDelResponse,
    ResultKind.MODIFY_DN: pureldap.LDAPModifyDNResponse,
    ResultKind.COMPARE: pureldap.LDAPCompareResponse,
}


def ldaptor_response(response: Response) -> Any:
    """Our response value as ldaptor's PDU object."""
    match response:
        case Result():
            return _RESULT_CLASSES[response.kind](
                resultCode=int(response.code),
                matchedDN=response.matched_dn.encode("utf-8"),
                errorMessage=response.message.encode("utf-8"),
            )
        case ExtendedResult():
            return pureldap.LDAPExtendedResponse(
                resultCode=int(response.code),
                matchedDN=response.matched_dn.encode("utf-8"),
                errorMessage=response.message.encode("utf-8"),
                responseName=None if response.name is None else response.name.encode("ascii"),
                response=response.value,
            )
        case SearchResultEntry():
            attributes = [(name.encode("utf-8"), list(vals)) for name, vals in response.attributes]
            return pureldap.LDAPSearchResultEntry(
                objectName=response.dn.encode("utf-8"), attributes=attributes
            )


@given(st.integers(1, 2**31 - 1), st.one_of(entries, results, extended))
def test_bytes_equal_ldaptors(message_id: int, response: Response) -> None:
    expected = pureldap.LDAPMessage(ldaptor_response(response), id=message_id).toWire()
    assert LDAPCodec(1).encode(message_id, response) == expected
