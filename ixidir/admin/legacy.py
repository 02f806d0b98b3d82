"""Entries from another or an older directory: cleaning for `--rebase`, and what an import does
with entries we already hold (skip, keep ours, or restore a backup over `init`'s entries).

Rules (issue 5, decided here):
- `--rebase OLD`: every DN and every DN-valued attribute value under OLD moves under our base
  (creatorsName, manager, member, seeAlso, ...); the old server's own bookkeeping (entryCSN,
  contextCSN, structuralObjectClass, ...) is dropped silently; attributes, object classes and
  options our schema does not know refuse the import unless the administrator drops them
  (issue 9, ixidir.admin.unknowns). entryUUID, createTimestamp, creatorsName, modifyTimestamp
  and modifiersName are kept, so the history survives. An entry whose new DN we already hold
  is skipped (and said so) when it is our base, our administrator or a container without
  person data (ou=people, the old suffix); any other clash is an error, as without --rebase.
- Without `--rebase`, an entry identical to ours (same user attributes) is skipped, so importing
  a file twice is harmless. Restoring a backup: when the directory holds nothing but the
  entries `ixidir init` made and the file holds our base entry, the file's versions of those
  entries replace init's (its administrator password, site settings and templates included), so
  an export re-imported into a new directory exports identically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from ixidir.directory.directory import Directory
from ixidir.directory.dit import Entry
from ixidir.directory.operational import COMPUTED
from ixidir.directory.ops.add import build_new_entry, prepare_add
from ixidir.directory.ops.attributes import Working, add_rdn_values, protect_secrets, resolve
from ixidir.directory.requests import AddRequest, Principal
from ixidir.dn import DN
from ixidir.errors import InvalidDNSyntax, LDAPError
from ixidir.ldif import LdifRecord
from ixidir.schema import Schema

# The old server's bookkeeping: meaningless here or recomputed by us (RFC 4533 CSNs, RFC 4512
# structuralObjectClass, OpenLDAP's numSubordinates, our own routing keys).
OLD_SERVER_OWNED = frozenset(
    {"entrycsn", "contextcsn", "structuralobjectclass", "numsubordinates", "ixicanonicalnumber"}
    | {name.lower() for name in COMPUTED}
)
# RFC 4517 §3.3.9 DN and §3.3.21 Name and Optional UID (`dn#'0101'B`).
DN_SYNTAXES = ("1.3.6.1.4.1.1466.115.121.1.12", "1.3.6.1.4.1.1466.115.121.1.34")
PERSON = "person"
RESTORING = (
    "restoring into a new directory: the file's entries replace those `ixidir init` made "
    "(its administrator password, site settings and templates apply)"
)
USER_CLASS = "ixiUmsUser"


@dataclass(frozen=True, slots=True)
class Item:
    """One entry to import and the record it came from (errors quote the record)."""

    request: AddRequest
    record: LdifRecord
    # The request's DN and key once `plan` has parsed them (an add then need not again).
    parsed: tuple[DN, str] | None = None


@dataclass(slots=True)
class Notes:
    """What the import did besides adding, each said once (printed on standard error)."""

    lines: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def once(self, key: str, text: str) -> None:
        if key not in self._seen:
            self._seen.add(key)
            self.lines.append(text)


class ItemRefused(Exception):
    """`item` was refused for `error`; nothing was written."""

    def __init__(self, item: Item, error: LDAPError) -> None:
        super().__init__(str(error))
        self.item = item
        self.error = error


# --- cleaning for --rebase ---
def clean(item: Item, *, schema: Schema, move: Callable[[str], str], notes: Notes) -> Item:
    """The entry without the old server's bookkeeping, with DN values under the old suffix
    moved; names our schema does not know are left for ixidir.admin.unknowns to judge."""
    kept: list[tuple[str, tuple[bytes, ...]]] = []
    for name, values in item.request.attributes:
        base_name = name.split(";", 1)[0]
        at = schema.find_attribute(base_name)
        if name.lower() in OLD_SERVER_OWNED or base_name.lower() in OLD_SERVER_OWNED:
            notes.once(f"owned:{base_name.lower()}", f"dropped the old server's {base_name}")
        elif at is not None and ";" not in name and at.syntax.oid in DN_SYNTAXES:
            kept.append((name, tuple(_moved(value, move) for value in values)))
        else:
            kept.append((name, values))
    return Item(AddRequest(item.request.dn, tuple(kept)), item.record)


def _moved(value: bytes, move: Callable[[str], str]) -> bytes:
    """A DN value moved under our base when it was under the old suffix; others as they are."""
    text = value.decode("utf-8", "replace")
    dn_text, sep, uid = text.partition("#")
    try:
        moved = move(dn_text)
    except (ValueError, InvalidDNSyntax):
        return value
    return (moved + sep + uid).encode("utf-8")


# --- entries we already hold ---
@dataclass(frozen=True, slots=True)
class Plan:
    """What to write: new entries, and (restoring a backup) init's entries to replace."""

    additions: list[Item]
    replacements: list[tuple[Item, Entry]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.additions) + len(self.replacements)


def plan(
    items: Sequence[Item], *, directory: Directory, init_dns: Iterable[str], rebase: bool,
    notes: Notes,
) -> Plan:  # fmt: skip
    """Sort the items into additions, skips (noted) and restore replacements."""
    state = directory.state
    init_keys = {state.key_of(DN.parse(dn)) for dn in init_dns}
    keyed = [_parsed(directory, item) for item in items]
    existing = dict(_held(directory, keyed))
    is_fresh = all(entry.dn_key in init_keys for entry in state.dit.entries())
    if not rebase and is_fresh and state.base_key in existing:
        notes.once("restore", RESTORING)
        replacements = [(item, existing[key]) for item, key in keyed if key in existing]
        return Plan([item for item, key in keyed if key not in existing], replacements)
    additions = []
    for item, key in keyed:
        held = existing.get(key)
        if held is None:
            additions.append(item)
        elif _is_same(directory.state.schema, item, held):
            notes.once(f"same:{held.dn_key}", f"skipped {item.request.dn}: already here, unchanged")
        elif rebase and _is_ours(directory, held, init_keys):
            notes.once(f"ours:{held.dn_key}", f"skipped {item.request.dn}: kept ours")
        else:
            additions.append(item)  # refused by the add as entryAlreadyExists, line and DN named
    return Plan(additions)


def _parsed(directory: Directory, item: Item) -> tuple[Item, str]:
    """The item with its DN parsed, and its key ("" when the DN is bad)."""
    try:
        parsed = directory.state.parse_dn(item.request.dn)
    except LDAPError:
        return item, ""  # the add names the bad DN with its line
    return replace(item, parsed=parsed), parsed[1]


def _held(directory: Directory, keyed: Iterable[tuple[Item, str]]) -> Iterable[tuple[str, Entry]]:
    """The entries we hold under the items' keys (each item's DN parsed once, by `plan`)."""
    for _, key in keyed:
        entry = directory.state.dit.get(key) if key else None
        if entry is not None:
            yield key, entry


def _is_ours(directory: Directory, held: Entry, init_keys: set[str]) -> bool:
    """Our base, administrator or defaults, or a container without person data."""
    if held.dn_key in init_keys:
        return True
    schema = directory.state.schema
    for value in held.attributes.get("objectClass", ()):
        oc = schema.find_object_class(value.decode("utf-8", "replace"))
        if oc is not None and (PERSON in oc.superclasses or oc.name == USER_CLASS):
            return False
    return True


def _is_same(schema: Schema, item: Item, held: Entry) -> bool:
    """Same user attributes, values compared as stored (objectClass names in any case)."""
    wanted: dict[str, set[bytes]] = {}
    for name, values in item.request.attributes:
        at = schema.find_attribute(name)
        if at is None:
            return False
        if not at.is_operational:
            wanted.setdefault(at.name, set()).update(_folded(at.name, values))
    have = {name: set(_folded(name, values)) for name, values in held.attributes.items()
            if not schema.attribute(name).is_operational}  # fmt: skip
    return wanted == have


def _folded(name: str, values: Iterable[bytes]) -> Iterable[bytes]:
    return (v.lower() for v in values) if name == "objectClass" else values


# --- writing ---
def write(
    directory: Directory, principal: Principal, chosen: Plan, *, dry_run: bool,
    tick: Callable[[], None] = lambda: None,
) -> int:  # fmt: skip
    """All or nothing: every entry checked as an add checks it (entries before it in the file
    count as existing), then one store transaction; `dry_run` writes nothing."""
    state = directory.state
    puts: dict[str, Entry] = {}
    items: list[Item] = []
    for item, held in chosen.replacements:
        try:
            puts[held.dn_key] = _replacement(directory, principal, item, held)
        except LDAPError as error:
            raise ItemRefused(item, error) from error
        items.append(item)
        tick()
    for item in chosen.additions:
        try:
            entry = prepare_add(state, principal, item.request, import_mode=True, pending=puts,
                                parsed=item.parsed)  # fmt: skip
        except LDAPError as error:
            raise ItemRefused(item, error) from error
        puts[entry.dn_key] = entry
        items.append(item)
        tick()
    entries = list(puts.values())
    try:
        if dry_run:
            state.routing.check((entry.uuid, entry.attributes) for entry in entries)
        else:
            state.write(puts=entries)
    except LDAPError as error:
        raise ItemRefused(items[_culprit(directory, entries, error)], error) from error
    return len(entries)


def _replacement(directory: Directory, principal: Principal, item: Item, held: Entry) -> Entry:
    """The file's entry in place of init's: same store identity, the file's attributes
    (entryUUID, timestamps) as an import keeps them."""
    state = directory.state
    dn, key = state.parse_dn(item.request.dn)
    attributes: Working = {}
    for name, values in item.request.attributes:
        at = resolve(state, name)
        if at.name not in COMPUTED:
            attributes.setdefault(at.name, []).extend(values)
    add_rdn_values(state, dn, attributes)
    protect_secrets(state, attributes)
    entry = build_new_entry(state, principal, dn, key, attributes)
    return entry.with_uuid(held.uuid)


def _culprit(directory: Directory, entries: Sequence[Entry], error: LDAPError) -> int:
    """The entry holding the number the refusal names (the database may know a holder memory
    does not), else the first whose routing number another holds, or an earlier entry of the
    file."""
    routing = directory.state.routing
    named = routing.claimant(error, ((entry.uuid, entry.attributes) for entry in entries))
    if named is not None:
        return named
    claimed: dict[str, str] = {}
    for index, entry in enumerate(entries):
        try:
            keys = routing.keys(entry.attributes)
            routing.index.check(entry.uuid, keys)
        except LDAPError:
            return index
        if any(claimed.setdefault(key, entry.uuid) != entry.uuid for key in keys):
            return index
    return max(len(entries) - 1, 0)
