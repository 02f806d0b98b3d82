"""`ixidir import` and `ixidir export`: LDIF in and out of the directory."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from itertools import chain
from pathlib import Path

from ixidir.admin.auditing import open_audit_log, record_many
from ixidir.admin.bulkload import bulk_writes
from ixidir.admin.errors import AdminError
from ixidir.admin.heap import loading_heap
from ixidir.admin.initialize import init_dns
from ixidir.admin.legacy import Item, ItemRefused, Notes, clean, plan, write
from ixidir.admin.runtime import Opened, opened
from ixidir.admin.unknowns import DropPolicy, refusal, sift, summary
from ixidir.admin.warmstart import save_snapshot
from ixidir.config import load_config
from ixidir.directory.ports import StorageError
from ixidir.directory.requests import AddRequest
from ixidir.dn import DN
from ixidir.errors import LDAPError
from ixidir.ldif import LdifError, LdifRecord, format_record, parse_ldif, write_ldif

_DROP_NOTHING = DropPolicy()
# The import's page cache (16 KiB pages: 320 MiB at most, as it fills): the ~9,000 pages of
# 100,000 users stay in it, where Firebird's default 256 evicted dirty index pages with a forced
# write each (100,000 synthetic entries in one commit: 28 s with 256 pages, 15 s with 20,000).
IMPORT_CACHE_PAGES = 20_000
READ_CHUNK = 1 << 20  # characters of the file handed to the LDIF reader at a time


def import_ldif(
    data_dir: Path, path: Path, *, rebase: str | None, dry_run: bool, verbose: bool,
    drop: DropPolicy = _DROP_NOTHING,
) -> int:  # fmt: skip
    """Add every entry of the file in one transaction: all or nothing.

    Everything is parsed and checked before anything is written; the first problem is reported
    with its line, DN and reason, and the offending record. `--rebase` also cleans entries from
    another directory, and entries we already hold are skipped or restored (ixidir.admin.legacy).
    Names our schema does not know refuse the file unless `drop` allows them
    (ixidir.admin.unknowns).
    """
    with loading_heap():  # the file's entries all live until the end: nothing to collect
        return _import(data_dir, path, rebase=rebase, dry_run=dry_run, verbose=verbose, drop=drop)


def _import(
    data_dir: Path, path: Path, *, rebase: str | None, dry_run: bool, verbose: bool,
    drop: DropPolicy,
) -> int:  # fmt: skip
    source = str(path)
    try:
        with path.open(encoding="utf-8") as stream:
            chunks = iter(partial(stream.read, READ_CHUNK), "")  # not line by line: 10 % faster
            records = list(parse_ldif(chunks, source=source))
    except LdifError as broken:
        raise AdminError(f"{broken}\nnothing was imported") from None
    except UnicodeDecodeError:
        raise AdminError(_not_utf8(path)) from None
    config = load_config(data_dir)
    base_dn = config.base_dn
    move = _rebaser(rebase, base_dn=base_dn) if rebase else None
    items = [Item(_add_request(record, source, move), record) for record in records]
    notes = Notes()
    with (
        bulk_writes(data_dir, config, dry_run=dry_run) as settle,
        opened(data_dir, cache_pages=IMPORT_CACHE_PAGES) as data,
    ):
        if move is not None:
            schema = data.directory.state.schema
            items = [clean(item, schema=schema, move=move, notes=notes) for item in items]
        sifted = sift(items, schema=data.directory.state.schema, policy=drop)
        if sifted.refused:
            text = path.read_text(encoding="utf-8").splitlines()
            raise AdminError(refusal(sifted.refused, source, text))
        items = sifted.items
        notes.lines.extend(summary(sifted.dropped))
        chosen = plan(items, directory=data.directory, init_dns=init_dns(base_dn),
                      rebase=move is not None, notes=notes)  # fmt: skip
        with _progress(chosen.count, dry_run=dry_run) as tick:
            try:
                count = write(data.directory, data.admin, chosen, dry_run=dry_run, tick=tick)
            except ItemRefused as refused:
                raise ImportRefused(refused.item.record, refused.error, source) from None
        if not dry_run:
            settle()  # on the disk before it is logged and snapshotted
            added = (item.request for item, _ in chosen.replacements)
            changes = chain(added, (item.request for item in chosen.additions))
            record_many(open_audit_log(data_dir, data.config), data.admin, changes)
            _leave_snapshot(data)
    for line in notes.lines:
        sys.stderr.write(f"note: {line}\n")
    if verbose:
        for item in (*(item for item, _ in chosen.replacements), *chosen.additions):
            sys.stdout.write(f'adding new entry "{item.request.dn}"\n')
    done = "checked (dry run, nothing written)" if dry_run else "imported"
    sys.stderr.write(f"{done} {count} entries from {path}\n")
    return 0


def _not_utf8(path: Path) -> str:
    """Where the file stops being UTF-8 (the stream's own error counts within a chunk)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return (
            f"{path}: line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); LDIF is "
            "UTF-8, with binary values in base64 (attr:: ...); nothing was imported"
        )
    return f"{path}: not UTF-8 text; nothing was imported"


def _leave_snapshot(data: Opened) -> None:
    """The imported directory is in memory: keep it, so the next `serve` starts warm. Failing
    to is no error (that start reads Firebird instead)."""
    try:
        save_snapshot(data.data_dir, data.directory, data.store)
    except (ValueError, OSError, StorageError) as exc:
        sys.stderr.write(f"note: no snapshot written for a quick start ({exc})\n")


@contextmanager
def _progress(total: int, *, dry_run: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on standard error while entries are checked, when it is a terminal."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("checking" if dry_run else "checking and writing", total=total)
        yield lambda: progress.advance(task)


class ImportRefused(AdminError):
    """An entry of the file was refused; the message names the line, the DN and the reason."""

    def __init__(self, record: LdifRecord, error: Exception, source: str) -> None:
        reason = str(error)
        if isinstance(error, LDAPError):
            reason = f"{error.result_code.rfc_name} ({int(error.result_code)}): {error.message}"
        text = format_record(record.dn, _grouped(record.attributes))
        super().__init__(
            f"{source}: line {record.line} (dn: {record.dn}): {reason}\n"
            f"nothing was imported; the record:\n{text}"
        )


def _grouped(attributes: Sequence[tuple[str, bytes]]) -> list[tuple[str, list[bytes]]]:
    grouped: dict[str, list[bytes]] = {}
    for name, value in attributes:
        grouped.setdefault(name, []).append(value)
    return list(grouped.items())


def _add_request(record: LdifRecord, source: str, move: Callable[[str], str] | None) -> AddRequest:
    if record.changetype not in (None, "add"):
        raise LdifError(
            f"changetype {record.changetype} is not an entry to import",
            line=record.line,
            dn=record.dn,
            source=source,
        )
    dn = record.dn
    if move is not None:
        try:
            dn = move(record.dn)
        except ValueError as error:
            raise LdifError(str(error), line=record.line, dn=record.dn, source=source) from None
    attributes = tuple((name, tuple(values)) for name, values in _grouped(record.attributes))
    return AddRequest(dn, attributes)


def _rebaser(old_suffix: str, *, base_dn: str) -> Callable[[str], str]:
    """DN rewriting for `--rebase OLD`: `uid=x,ou=people,OLD` becomes `uid=x,ou=people,BASE`.

    Suffixes compare RDN by RDN, case-insensitively (the old directory's own spelling may
    differ from the file's); a DN outside OLD is an error naming it.
    """
    old = DN.parse(old_suffix)
    base = DN.parse(base_dn)
    size = len(old.rdns)
    wanted = [str(rdn).lower() for rdn in old.rdns]

    def move(text: str) -> str:
        dn = DN.parse(text)
        tail = dn.rdns[len(dn.rdns) - size :] if size else ()
        if len(dn.rdns) < size or [str(rdn).lower() for rdn in tail] != wanted:
            raise ValueError(f"{text} is not under --rebase {old_suffix}")
        return str(DN(dn.rdns[: len(dn.rdns) - size] + base.rdns))

    return move


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
