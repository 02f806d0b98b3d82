"""The on-disk encoding of an entry's attributes: exact for any bytes, fast to decode in bulk.

Layout (all integers little-endian):

    u8  format version (1)
    u16 n                      number of attributes
    n x u16                    number of values of each attribute
    (n + v) x u32              byte lengths: the n UTF-8 names, then the v values in order
    payload                    the names, then the values, concatenated

Why this and not JSON or marshal (measured on 100,000 synthetic inetOrgPerson entries of 21
attributes, ~830 bytes each, on the shared 2-core build machine): JSON with str values and a
base64 marker for binary decoded in 7.2 s; a naive per-value length-prefixed format in 4.5 s; this
layout, which reads all lengths with one struct call, in 3.8 s; marshal in 1.8-3.5 s. marshal is
not safe against corrupt input and its format may change between Python versions, which a
database that outlives a Python upgrade cannot accept, so we take the fastest stable format.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from itertools import accumulate, islice, pairwise

from ixidir.directory.ports import StorageError

FORMAT_VERSION = 1
_HEAD = struct.Struct("<BH")
# Limits of the layout's integer widths.
MAX_ATTRIBUTES = 0xFFFF
MAX_VALUES = 0xFFFF
MAX_VALUE_BYTES = 0xFFFFFFFF


def encode_attributes(attributes: Mapping[str, Sequence[bytes]]) -> bytes:
    """Serialize attributes; their order and every value's bytes are kept exactly."""
    names = [name.encode("utf-8") for name in attributes]
    counts = [len(values) for values in attributes.values()]
    values = [bytes(value) for group in attributes.values() for value in group]
    if len(names) > MAX_ATTRIBUTES or any(count > MAX_VALUES for count in counts):
        raise StorageError("an entry has too many attributes or values to store")
    lengths = [len(name) for name in names] + [len(value) for value in values]
    if any(length > MAX_VALUE_BYTES for length in lengths):
        raise StorageError("an attribute value is too large to store")
    header = _HEAD.pack(FORMAT_VERSION, len(names))
    tables = struct.pack(f"<{len(counts)}H{len(lengths)}I", *counts, *lengths)
    return b"".join([header, tables, *names, *values])


def decode_attributes(data: bytes) -> dict[str, tuple[bytes, ...]]:
    """Read what `encode_attributes` wrote; raise StorageError on anything else.

    Entries of one kind share their attribute names and value counts (the `_Shape`), so what
    follows from those alone is worked out once per shape, and the values are sliced by C
    iterators: 8.7 -> 5.6 µs for an entry of 13 attributes, 0.24 -> 0.17 s at a load of
    20,000 users.
    """
    try:
        version, count = _HEAD.unpack_from(data)
        if version != FORMAT_VERSION:
            raise StorageError(f"unknown attribute encoding version {version}")
        table_end = _HEAD.size + 6 * count
        table = data[_HEAD.size : table_end]
        shape = _SHAPES.get(table)
        if shape is None:
            shape = _new_shape(table, count)
        lengths = shape.value_lengths.unpack_from(data, table_end)
    except struct.error as exc:
        raise StorageError(f"corrupt attribute data: {exc}") from exc
    names = shape.names.get(data[shape.names_start : shape.values_start])
    if names is None:
        names = shape.read_names(data)
    bounds = list(accumulate(lengths, initial=shape.values_start))
    if bounds[-1] != len(data):
        raise StorageError("corrupt attribute data: lengths do not match its size")
    values = tuple(map(data.__getitem__, map(slice, bounds, islice(bounds, 1, None))))
    return dict(zip(names, map(values.__getitem__, shape.groups), strict=True))


class _Shape:
    """What the count and value-count table and the name lengths (one byte string) determine:
    where names and values start, and which values belong to which attribute."""

    __slots__ = ("groups", "name_slices", "names", "names_start", "value_lengths", "values_start")

    def __init__(self, table: bytes, count: int) -> None:
        counts = struct.unpack_from(f"<{count}H", table)
        name_lengths = struct.unpack_from(f"<{count}I", table, 2 * count)
        total = sum(counts)
        self.value_lengths = struct.Struct(f"<{total}I")
        self.names_start = _HEAD.size + 2 * count + 4 * (count + total)
        self.values_start = self.names_start + sum(name_lengths)
        name_bounds = accumulate(name_lengths, initial=self.names_start)
        self.name_slices = [slice(start, end) for start, end in pairwise(name_bounds)]
        self.groups = [slice(start, end) for start, end in pairwise(accumulate(counts, initial=0))]
        # The names' bytes -> the names: entries of one shape mostly share their names too.
        self.names: dict[bytes, list[str]] = {}

    def read_names(self, data: bytes) -> list[str]:
        if self.values_start > len(data):
            raise StorageError("corrupt attribute data: lengths do not match its size")
        try:
            names = [data[part].decode("utf-8") for part in self.name_slices]
        except UnicodeDecodeError as exc:
            raise StorageError(f"corrupt attribute data: {exc}") from exc
        if len(self.names) >= MAX_SHAPES:
            self.names.clear()
        self.names[data[self.names_start : self.values_start]] = names
        return names


# Shapes and name lists remembered; emptied when full (a directory has a few kinds of entry).
MAX_SHAPES = 256
_SHAPES: dict[bytes, _Shape] = {}


def _new_shape(table: bytes, count: int) -> _Shape:
    """The shape of `table` (struct.error when it is cut short), remembered."""
    shape = _Shape(table, count)
    if len(_SHAPES) >= MAX_SHAPES:
        _SHAPES.clear()
    _SHAPES[table] = shape
    return shape
