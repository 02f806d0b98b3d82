"""Who may read what (issue 2 item 6), and the per-principal view of an entry that enforces it.

Rules, by access class:
- ADMIN: every entry, every attribute (secrets are stored only as hashes, so that is all it sees).
- SERVICE (settings.service_accounts, e.g. the Messaging Connector): every entry, no secrets.
- USER: its own entry without secrets; other entries only when anonymous reads are allowed
  (a user never sees less than anonymous). Reading colleagues is off by default: ixi-UMS users
  do not look each other up through our directory, and the connector reads as a service.
- ANONYMOUS: nothing but the root DSE and cn=Subschema (handled by the search), unless
  settings.anonymous_read, then every entry without secrets.
An attribute a principal may not read is invisible to the search filter too (`EntryView`).
Writes: the admin anything; a user only its own userPassword; everyone else nothing. An
anonymous write is strongerAuthRequired (8), as slapd answers: binding is what would help.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from ixidir.directory.dit import DIT, Entry
from ixidir.directory.operational import (
    ENTRY_DN,
    HAS_SUBORDINATES,
    SUBSCHEMA_DN,
    SUBSCHEMA_SUBENTRY,
)
from ixidir.directory.requests import AccessClass, Principal
from ixidir.errors import StrongerAuthRequired

# Only ever readable by the administrator (DESIGN.md "Secrets"; SCHEMA.md ixiVmPin).
SECRET_ATTRIBUTES = frozenset({"userPassword", "ixiVmPin"})
_NOTHING: frozenset[str] = frozenset()
# Operational attributes computed on read by a provider (primary name → function of the entry).
Computed = Mapping[str, Callable[[Entry], Sequence[bytes] | None]]
_NO_EXTRA: Computed = {}
_TRUE, _FALSE = (b"TRUE",), (b"FALSE",)


def require_authentication(principal: Principal, operation: str) -> None:
    """Writes need a bound identity; slapd answers an anonymous one strongerAuthRequired."""
    if principal.access is AccessClass.ANONYMOUS:
        raise StrongerAuthRequired(f"{operation} requires authentication: bind first")


class Reader:
    """One principal's read rights, prepared once per search (its own DN key computed once)."""

    def __init__(self, principal: Principal, *, self_key: str, anonymous_read: bool) -> None:
        self.principal = principal
        self.self_key = self_key
        access = principal.access
        self.sees_all = access is AccessClass.ADMIN or access is AccessClass.SERVICE
        self.sees_all = self.sees_all or anonymous_read
        self.hidden = _NOTHING if access is AccessClass.ADMIN else SECRET_ATTRIBUTES
        # Such a reader is told noSuchObject for every DIT entry: nothing to disclose.
        self.reads_nothing = access is AccessClass.ANONYMOUS and not anonymous_read

    def may_read(self, entry: Entry) -> bool:
        return self.sees_all or (
            self.principal.access is AccessClass.USER and entry.dn_key == self.self_key
        )

    def may_read_attribute(self, entry: Entry, name: str) -> bool:
        """`name` is a primary attribute name."""
        return self.may_read(entry) and name not in self.hidden

    def view(self, entry: Entry, dit: DIT, computed: Computed | None = None) -> EntryView | None:
        """What this principal sees of the entry, or None when the entry is invisible.

        `computed` adds operational attributes computed on read (ixiCanonicalNumber, the
        daily counts); each is evaluated only when a filter or the selection asks for it.
        """
        if not self.may_read(entry):
            return None
        return EntryView(entry, dit, self.hidden, computed or _NO_EXTRA)


class EntryView(Mapping[str, Sequence[bytes]]):
    """The readable attributes of an entry plus the computed operational ones (RFC 4512 §3.4)."""

    __slots__ = ("_dit", "_entry", "_extra", "_hidden")

    def __init__(
        self, entry: Entry, dit: DIT, hidden: frozenset[str], extra: Computed = _NO_EXTRA
    ) -> None:
        self._entry = entry
        self._dit = dit
        self._hidden = hidden
        self._extra = extra

    @property
    def entry(self) -> Entry:
        return self._entry

    def get(self, key: str, default: Sequence[bytes] | None = None) -> Sequence[bytes] | None:  # type: ignore[override]
        if key in self._hidden:
            return default
        found = self._entry.attributes.get(key)
        if found is not None:
            return found
        return self._computed(key) or default

    def __getitem__(self, key: str) -> Sequence[bytes]:
        found = self.get(key)
        if found is None:
            if key in self._extra and key not in self._hidden:
                return ()  # listed by __iter__ without computing it; empty for this entry
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        for name in self._entry.attributes:
            if name not in self._hidden:
                yield name
        yield from (ENTRY_DN, HAS_SUBORDINATES, SUBSCHEMA_SUBENTRY)
        yield from (name for name in self._extra if name not in self._hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _computed(self, key: str) -> Sequence[bytes] | None:
        if key == ENTRY_DN:
            return (str(self._entry.dn).encode("utf-8"),)
        if key == HAS_SUBORDINATES:
            return _TRUE if self._dit.has_children(self._entry.dn_key) else _FALSE
        if key == SUBSCHEMA_SUBENTRY:
            return (SUBSCHEMA_DN.encode("ascii"),)
        compute = self._extra.get(key)
        return None if compute is None else compute(self._entry)
