"""`ixidir import` and `ixidir export`: LDIF in and out of the directory."""

from __future__ import annotations

import sys
from pathlib import Path

from ixidir.admin.runtime import opened
from ixidir.directory.requests import AddRequest
from ixidir.ldif import LdifError, parse_ldif, write_ldif


def import_ldif(
    data_dir: Path, path: Path, *, rebase: str | None, dry_run: bool, verbose: bool
) -> int:
    """Add every entry of the file, all or nothing (one transaction)."""
    with path.open(encoding="utf-8") as stream:
        records = list(parse_ldif(stream, source=str(path)))
    requests: list[AddRequest] = []
    for record in records:
        if record.changetype not in (None, "add"):
            raise LdifError(
                f"changetype {record.changetype} is not an entry to import",
                line=record.line,
                dn=record.dn,
                source=str(path),
            )
        grouped: dict[str, list[bytes]] = {}
        for name, value in record.attributes:
            grouped.setdefault(name, []).append(value)
        requests.append(AddRequest(record.dn, tuple((k, tuple(v)) for k, v in grouped.items())))
    with opened(data_dir) as data:
        for record, request in zip(records, requests, strict=True):
            data.directory.add(data.admin, request, import_mode=True)
            if verbose:
                sys.stdout.write(f'adding new entry "{record.dn}"\n')
    sys.stderr.write(f"imported {len(requests)} entries from {path}\n")
    return 0


def export_ldif(data_dir: Path, output: Path | None) -> int:
    """Write every entry, parents before children, with its stored operational attributes.

    Stored operational attributes (entryUUID, createTimestamp, creatorsName, ...) are included so
    that `ixidir import` (which keeps them) reproduces the directory exactly.
    """
    with opened(data_dir) as data:
        state = data.directory.state
        records = [
            (str(entry.dn), sorted(entry.attributes.items(), key=_attribute_order))
            for entry in state.dit.subtree(state.base_key)
        ]
    if output is None:
        write_ldif(records, sys.stdout)
    else:
        with output.open("w", encoding="utf-8") as out:
            write_ldif(records, out)
    return 0


def _attribute_order(item: tuple[str, object]) -> tuple[int, str]:
    """objectClass first, then user attributes, operational ones last, each group by name."""
    name = item[0]
    if name == "objectClass":
        return (0, "")
    return (2 if name in _OPERATIONAL else 1, name.lower())


_OPERATIONAL = frozenset(
    {
        "structuralObjectClass",
        "entryUUID",
        "creatorsName",
        "createTimestamp",
        "modifiersName",
        "modifyTimestamp",
    }
)
