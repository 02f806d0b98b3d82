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


def test_entries_of_one_shape_keep_their_own_names_and_values() -> None:
    """Names and value counts of equal lengths share a remembered shape: each entry still
    decodes to its own names and values."""
    first = {"cn": (b"a",), "sn": (b"bb", b"c")}
    second = {"uid": (b"x",), "ou": (b"yy", b"")}
    assert decode_attributes(encode_attributes(first)) == first
    decoded = decode_attributes(encode_attributes(second))
    assert decoded == second
    assert list(decoded) == ["uid", "ou"]


def test_data_cut_short_is_refused_after_its_shape_was_seen() -> None:
    encoded = encode_attributes({"cn": (b"name",), "mail": (b"a@b", b"c@d"), "x": ()})
    decode_attributes(encoded)
    for cut in range(len(encoded)):
        with pytest.raises(StorageError):
            decode_attributes(encoded[:cut])
    with pytest.raises(StorageError):
        decode_attributes(encoded + b"\x00")


def test_names_that_are_not_utf8_are_refused() -> None:
    encoded = encode_attributes({"ab": (b"v",)})
    corrupt = encoded.replace(b"ab", b"\xff\xfe")
    with pytest.raises(StorageError, match="corrupt"):
        decode_attributes(corrupt)
