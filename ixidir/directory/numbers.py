"""Inbound routing inside the directory: one number, one entry, found in O(1) in any format.

Every value of a routing attribute (facsimileTelephoneNumber, ixiVoiceNumber, ixiSmsNumber by
default) is canonicalized with the site settings of the server-defaults entry into its E.164
digits. Those keys feed the `RoutingIndex` (uniqueness across all routing attributes, `route`)
and an equality rule, `ixiCanonicalNumberMatch`, that equality filters on routing attributes use
instead of telephoneNumberMatch, so `(facsimileTelephoneNumber=08142 4799123)` finds the entry
stored as `+49 (8142) 4799-123`. The equality index keys routing attributes by the same rule, so
such a search is one dict look-up (ixidir.directory.index).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence

from ixidir.directory.dit import Entry
from ixidir.routing import (
    InvalidNumber,
    NumberTaken,
    RoutingIndex,
    SiteSettings,
    assertion_key,
)
from ixidir.schema import MatchingRule, Schema

# Under our UUID arc (SCHEMA.md): .5 holds matching rules.
CANONICAL_RULE_OID = "2.25.36358030867219218258049950064569224190.5.1"
CANONICAL_RULE_NAME = "ixiCanonicalNumberMatch"
CANONICAL_NUMBER = "ixiCanonicalNumber"

Attributes = Mapping[str, Sequence[bytes]]
# The memo of stored values' keys is emptied when it outgrows the numbers held this much.
MAX_MEMO_FACTOR = 2
MEMO_SLACK = 100_000


def canonical_rule(
    site: SiteSettings, telephone: MatchingRule, memo: Mapping[bytes, str] | None = None
) -> MatchingRule:
    """Equality by canonical number; values that are no routable number fall back to
    telephoneNumberMatch, so equality stays defined for every value.

    `memo` holds the keys of stored values under `site` (Routing fills it while indexing):
    a search confirms each candidate by normalizing its stored numbers, and written forms
    like `+49 (8142) 4799-123` cost ~12 % of an uncached routing search to canonicalize.
    """
    known = memo if memo is not None else {}

    def prepare(value: bytes) -> Hashable:
        key = known.get(value)
        if key is None:
            key = assertion_key(value, site)
        if key is not None:
            return ("e164", key)
        return ("tel", telephone.prepare(value))

    return MatchingRule(
        oid=CANONICAL_RULE_OID,
        name=CANONICAL_RULE_NAME,
        syntax=telephone.syntax,
        kind="equality",
        prepare=prepare,
    )


class Routing:
    """The site settings, the routing index and the equality rule that follows them."""

    def __init__(
        self, schema: Schema, attributes: Sequence[str], *, describe: Callable[[str], str]
    ) -> None:
        self._telephone = _telephone_rule(schema)
        self.attributes = tuple(schema.attribute(name).name for name in attributes)
        self.site = SiteSettings()
        self.index: RoutingIndex[str] = RoutingIndex(attributes=self.attributes, describe=describe)
        # Stored value → key under `site`: filled whenever numbers are keyed, read by the rule.
        self.memo: dict[bytes, str] = {}
        self.rule = canonical_rule(self.site, self._telephone, self.memo)
        # Entries with a routing value the index does not hold for them: unreadable under the
        # site settings, or a number another entry held first (a follower applies both). None
        # in a healthy directory; equality searches must still consider them.
        self.irregular: set[str] = set()

    @property
    def rules(self) -> dict[str, MatchingRule]:
        """Equality rule overrides for the filter compiler and the equality index."""
        return {name: self.rule for name in self.attributes}

    def configure(self, site: SiteSettings) -> bool:
        """Adopt new site settings; True when they differ (the caller then re-indexes)."""
        if site == self.site:
            return False
        self.site = site
        self.memo = {}  # keys under the old settings are wrong now
        self.rule = canonical_rule(site, self._telephone, self.memo)
        return True

    def keys(self, attributes: Attributes) -> set[str]:
        """The canonical keys of an entry (attributes by primary name, as the directory keeps
        them); an unroutable value raises InvalidNumber (21)."""
        keys: set[str] = set()
        if len(self.memo) > MAX_MEMO_FACTOR * len(self.index) + MEMO_SLACK:
            self.memo.clear()  # values written and rewritten over time; refills as used
        for name in self.attributes:
            values = attributes.get(name)
            if values:
                keys |= self.index.keys_for(values, self.site, attribute=name, memo=self.memo)
        return keys

    def keys_under(
        self, site: SiteSettings, entries: Iterable[Entry]
    ) -> Iterator[tuple[str, frozenset[str]]]:
        """Each entry's readable keys under other site settings (a write that changes them)."""
        for entry in entries:
            keys = frozenset(_readable_keys(self.attributes, entry.attributes, site))
            if keys or self.index.keys_of(entry.uuid):
                yield entry.uuid, keys

    def candidates(self, key: Hashable) -> set[str] | frozenset[str]:
        """The entries whose routing values may equal `key` (an ixiCanonicalNumberMatch normal
        form): the number's owner, plus the irregular entries. The equality index asks this
        instead of keeping a second copy of every number (ixidir.directory.index)."""
        number = key[1] if isinstance(key, tuple) and key[0] == "e164" else None
        owner = self.index.lookup(number)  # counted: a routing search is a routing look-up
        if owner is None:
            return self.irregular
        return {owner, *self.irregular} if self.irregular else frozenset((owner,))

    def check(self, claims: Iterable[tuple[str, Attributes]]) -> dict[str, frozenset[str]]:
        """Refuse a write that gives a number to a second entry (constraintViolation naming the
        holder), also between entries of the same write (an import); returns each claimant's
        keys, which the store records."""
        claimed: dict[str, str] = {}
        found: dict[str, frozenset[str]] = {}
        for uuid, attributes in claims:
            keys = found[uuid] = frozenset(self.keys(attributes))
            self.index.check(uuid, keys)
            for key in keys:
                other = claimed.setdefault(key, uuid)
                if other != uuid:
                    raise NumberTaken(
                        f"telephone number +{key} is given to two entries of this change",
                        key=key,
                        holder=other,
                    )
        return found

    def claimant(self, error: Exception, batch: Iterable[tuple[str, Attributes]]) -> int | None:
        """The position in `batch` (uuid, attributes) of the first entry other than the holder
        that claims the number `error` (a NumberTaken) names: the database may refuse a number
        memory did not know was taken, and then the error says nothing else about where."""
        if not isinstance(error, NumberTaken):
            return None
        for index, (uuid, attributes) in enumerate(batch):
            if uuid != error.holder and error.key in _readable_keys(
                self.attributes, attributes, self.site
            ):
                return index
        return None

    def apply(self, uuid: str, attributes: Attributes) -> None:
        """Index a committed entry. A change another process committed is applied even when
        it conflicts here (the first holder keeps the number) or holds unreadable values."""
        regular = True
        try:
            keys = self.keys(attributes)
        except InvalidNumber:
            keys, regular = set(_readable_keys(self.attributes, attributes, self.site)), False
        try:
            self.index.replace(uuid, keys)
        except NumberTaken:
            free = {key for key in keys if self.index.owner_of(key) in (None, uuid)}
            self.index.replace(uuid, free)
            regular = False
        if regular:
            self.irregular.discard(uuid)
        else:
            self.irregular.add(uuid)

    def remove(self, uuid: str) -> None:
        self.index.remove(uuid)
        self.irregular.discard(uuid)

    def route(self, number: str) -> str | None:
        """The uuid of the entry `number` routes to, whatever its formatting."""
        return self.index.lookup(assertion_key(number, self.site))

    def rebuild(self, entries: Iterable[tuple[str, Attributes]]) -> None:
        """Key every entry afresh (a load, new site settings); the first holder of a number
        keeps it, as a follower does."""
        owners = (
            (uuid, [value for name in self.attributes for value in attributes.get(name, ())])
            for uuid, attributes in entries
        )
        self.memo.clear()
        report = self.index.rebuild(self.site, owners, memo=self.memo)
        self.irregular = {conflict.claimant for conflict in report.conflicts}
        self.irregular.update(unreadable.owner for unreadable in report.unreadable)


def _readable_keys(
    names: Iterable[str], attributes: Attributes, site: SiteSettings
) -> Iterable[str]:
    """The keys of the values `site` can read; the others are left out."""
    for name in names:
        for value in attributes.get(name, ()):
            key = assertion_key(value, site)
            if key is not None:
                yield key


def _telephone_rule(schema: Schema) -> MatchingRule:
    rule = schema.find_matching_rule("telephoneNumberMatch")
    if rule is None:
        raise LookupError("the schema lacks telephoneNumberMatch")
    return rule
