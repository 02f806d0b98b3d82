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
from itertools import accumulate, pairwise

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
    """Read what `encode_attributes` wrote; raise StorageError on anything else."""
    try:
        version, count = _HEAD.unpack_from(data)
        if version != FORMAT_VERSION:
            raise StorageError(f"unknown attribute encoding version {version}")
        position = _HEAD.size
        counts = struct.unpack_from(f"<{count}H", data, position)
        position += 2 * count
        total = count + sum(counts)
        lengths = struct.unpack_from(f"<{total}I", data, position)
    except struct.error as exc:
        raise StorageError(f"corrupt attribute data: {exc}") from exc
    bounds = list(accumulate(lengths, initial=position + 4 * total))
    if bounds[-1] != len(data):
        raise StorageError("corrupt attribute data: lengths do not match its size")
    items = [data[start:end] for start, end in pairwise(bounds)]
    try:
        names = [name.decode("utf-8") for name in items[:count]]
    except UnicodeDecodeError as exc:
        raise StorageError(f"corrupt attribute data: {exc}") from exc
    attributes: dict[str, tuple[bytes, ...]] = {}
    first = count
    for name, values in zip(names, counts, strict=True):
        attributes[name] = tuple(items[first : first + values])
        first += values
    return attributes
