"""The routing lane (DESIGN.md fast path): a routing search answered from pre-encoded entries.

`Directory.lookup` settles the connector's search by telephone number from the indexes; each
entry it finds keeps its encoded SearchResultEntry per presentation (attribute list, secrets
hidden or not, typesOnly) in `Entry.memo`, made on first use. A write replaces the entry and
so drops what it kept. A search nobody sent before thus costs the request's decoding, one
canonicalization and dictionary look-ups. Sans-IO: no Twisted here.
"""

from __future__ import annotations

from ixidir.directory.dit import Entry
from ixidir.directory.ops.lookup import Found
from ixidir.directory.requests import Principal, SearchRequest, SearchResultEntry
from ixidir.errors import ResultCode
from ixidir.server.codec import entry_operation, result_operation
from ixidir.server.facade import Directory
from ixidir.server.messages import Result, ResultKind

SUCCESS_DONE = result_operation(Result(ResultKind.SEARCH_DONE, ResultCode.SUCCESS))
# Presentations an entry keeps at most (a client cycling attribute lists starts it afresh).
MAX_FORMS = 8


def answer(
    directory: Directory, principal: Principal, request: SearchRequest
) -> tuple[bytes, ...] | None:
    """The encoded protocolOps answering `request`, or None when the general search must."""
    found = directory.lookup(principal, request)
    if found is None:
        return None
    return (*(_entry_operation(directory, found, entry) for entry in found.entries), SUCCESS_DONE)


def _entry_operation(directory: Directory, found: Found, entry: Entry) -> bytes:
    key = ("lane", found.form)
    operation = entry.recall(key)
    if isinstance(operation, bytes):
        return operation
    encoded = entry_operation(SearchResultEntry(entry.dn_text, directory.present(found, entry)))
    entry.remember(key, encoded, limit=MAX_FORMS)
    return encoded
