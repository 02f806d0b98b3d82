"""The direct search-reply encoder writes exactly the bytes ldaptor writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from ldaptor.protocols import pureldap

from ixidir.directory.requests import SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.encoder import encode_search_reply
from ixidir.server.messages import Result, ResultKind
from ixidir.server.translate import encode_response

_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z")
_values = st.lists(st.binary(max_size=300), min_size=1, max_size=4).map(tuple)
entries = st.builds(
    SearchResultEntry,
    st.text(max_size=200),
    st.lists(st.tuples(_names, _values), max_size=6).map(tuple),
)
dones = st.builds(
    Result,
    st.just(ResultKind.SEARCH_DONE),
    st.sampled_from(list(ResultCode)),
    st.text(max_size=50),
    st.text(max_size=300),
)


def ldaptor_bytes(message_id: int, response: SearchResultEntry | Result) -> bytes:
    data: bytes = pureldap.LDAPMessage(encode_response(response), id=message_id).toWire()
    return data


@given(st.integers(1, 2**31 - 1), st.one_of(entries, dones))
def test_bytes_equal_ldaptors(message_id: int, response: SearchResultEntry | Result) -> None:
    assert encode_search_reply(message_id, response) == ldaptor_bytes(message_id, response)


def test_other_responses_are_left_to_ldaptor() -> None:
    assert encode_search_reply(1, Result(ResultKind.BIND, ResultCode.SUCCESS)) is None
