"""The directory's state and write path: validate (callers), commit to the store, apply to memory.

Nothing reaches memory unless the store committed it: a StorageConflict becomes
entryAlreadyExists, any other storage failure unavailable, and memory stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from ixidir.directory.acl import Reader
from ixidir.directory.bindcache import BindCache
from ixidir.directory.dit import DIT, Entry, EntryAttributes
from ixidir.directory.evaluate import FilterCompiler
from ixidir.directory.index import EqualityIndex, KeyLookup
from ixidir.directory.memo import GenerationMemo
from ixidir.directory.numbers import CANONICAL_NUMBER, Routing
from ixidir.directory.operational import SUBSCHEMA_DN
from ixidir.directory.ports import (
    Change,
    DeleteEntry,
    EntryStore,
    EntryWrite,
    NumberConflict,
    PutEntry,
    RekeyEntry,
    StorageConflict,
    StorageError,
    StoredEntry,
)
from ixidir.directory.requests import AccessClass, Principal
from ixidir.directory.settings import DirectorySettings
from ixidir.directory.sharing import SharedValues
from ixidir.dn import DN
from ixidir.errors import (
    EntryAlreadyExists,
    InvalidAttributeSyntax,
    InvalidDNSyntax,
    LDAPError,
    Unavailable,
)
from ixidir.routing import NumberTaken, SiteSettings
from ixidir.schema import Schema

if TYPE_CHECKING:
    from ixidir.directory.ops.search import Plan


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """A checked change, ready for the store: what to commit and what to show in memory after.

    `changed` and `needed` are conflict marks (DN keys, and routing keys as "+digits"): the
    keys this write changes, and the keys whose existence its checks relied on (a new or moved
    entry's parent). Two writes meet when one changes a key the other changes or needs, or
    either is a barrier; a server batches prepared writes that do not meet and prepares the
    others again once the write they meet is applied (server/writes.py). `is_barrier`: the
    write changes the site settings, which re-key every routing number, so nothing else may be
    prepared meanwhile.
    """

    puts: tuple[Entry, ...]
    deleted: tuple[str, ...]
    writes: tuple[EntryWrite, ...]
    changed: frozenset[str] = frozenset()
    needed: frozenset[str] = frozenset()
    is_barrier: bool = False


# DN texts remembered by parse_dn (a client's bases, bind names); cleared when full.
PARSED_DN_CACHE = 4096
# Prepared searches remembered per generation; cleared when full.
MAX_SEARCH_PLANS = 1024


class DirectoryState:
    """Everything the operations share; each `ops/` module is a function over this."""

    def __init__(
        self,
        *,
        schema: Schema,
        store: EntryStore,
        base_dn: str,
        settings: DirectorySettings,
        clock: Callable[[], datetime],
        new_uuid: Callable[[], str],
    ) -> None:
        self.schema = schema
        self.store = store
        self.settings = settings
        self.clock = clock
        self.new_uuid = new_uuid
        self.base_dn = DN.parse(base_dn)
        if not self.base_dn:
            raise InvalidDNSyntax("the base DN must not be empty")
        self.base_key = schema.dn_key(self.base_dn)
        self.admin_dn = DN.parse(settings.admin_dn or f"cn=admin,{base_dn}")
        self.admin_key = schema.dn_key(self.admin_dn)
        self.service_keys = frozenset(
            schema.dn_key(DN.parse(dn)) for dn in settings.service_accounts
        )
        self.password_policy = settings.password_policy()
        self.bind_cache = BindCache()
        self.dit = DIT()
        self.shared_values = SharedValues.for_schema(schema)
        self.defaults_key = schema.dn_key(
            DN.parse(settings.defaults_dn or f"cn=ums-defaults,{base_dn}")
        )
        self.routing = Routing(schema, settings.routing_attributes, describe=self._describe)
        indexed = dict.fromkeys((*settings.indexed_attributes, *self.routing.attributes))
        self.index = EqualityIndex(
            schema,
            indexed,
            rules=self.routing.rules,
            # Ids are entryUUIDs (str); the index is generic over hashable ids.
            keyed_elsewhere=dict.fromkeys(
                self.routing.attributes, cast(KeyLookup, self.routing.candidates)
            ),
        )
        # Operational attributes computed on read; DailyLimits adds the daily counts.
        self.computed: dict[str, Callable[[Entry], Sequence[bytes] | None]] = {
            CANONICAL_NUMBER: self._canonical_numbers
        }
        self.compiler = FilterCompiler(schema, rules=self.routing.rules)
        # Counters shown on the root DSE (ixiAT:12.x); the server adds its answer cache's.
        routing = self.routing.index
        self.statistics: dict[str, Callable[[], int]] = {
            "ixiRoutingLookups": lambda: routing.hits + routing.misses,
            "ixiRoutingHits": lambda: routing.hits,
            "ixiRoutingMisses": lambda: routing.misses,
        }
        self.sequence = 0
        # Bumped by every change applied to memory: caches of answers (the server's fast
        # path) are valid for one generation only.
        self.generation = 0
        # Bumped by the changes a search plan or routing shape depends on: an entry added,
        # deleted or renamed (a search base appears or goes), the site settings written, a
        # load. A modify of a user leaves it: under 20 modifies a second every worker settled
        # its routing shape again after each one (~15 us hot, more with cold caches).
        self.layout = 0
        self._parsed: dict[str, tuple[DN, str]] = {}
        # Prepared searches (ops/search.py): clients repeat a few bases and attribute lists.
        self.search_plans: GenerationMemo[Plan] = GenerationMemo(MAX_SEARCH_PLANS)  # per layout
        self.subschema_key = schema.dn_key(DN.parse(SUBSCHEMA_DN))
        self.operational = frozenset(
            at.name for at in schema.attribute_types.values() if at.is_operational
        )

    # --- names ---
    def parse_dn(self, text: str) -> tuple[DN, str]:
        """A client's DN and its key; InvalidDNSyntax for bad syntax or an unknown type.

        Remembered per text: clients repeat the same base DNs, and parsing costs ~25 µs.
        """
        found = self._parsed.get(text)
        if found is None:
            dn = DN.parse(text)
            found = (dn, self.schema.dn_key(dn))
            if len(self._parsed) >= PARSED_DN_CACHE:
                self._parsed.clear()
            self._parsed[text] = found
        return found

    def key_of(self, dn: DN) -> str:
        return self.schema.dn_key(dn)

    def principal_key(self, principal: Principal) -> str:
        if not principal.dn:
            return ""
        try:
            return self.parse_dn(principal.dn)[1]
        except InvalidDNSyntax:
            return ""

    def reader(self, principal: Principal) -> Reader:
        return Reader(
            principal,
            self_key=self.principal_key(principal),
            anonymous_read=self.settings.anonymous_read,
        )

    def is_admin(self, principal: Principal) -> bool:
        return principal.access is AccessClass.ADMIN

    # --- building entries ---
    def make_entry(
        self, *, uuid: str, dn: DN, dn_key: str, attributes: EntryAttributes, dn_text: str = ""
    ) -> Entry:
        shared = self.shared_values.shared_copy(attributes)
        return Entry(uuid, dn, dn_key, self.schema.parent_key(dn_key), shared, dn_text)

    def from_stored(self, stored: StoredEntry, *, owned: bool = False) -> Entry:
        """The memory form of a stored entry; its DN is parsed only when needed (dit.Entry),
        unless the stored text may differ from the canonical string form. `owned`: the
        attributes are a dict of tuples nobody else holds (EntryStore.load), kept as they are
        (copying them was 0.25 s of a cold start at 100,000 users)."""
        dn: DN | None = None
        text = stored.dn
        if _needs_escaping(text):
            dn = DN.parse(text)
            text = str(dn)
        if owned:
            attributes = cast(dict[str, tuple[bytes, ...]], stored.attributes)
        else:
            attributes = {name: tuple(values) for name, values in stored.attributes.items()}
        self.shared_values.share_in_place(attributes)
        key = stored.dn_key
        if key == text:
            key = text  # one string object for both (most DNs are written in their key form)
        return Entry(stored.uuid, dn, key, self.schema.parent_key(key), attributes, text)

    # --- the write path ---
    def write(self, puts: Sequence[Entry] = (), deletes: Sequence[Entry] = ()) -> None:
        """One store transaction for every put and delete, then the same change in memory.

        The synchronous path (the CLI, imports): `prepare_write`, the store's commit on this
        thread, `apply_write`. A server instead commits prepared writes on its writer thread
        and applies them on its event loop when the commit returns (DESIGN.md "The event loop
        never waits").
        """
        prepared = self.prepare_write(puts, deletes)
        try:
            sequence = self.store.commit(prepared.writes)
        except StorageError as exc:
            raise self.refusal(exc) from exc
        self.apply_write(prepared, sequence)

    def prepare_write(
        self, puts: Sequence[Entry] = (), deletes: Sequence[Entry] = ()
    ) -> PreparedWrite:
        """The store writes for a change, checked against memory; memory is not touched.

        Routing numbers are checked first: a number held by another entry is refused
        (constraintViolation naming the holder) before anything is written. Memory may not
        know yet what another process committed, so each put also hands its keys to the store,
        whose unique key is the last word (NumberConflict, translated by `refusal`).
        """
        keys = self.routing.check((entry.uuid, entry.attributes) for entry in puts)
        writes: list[EntryWrite] = [PutEntry(_stored(entry), keys[entry.uuid]) for entry in puts]
        rekeys = self._rekeys(puts)
        writes.extend(rekeys)
        writes.extend(DeleteEntry(entry.uuid) for entry in deletes)
        changed: set[str] = set()
        needed: set[str] = set()
        for entry in deletes:
            changed.update((entry.dn_key, *_number_marks(self.routing.index.keys_of(entry.uuid))))
            needed.add(entry.parent_key)  # its parent's children change
        for entry in puts:
            changed.update((entry.dn_key, *_number_marks(keys[entry.uuid])))
            changed.update(_number_marks(self.routing.index.keys_of(entry.uuid)))
            before = self.dit.by_uuid(entry.uuid)
            if before is None or before.dn_key != entry.dn_key:
                needed.add(entry.parent_key)  # created or moved: its parent must exist
            if before is not None and before.dn_key != entry.dn_key:
                changed.update((before.dn_key, before.parent_key))
        is_barrier = bool(rekeys) or self.defaults_key in changed
        return PreparedWrite(
            puts=tuple(puts),
            deleted=tuple(entry.uuid for entry in deletes),
            writes=tuple(writes),
            changed=frozenset(changed),
            needed=frozenset(needed),
            is_barrier=is_barrier,
        )

    def refusal(self, exc: StorageError) -> LDAPError:
        """The result a store's refusal of a write gives the client."""
        if isinstance(exc, NumberConflict):
            holder = exc.holder_dn or self._describe(exc.holder_uuid or "another entry")
            return NumberTaken(
                f"telephone number +{exc.key} already routes to {holder}",
                key=exc.key,
                holder=exc.holder_uuid,
            )
        if isinstance(exc, StorageConflict):
            return EntryAlreadyExists(f"entry already exists ({exc})")
        return Unavailable("the directory store is unavailable; nothing was changed")

    def apply_write(self, prepared: PreparedWrite, sequence: int) -> None:
        """Show a committed prepared write (changelog `sequence`) in memory."""
        self._apply(prepared.puts, prepared.deleted)
        # Only advance when nothing from another process came in between; otherwise the
        # follower's apply_changes replays from the gap (applying our own change again is a no-op).
        if sequence == self.sequence + 1:
            self.sequence = sequence

    def _rekeys(self, puts: Sequence[Entry]) -> list[RekeyEntry]:
        """When a put changes the site settings, the store's keys of every other entry whose
        numbers now canonicalize differently (national and local forms)."""
        site = None
        for entry in puts:
            if entry.dn_key == self.defaults_key:
                try:
                    site = SiteSettings.from_attributes(entry.attributes)
                except InvalidAttributeSyntax:
                    return []  # the write is refused on its own; nothing to re-key
        if site is None or site == self.routing.site:
            return []
        written = {entry.uuid for entry in puts}
        rekeys = []
        for uuid, keys in self.routing.keys_under(site, self.dit.entries()):
            if uuid not in written and keys != self.routing.index.keys_of(uuid):
                rekeys.append(RekeyEntry(uuid, keys))
        return rekeys

    def apply_changes(self, changes: Iterable[Change]) -> int:
        """Apply other processes' committed changes in sequence order; returns how many."""
        applied = 0
        for change in sorted(changes, key=lambda c: c.sequence):
            if change.sequence <= self.sequence:
                continue
            self._apply([self.from_stored(s) for s in change.puts], change.deleted)
            self.sequence = change.sequence
            applied += 1
        return applied

    def _apply(self, puts: Iterable[Entry], deleted: Iterable[str]) -> None:
        self.generation += 1
        deleted = tuple(deleted)
        relaid = bool(deleted)
        for uuid in deleted:
            old = self.dit.remove(uuid)
            if old is not None:
                self.index.remove(uuid, old.attributes)
            self.routing.remove(uuid)
        fresh: dict[str, Entry] = {}  # indexed together: add_many normalizes repeats once
        for entry in puts:
            if entry.dn_key == self.defaults_key:
                relaid = True
                self.configure_site(entry.attributes)
            previous = self.dit.put(entry)
            relaid = relaid or previous is None or previous.dn_key != entry.dn_key
            if previous is None or fresh.pop(entry.uuid, None) is not None:
                fresh[entry.uuid] = entry
            else:
                self.index.replace(entry.uuid, previous.attributes, entry.attributes)
            self.routing.apply(entry.uuid, entry.attributes)
        self.index.add_many((entry.uuid, entry.attributes) for entry in fresh.values())
        if relaid:
            self.layout += 1

    def configure_site(self, attributes: EntryAttributes) -> None:
        """New site settings re-key every routing number (national forms depend on them)."""
        try:
            site = SiteSettings.from_attributes(attributes)
        except InvalidAttributeSyntax:
            return  # writes of the defaults entry are validated; a follower keeps what it had
        if not self.routing.configure(site):
            return
        entries = [(entry.uuid, entry.attributes) for entry in self.dit.entries()]
        for name, rule in self.routing.rules.items():
            self.index.reindex(name, rule, entries)
        self.compiler.rules = self.routing.rules
        self.routing.rebuild(entries)

    def _canonical_numbers(self, entry: Entry) -> tuple[bytes, ...] | None:
        """ixiCanonicalNumber: the E.164 digits every routing number of the entry has."""
        keys = self.routing.index.keys_of(entry.uuid)
        return tuple(key.encode("ascii") for key in sorted(keys)) or None

    def _describe(self, uuid: str) -> str:
        entry = self.dit.by_uuid(uuid)
        return str(entry.dn) if entry is not None else uuid

    def route(self, number: str) -> Entry | None:
        """The entry an inbound number reaches, in any formatting (O(1))."""
        uuid = self.routing.route(number)
        return None if uuid is None else self.dit.by_uuid(uuid)

    def load(self) -> int:
        """Fill memory from the store; the sequence is read first so no change is missed."""
        self.sequence = self.store.last_sequence()
        entries = [self.from_stored(stored, owned=True) for stored in self.store.load()]
        # The site settings first, so routing numbers are keyed once, not re-keyed later.
        for entry in entries:
            if entry.dn_key == self.defaults_key:
                self.configure_site(entry.attributes)
        self.generation += 1
        self.layout += 1
        for entry in entries:
            self.dit.put(entry)
        pairs = [(entry.uuid, entry.attributes) for entry in entries]
        self.index.add_many(pairs, defer_values=True)  # value tables at first use
        self.routing.rebuild(pairs)
        return len(entries)


def _number_marks(keys: Iterable[str]) -> set[str]:
    """Routing keys as conflict marks; "+" keeps them apart from DN keys."""
    return {"+" + key for key in keys}


def _needs_escaping(text: str) -> bool:
    """Whether a stored DN text may differ from our canonical string form (escapes, spaces)."""
    return "\\" in text or ", " in text or " ," in text or "= " in text or " =" in text


def _stored(entry: Entry) -> StoredEntry:
    attributes = {name: list(values) for name, values in entry.attributes.items()}
    return StoredEntry(
        uuid=entry.uuid, dn=entry.dn_text, dn_key=entry.dn_key, attributes=attributes
    )
