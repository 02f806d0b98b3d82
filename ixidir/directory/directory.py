"""The directory facade: the one object the server and the admin tools call.

Every method delegates to its operation module under `ops/`; this class only wires the state.
Synchronous and pure: time (`clock`) and identifiers (`new_uuid`) are injected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ixidir.directory import image
from ixidir.directory.dit import Entry
from ixidir.directory.lockout import BindThrottles, throttles
from ixidir.directory.ops import add as add_op
from ixidir.directory.ops import bind as bind_op
from ixidir.directory.ops import compare as compare_op
from ixidir.directory.ops import delete as delete_op
from ixidir.directory.ops import lookup as lookup_op
from ixidir.directory.ops import modify as modify_op
from ixidir.directory.ops import modrdn as modrdn_op
from ixidir.directory.ops import password as password_op
from ixidir.directory.ops import search as search_op
from ixidir.directory.ops.attributes import cleartext_secrets
from ixidir.directory.ops.bind import BindCheck
from ixidir.directory.ops.compare import SecretCheck
from ixidir.directory.ops.lookup import Shape
from ixidir.directory.ops.password import PasswordChange
from ixidir.directory.ops.selection import Selected
from ixidir.directory.passwords import Cleartext, SecretHashes
from ixidir.directory.pins import (
    PinCheck,
    PinResult,
    ResetPlan,
    begin_verify_pin,
    plan_reset,
    reset_entry,
    reset_voicemail,
    settle_pin,
    verify_pin,
)
from ixidir.directory.ports import Change, EntryStore, StorageError
from ixidir.directory.requests import (
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Principal,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.settings import DirectorySettings
from ixidir.directory.state import DirectoryState, PreparedWrite
from ixidir.errors import LDAPError
from ixidir.schema import Schema

__all__ = ["Directory", "DirectorySettings", "LoadCounts"]


@dataclass(frozen=True, slots=True)
class LoadCounts:
    entries: int
    sequence: int


class Directory:
    """An LDAP directory in memory over an `EntryStore`."""

    def __init__(
        self,
        *,
        schema: Schema,
        store: EntryStore,
        base_dn: str,
        settings: DirectorySettings | None = None,
        clock: Callable[[], datetime],
        new_uuid: Callable[[], str],
    ) -> None:
        self.state = DirectoryState(
            schema=schema,
            store=store,
            base_dn=base_dn,
            settings=settings or DirectorySettings(),
            clock=clock,
            new_uuid=new_uuid,
        )

    def load(self) -> LoadCounts:
        """Build the DIT and indexes from the store (call once, before serving)."""
        count = self.state.load()
        return LoadCounts(entries=count, sequence=self.state.sequence)

    def capture_image(self) -> dict[str, Any]:
        """The memory as plain values at `sequence` (ixidir.directory.image); serialize it
        before the next change."""
        return image.capture(self.state)

    def restore_image(self, memory: Mapping[str, Any]) -> LoadCounts:
        """Start from a captured image instead of `load` (call once, on a fresh directory),
        then apply `changes_since(sequence)` from the store; ValueError when it does not fit."""
        count = image.restore(self.state, memory)
        return LoadCounts(entries=count, sequence=self.state.sequence)

    @property
    def sequence(self) -> int:
        """The last changelog sequence applied to memory (followers pass it to changes_since)."""
        return self.state.sequence

    @property
    def generation(self) -> int:
        """Changes with every write applied to memory (own or another process's)."""
        return self.state.generation

    @property
    def layout(self) -> int:
        """Changes with every write that may change a search plan or routing shape: an add,
        delete or rename, the site settings (DirectoryState.layout)."""
        return self.state.layout

    def apply_changes(self, changes: Iterable[Change]) -> int:
        """Apply changes other processes committed; idempotent by sequence."""
        return self.state.apply_changes(changes)

    def route(self, number: str) -> Entry | None:
        """The entry an inbound number routes to, in any formatting; None when none does."""
        return self.state.route(number)

    def bind(self, dn: str, password: bytes) -> Principal:
        return bind_op.bind(self.state, dn, password)

    def who_am_i(self, principal: Principal) -> str:
        return bind_op.who_am_i(principal)

    def begin_bind(self, dn: str, password: bytes) -> Principal | BindCheck:
        """A bind without its hashing: run `check.verify()` anywhere, then `finish_bind`."""
        return bind_op.begin_bind(self.state, dn, password)

    def finish_bind(self, check: BindCheck, matched: bytes | None) -> Principal:
        return bind_op.finish_bind(self.state, check, matched)

    def bind_throttles(self) -> BindThrottles:
        """The bind lockout and address throttle set on the defaults entry (lockout.py)."""
        entry = self.state.dit.get(self.state.defaults_key)
        return throttles({} if entry is None else entry.attributes)

    # --- writes in two steps (a server commits them on its writer thread) ---
    def cleartext_secrets(self, request: AddRequest | ModifyRequest) -> Cleartext | None:
        """What to hash (`compute()`, on a thread) before preparing the write."""
        if isinstance(request, AddRequest):
            return cleartext_secrets(self.state, request.attributes)
        written = (ModOp.ADD, ModOp.REPLACE)
        values = [(c.attr, c.values) for c in request.changes if c.operation in written]
        return cleartext_secrets(self.state, values)

    def prepare_add(
        self, principal: Principal, request: AddRequest, hashes: SecretHashes | None = None
    ) -> PreparedWrite:
        """Check an add against memory; commit `writes`, then `apply_write` (state.py)."""
        entry = add_op.prepare_add(self.state, principal, request, hashes=hashes)
        return self.state.prepare_write(puts=[entry])

    def prepare_modify(
        self, principal: Principal, request: ModifyRequest, hashes: SecretHashes | None = None
    ) -> PreparedWrite:
        entry = modify_op.modified_entry(self.state, principal, request, hashes)
        return self.state.prepare_write(puts=[entry])

    def prepare_delete(self, principal: Principal, dn: str) -> PreparedWrite:
        entry = delete_op.deleted_entry(self.state, principal, dn)
        return self.state.prepare_write(deletes=[entry])

    def prepare_modify_dn(self, principal: Principal, request: ModifyDNRequest) -> PreparedWrite:
        entries = modrdn_op.renamed_entries(self.state, principal, request)
        return self.state.prepare_write(puts=entries)

    def write_prepared(self, prepared: PreparedWrite) -> None:
        """Commit on this thread and apply: the synchronous path for a prepared write."""
        if not prepared.writes:
            return
        try:
            sequence = self.state.store.commit(prepared.writes)
        except StorageError as exc:
            raise self.state.refusal(exc) from exc
        self.state.apply_write(prepared, sequence)

    def apply_write(self, prepared: PreparedWrite, sequence: int) -> None:
        """Show a write committed elsewhere (the writer thread) as changelog `sequence`."""
        self.state.apply_write(prepared, sequence)

    def refusal(self, error: StorageError) -> LDAPError:
        """What a client is told when the store refused its write."""
        return self.state.refusal(error)

    def search(
        self,
        principal: Principal,
        request: SearchRequest,
        *,
        now: Callable[[], float] | None = None,
    ) -> Iterator[SearchResultEntry]:
        return search_op.search(self.state, principal, request, now=now)

    def routing_shape(self, principal: Principal, request: SearchRequest) -> Shape | None:
        """The shape of a routing search (ops.lookup), valid for this generation; None: the
        general search answers requests of that shape."""
        return lookup_op.shape_of(self.state, principal, request)

    def is_number_attribute(self, attr: str) -> bool:
        """Whether an equality on `attr` looks up a number in the routing index."""
        return lookup_op.number_attribute(self.state, attr)

    def find(self, shape: Shape, value: bytes) -> tuple[Entry, ...] | None:
        """The entries a routing search of `shape` for the number `value` returns, or None."""
        return lookup_op.find(self.state, shape, value)

    def present(self, shape: Shape, entry: Entry) -> Selected:
        """The attributes `entry` returns for the routing search that found it."""
        return lookup_op.present(self.state, shape, entry)

    def add(self, principal: Principal, request: AddRequest, *, import_mode: bool = False) -> None:
        add_op.add(self.state, principal, request, import_mode=import_mode)

    def add_many(
        self,
        principal: Principal,
        requests: Iterable[AddRequest],
        *,
        import_mode: bool = False,
        dry_run: bool = False,
    ) -> int:
        """Add a batch in one transaction, all or nothing; raises ops.add.BatchError."""
        return add_op.add_many(
            self.state, principal, requests, import_mode=import_mode, dry_run=dry_run
        )

    def modify(self, principal: Principal, request: ModifyRequest) -> None:
        modify_op.modify(self.state, principal, request)

    def delete(self, principal: Principal, dn: str) -> None:
        delete_op.delete(self.state, principal, dn)

    def modify_dn(self, principal: Principal, request: ModifyDNRequest) -> None:
        modrdn_op.modify_dn(self.state, principal, request)

    def compare(self, principal: Principal, dn: str, attr: str, value: bytes) -> bool:
        return compare_op.compare(self.state, principal, dn, attr, value)

    def begin_compare(
        self, principal: Principal, dn: str, attr: str, value: bytes
    ) -> bool | PinCheck | SecretCheck:
        """`compare` without hashing: a PIN check goes on as `settle_pin`, a SecretCheck's
        `verify()` is the answer."""
        return compare_op.begin_compare(self.state, principal, dn, attr, value)

    def password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> bytes | None:
        """RFC 3062; returns the generated password when `new` is None."""
        return password_op.password_modify(self.state, principal, user, old, new)

    def begin_password_modify(
        self, principal: Principal, user: str | None, old: bytes | None, new: bytes | None
    ) -> PasswordChange:
        """`password_modify` without hashing: run `change.compute()` anywhere, then
        `prepare_password` with its result."""
        return password_op.begin_password_modify(self.state, principal, user, old, new)

    def prepare_password(
        self, principal: Principal, change: PasswordChange, hashed: bytes
    ) -> PreparedWrite:
        entry = password_op.changed_entry(self.state, principal, change, hashed)
        return self.state.prepare_write(puts=[entry])

    def verify_pin(self, principal: Principal, user_dn: str, pin: bytes) -> PinResult:
        """Check a voice-mailbox PIN, counting failures and locking (admin and services)."""
        return verify_pin(self.state, principal, user_dn, pin, now=self.state.clock())

    def begin_verify_pin(
        self, principal: Principal, user_dn: str, pin: bytes
    ) -> PinResult | PinCheck:
        """`verify_pin` without hashing: run `check.verify()` anywhere, then `settle_pin`."""
        return begin_verify_pin(self.state, principal, user_dn, pin, now=self.state.clock())

    def settle_pin(self, check: PinCheck, matched: bool) -> tuple[PinResult, Entry | None]:
        """The answer and the mailbox's new failure count to write (None: nothing to write)."""
        return settle_pin(self.state, check, matched, now=self.state.clock())

    def prepare_puts(self, entries: Sequence[Entry]) -> PreparedWrite:
        """Check server bookkeeping (PIN failure counts) like any write; nothing for none."""
        return self.state.prepare_write(puts=entries)

    def plan_reset_voicemail(
        self,
        principal: Principal,
        user_dn: str,
        *,
        new_pin: bool,
        unlock: bool,
        resend_welcome: bool,
    ) -> ResetPlan:
        """`reset_voicemail` in steps for a server: this, `plan.hashed()` on a thread, then
        `prepare_reset_voicemail` on the loop and the write queue."""
        return plan_reset(
            self.state, principal, user_dn,
            new_pin=new_pin, unlock=unlock, resend_welcome=resend_welcome,
        )  # fmt: skip

    def prepare_reset_voicemail(
        self, principal: Principal, plan: ResetPlan, pin_hash: bytes | None
    ) -> PreparedWrite:
        entry = reset_entry(self.state, principal, plan, pin_hash)
        return self.state.prepare_write(puts=[entry])

    def reset_voicemail(
        self,
        principal: Principal,
        user_dn: str,
        *,
        new_pin: bool,
        unlock: bool,
        resend_welcome: bool,
    ) -> bytes | None:
        """The vendor's "Reset - Unlock Voice-Mailbox" (§4.4.2.5); returns a new PIN once."""
        return reset_voicemail(
            self.state,
            principal,
            user_dn,
            new_pin=new_pin,
            unlock=unlock,
            resend_welcome=resend_welcome,
        )
