"""The attribute encoding: exact round trips for any names and bytes; corrupt data refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.directory.ports import StorageError
from ixidir.storage.attributes import decode_attributes, encode_attributes

attribute_maps = st.dictionaries(
    st.text(min_size=1, max_size=20),
    st.lists(st.binary(max_size=50), max_size=5).map(tuple),
    max_size=8,
)


@given(attribute_maps)
def test_decode_inverts_encode(attributes: dict[str, tuple[bytes, ...]]) -> None:
    decoded = decode_attributes(encode_attributes(attributes))
    assert decoded == attributes
    assert list(decoded) == list(attributes)


@given(attribute_maps, st.data())
def test_truncated_data_is_refused(
    attributes: dict[str, tuple[bytes, ...]], data: st.DataObject
) -> None:
    encoded = encode_attributes(attributes)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    with pytest.raises(StorageError):
        decode_attributes(encoded[:cut])


def test_unknown_version_is_refused() -> None:
    with pytest.raises(StorageError, match="version"):
        decode_attributes(b"\x02" + encode_attributes({"cn": [b"x"]})[1:])
