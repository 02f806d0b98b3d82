"""The routing index: canonical number -> the one entry that owns it, and back, kept exact."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ixidir.errors import ConstraintViolation
from ixidir.routing.e164 import InvalidNumber, assertion_key, canonicalize
from ixidir.routing.site import SiteSettings

# SCHEMA.md "Routing": the Connector's attribute, plus the voice-only and SMS-only numbers.
DEFAULT_ROUTING_ATTRIBUTES = ("facsimileTelephoneNumber", "ixiVoiceNumber", "ixiSmsNumber")

Owner = TypeVar("Owner", bound=Hashable)

# A conflict message names this many numbers; an import of a whole duplicate needs no more.
_NAMED_CONFLICTS = 1


class NumberTaken(ConstraintViolation):
    """A routing number that another entry already holds (SCHEMA.md "One number, one user")."""

    def __init__(self, message: str, *, key: str, holder: object) -> None:
        super().__init__(message)
        self.key = key
        self.holder = holder


@dataclass(frozen=True, slots=True)
class Conflict(Generic[Owner]):
    """During a rebuild, `claimant` also had `key`, which stayed with `holder`."""

    key: str
    holder: Owner
    claimant: Owner


@dataclass(frozen=True, slots=True)
class UnreadableValue(Generic[Owner]):
    """During a rebuild, a value of `owner` had no key under the new site settings."""

    owner: Owner
    value: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class RebuildReport(Generic[Owner]):
    """What a rebuild could not index; empty tuples mean every number routes as before."""

    owners: int
    keys: int
    conflicts: tuple[Conflict[Owner], ...]
    unreadable: tuple[UnreadableValue[Owner], ...]

    @property
    def is_clean(self) -> bool:
        return not self.conflicts and not self.unreadable


class RoutingIndex(Generic[Owner]):
    """An O(1) map from canonical key to owner, with the reverse map that makes updates exact.

    The owner is whatever hashable id the directory chooses (entryUUID, DN key); `describe`
    turns it into the name a conflict message shows, so renames need no update here.
    """

    __slots__ = (
        "_attributes",
        "_describe",
        "_keys",
        "_owners",
        "conflicts",
        "hits",
        "misses",
    )

    def __init__(
        self,
        *,
        attributes: Sequence[str] = DEFAULT_ROUTING_ATTRIBUTES,
        describe: Callable[[Owner], str] = str,
    ) -> None:
        self._attributes = tuple(attributes)
        self._describe = describe
        self._owners: dict[str, Owner] = {}
        # Owner → its keys as a tuple of distinct keys: a frozenset of two costs 216 bytes, a
        # tuple 56 (~16 MiB per process at 100,000 users); sets are made when a write needs one.
        self._keys: dict[Owner, tuple[str, ...]] = {}
        self.hits = 0
        self.misses = 0
        self.conflicts = 0

    @property
    def attributes(self) -> tuple[str, ...]:
        return self._attributes

    def keys_for(
        self,
        values: Iterable[bytes],
        site: SiteSettings,
        *,
        attribute: str = "",
        memo: MutableMapping[bytes, str] | None = None,
    ) -> set[str]:
        """The keys of one attribute's values; the first unreadable value fails the write.

        `memo` (value → key, for these site settings) is read and filled.
        """
        keys = set()
        for value in values:
            known = memo.get(value) if memo is not None else None
            if known is not None:
                keys.add(known)
                continue
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidNumber(repr(value), "it is not UTF-8", attribute=attribute) from None
            try:
                key = canonicalize(text, site)
            except InvalidNumber as error:
                raise InvalidNumber(text, error.reason, attribute=attribute) from None
            keys.add(key)
            if memo is not None:
                memo[value] = key
        return keys

    def check(self, owner: Owner, keys: Iterable[str]) -> None:
        """Refuse keys that another owner holds, naming that owner (constraintViolation)."""
        owners = self._owners
        taken = sorted(key for key in keys if owners.get(key, owner) != owner)
        if not taken:
            return
        self.conflicts += 1
        key = taken[0]
        holder = owners[key]
        more = len(taken) - _NAMED_CONFLICTS
        also = f" (and {more} more of its numbers are held by other entries)" if more > 0 else ""
        raise NumberTaken(
            f"telephone number +{key} already routes to {self._describe(holder)}{also}",
            key=key,
            holder=holder,
        )

    def replace(self, owner: Owner, keys: Iterable[str]) -> None:
        """Make `keys` exactly the owner's keys; on a conflict nothing changes."""
        new = frozenset(keys)
        self.check(owner, new)
        old = frozenset(self._keys.get(owner, ()))
        for key in old - new:
            del self._owners[key]
        for key in new - old:
            self._owners[key] = owner
        if new:
            self._keys[owner] = tuple(new)
        else:
            self._keys.pop(owner, None)

    def remove(self, owner: Owner) -> None:
        """Forget an owner and all its keys; an unknown owner is no error (idempotent delete)."""
        for key in self._keys.pop(owner, ()):
            del self._owners[key]

    def lookup(self, key: str | None) -> Owner | None:
        """The owner of `key`; None (an unreadable assertion) counts as a miss."""
        owner = self._owners.get(key) if key is not None else None
        if owner is None:
            self.misses += 1
        else:
            self.hits += 1
        return owner

    def export(self) -> dict[str, Owner]:
        """Key → owner (the reverse map follows from it); the live table, not a copy."""
        return self._owners

    def restore(self, owners: Mapping[str, Owner]) -> None:
        """Become what `export` returned."""
        keys: dict[Owner, list[str]] = {}
        for key, owner in owners.items():
            keys.setdefault(owner, []).append(key)  # a dict's keys are distinct already
        self._owners = dict(owners)
        self._keys = {owner: tuple(mine) for owner, mine in keys.items()}

    def owner_of(self, key: str) -> Owner | None:
        """The owner of `key`, not counted as a look-up (the directory's own bookkeeping)."""
        return self._owners.get(key)

    def keys_of(self, owner: Owner) -> frozenset[str]:
        return frozenset(self._keys.get(owner, ()))

    def __len__(self) -> int:
        return len(self._owners)

    def stats(self) -> dict[str, int]:
        return {
            "lookups": self.hits + self.misses,
            "hits": self.hits,
            "misses": self.misses,
            "conflicts": self.conflicts,
            "keys": len(self._owners),
            "owners": len(self._keys),
        }

    def rebuild(
        self,
        site: SiteSettings,
        owners_and_values: Iterable[tuple[Owner, Iterable[bytes]]],
        *,
        dry_run: bool = False,
        memo: MutableMapping[bytes, str] | None = None,
    ) -> RebuildReport[Owner]:
        """Index every owner's routing values afresh (start-up, or new site settings).

        A key claimed twice stays with the owner seen first; an unreadable value is left out.
        Both are reported, never dropped silently. `dry_run` reports without changing anything.
        """
        owners: dict[str, Owner] = {}
        keys: dict[Owner, tuple[str, ...]] = {}
        conflicts: list[Conflict[Owner]] = []
        unreadable: list[UnreadableValue[Owner]] = []
        remember = memo.__setitem__ if memo is not None else None
        claim = owners.setdefault
        # One loop without a call per value: a start keys 200,000 numbers at 100,000 users.
        for owner, values in owners_and_values:
            mine: list[str] = []
            for value in values:
                try:
                    key = canonicalize(value.decode("utf-8"), site)
                except UnicodeDecodeError:
                    unreadable.append(UnreadableValue(owner, value, "it is not UTF-8"))
                    continue
                except InvalidNumber as error:
                    unreadable.append(UnreadableValue(owner, value, error.reason))
                    continue
                if remember is not None:
                    remember(value, key)
                holder = claim(key, owner)
                if holder == owner:
                    mine.append(key)
                else:
                    conflicts.append(Conflict(key=key, holder=holder, claimant=owner))
            if mine:
                earlier = keys.get(owner, ())
                keys[owner] = tuple(dict.fromkeys((*earlier, *mine)))
        if not dry_run:
            self._owners = owners
            self._keys = keys
        return RebuildReport(
            owners=len(keys),
            keys=len(owners),
            conflicts=tuple(conflicts),
            unreadable=tuple(unreadable),
        )


def route(index: RoutingIndex[Owner], number: str | bytes, site: SiteSettings) -> Owner | None:
    """The owner that a called number routes to, in any written form; None when nobody has it."""
    return index.lookup(assertion_key(number, site))
