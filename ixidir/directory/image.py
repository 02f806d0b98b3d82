"""A memory image: the directory's in-memory state as plain values, to start from without the store.

A cold start reads every entry from the store and builds the DIT and indexes (8.9 s at 100,000
users, most of it fetching rows and normalizing values). An image taken at changelog sequence S
holds the result; restoring it and replaying the changes after S gives the same state (replay
applies each changed entry's current row, as a follower does). The values are builtins only
(str, bytes, tuples, dicts, sets), so an adapter can serialize them with `marshal`
(ixidir.storage.snapshot). Whether an image fits this store and code is the adapter's question.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ixidir.directory.dit import Entry
from ixidir.directory.state import DirectoryState

IMAGE_FORMAT = 2  # 2: presence of attributes with a value table is their buckets


def capture(state: DirectoryState) -> dict[str, Any]:
    """The state as builtins; the index tables are shared, so serialize before the next write."""
    entries, children = state.dit.export()
    values, present, unreadable = state.index.export()
    return {
        "format": IMAGE_FORMAT,
        "sequence": state.sequence,
        "entries": [
            (entry.uuid, entry.dn_text, entry.dn_key, entry.parent_key, dict(entry.attributes))
            for entry in entries
        ],
        "children": children,
        "values": values,
        "present": present,
        "unreadable": unreadable,
        "owners": state.routing.index.export(),
        "irregular": set(state.routing.irregular),
        "memo": state.routing.memo,
    }


def restore(state: DirectoryState, image: Mapping[str, Any]) -> int:
    """Fill a fresh (never loaded) state from `capture` output; returns the entry count.

    ValueError when the image has another format or other indexed attributes; the state is
    then unusable and the caller loads from the store into a new one.
    """
    if image.get("format") != IMAGE_FORMAT:
        raise ValueError(f"memory image format {image.get('format')!r} is not {IMAGE_FORMAT}")
    entries = [
        Entry(uuid, None, key, parent, attributes, text)
        for uuid, text, key, parent, attributes in image["entries"]
    ]
    for entry in entries:
        if entry.dn_key == state.defaults_key:
            state.configure_site(entry.attributes)  # routing rules first, on an empty index
    state.dit.restore(entries, image["children"])
    state.index.restore(image["values"], image["present"], image["unreadable"])
    state.routing.index.restore(image["owners"])
    state.routing.irregular = set(image["irregular"])
    state.routing.memo.update(image["memo"])
    state.sequence = int(image["sequence"])
    state.generation += 1
    state.layout += 1
    return len(entries)
