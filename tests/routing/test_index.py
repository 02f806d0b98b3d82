"""Tests for ixidir.routing.index: one owner per number, exact updates, rebuilds and route()."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ixidir.errors import ConstraintViolation, ResultCode
from ixidir.routing.e164 import InvalidNumber
from ixidir.routing.index import (
    DEFAULT_ROUTING_ATTRIBUTES,
    Conflict,
    NumberTaken,
    RoutingIndex,
    UnreadableValue,
    route,
)
from ixidir.routing.site import SiteSettings

SITE = SiteSettings(country_code="49", area_code="8142", base_number="4799", ddi_length=3)
DNS = {"u1": "uid=alice,ou=people,dc=example", "u2": "uid=bob,ou=people,dc=example"}


def _index() -> RoutingIndex[str]:
    return RoutingIndex(describe=DNS.__getitem__)


def test_default_routing_attributes_are_fax_voice_and_sms() -> None:
    assert DEFAULT_ROUTING_ATTRIBUTES == (
        "facsimileTelephoneNumber",
        "ixiVoiceNumber",
        "ixiSmsNumber",
    )


def test_every_written_form_routes_to_the_owner() -> None:
    index = _index()
    index.replace("u1", index.keys_for([b"+49 8142 4799123"], SITE))
    written_forms: list[str | bytes] = [
        "+4981424799123",
        "+49 (0)8142 4799-123",
        "08142 4799123",
        "123",
        b"4799123",
    ]
    for written in written_forms:
        assert route(index, written, SITE) == "u1"


def test_unknown_and_unreadable_numbers_route_nowhere_and_count_as_misses() -> None:
    index = _index()
    index.replace("u1", {"4981424799123"})
    assert route(index, "+4981424799124", SITE) is None
    assert route(index, "not a number", SITE) is None
    assert route(index, "+4981424799123", SITE) == "u1"
    assert index.stats() == {
        "lookups": 3,
        "hits": 1,
        "misses": 2,
        "conflicts": 0,
        "keys": 1,
        "owners": 1,
    }


def test_second_owner_of_a_number_is_refused_naming_the_holder() -> None:
    index = _index()
    index.replace("u1", {"4981424799123"})
    with pytest.raises(NumberTaken) as raised:
        index.check("u2", index.keys_for([b"08142 4799-123"], SITE))
    error = raised.value
    assert isinstance(error, ConstraintViolation)
    assert error.result_code is ResultCode.CONSTRAINT_VIOLATION
    assert "+4981424799123" in error.message
    assert DNS["u1"] in error.message
    assert (error.key, error.holder) == ("4981424799123", "u1")
    assert index.stats()["conflicts"] == 1


def test_conflict_message_counts_further_taken_numbers() -> None:
    index = _index()
    index.replace("u1", {"4981424799123", "4981424799124", "4981424799125"})
    with pytest.raises(NumberTaken, match="and 2 more"):
        index.replace("u2", {"4981424799125", "4981424799124", "4981424799123", "491701234"})


def test_refused_replace_changes_nothing() -> None:
    index = _index()
    index.replace("u1", {"4981424799123"})
    index.replace("u2", {"4981424799200"})
    with pytest.raises(NumberTaken):
        index.replace("u2", {"4981424799201", "4981424799123"})
    assert index.keys_of("u2") == {"4981424799200"}
    assert index.lookup("4981424799201") is None
    assert index.lookup("4981424799123") == "u1"


def test_owner_may_keep_its_own_numbers_and_move_them() -> None:
    index = _index()
    index.replace("u1", {"4981424799123", "4981424799124"})
    index.check("u1", {"4981424799123"})
    index.replace("u1", {"4981424799124", "4981424799125"})
    assert index.keys_of("u1") == {"4981424799124", "4981424799125"}
    assert index.lookup("4981424799123") is None
    index.replace("u2", {"4981424799123"})
    assert index.lookup("4981424799123") == "u2"


def test_replace_with_no_keys_forgets_the_owner() -> None:
    index = _index()
    index.replace("u1", {"4981424799123"})
    index.replace("u1", set())
    assert len(index) == 0
    assert index.stats()["owners"] == 0


def test_remove_frees_the_numbers_and_is_idempotent() -> None:
    index = _index()
    index.replace("u1", {"4981424799123"})
    index.remove("u1")
    index.remove("u1")
    index.replace("u2", {"4981424799123"})
    assert index.lookup("4981424799123") == "u2"


def test_keys_for_names_the_unreadable_value_and_its_attribute() -> None:
    index = _index()
    with pytest.raises(InvalidNumber) as raised:
        index.keys_for([b"+49 8142 4799123", b"+49 8142 FAX"], SITE, attribute="ixiSmsNumber")
    assert raised.value.message.startswith("ixiSmsNumber: '+49 8142 FAX'")
    with pytest.raises(InvalidNumber, match="not UTF-8"):
        index.keys_for([b"\xff"], SITE)


def test_rebuild_re_reads_national_forms_under_new_site_settings() -> None:
    index = _index()
    entries = [("u1", [b"08142 4799123"]), ("u2", [b"200"])]
    assert index.rebuild(SITE, entries).is_clean
    assert index.lookup("4981424799123") == "u1"
    # The base number changes: the extension now means another number; u1's stays.
    moved = SiteSettings(country_code="49", area_code="8142", base_number="4800", ddi_length=3)
    report = index.rebuild(moved, entries)
    assert report.is_clean
    assert (report.owners, report.keys) == (2, 2)
    assert index.lookup("4981424800200") == "u2"
    assert index.lookup("4981424799200") is None
    assert index.keys_of("u1") == {"4981424799123"}


def test_rebuild_reports_conflicts_and_unreadable_values() -> None:
    index = _index()
    entries = [
        ("u1", [b"+49 8142 4799123", b"+49 8142 4799555"]),
        ("u2", [b"123", b"12345678901"]),
    ]
    report = index.rebuild(SITE, entries)
    assert report.conflicts == (Conflict(key="4981424799123", holder="u1", claimant="u2"),)
    assert len(report.unreadable) == 1
    unreadable = report.unreadable[0]
    assert isinstance(unreadable, UnreadableValue)
    assert (unreadable.owner, unreadable.value) == ("u2", b"12345678901")
    assert "more than 15" in unreadable.reason
    assert not report.is_clean
    assert index.lookup("4981424799123") == "u1"
    assert index.keys_of("u2") == frozenset()


def test_dry_run_rebuild_reports_without_changing_the_index() -> None:
    index = _index()
    index.replace("u1", {"4981424799123"})
    report = index.rebuild(SITE, [("u2", [b"+49 8142 4799200"])], dry_run=True)
    assert (report.owners, report.keys) == (1, 1)
    assert index.lookup("4981424799123") == "u1"
    assert index.lookup("4981424799200") is None


_OWNERS = st.sampled_from(["a", "b", "c", "d"])
_KEYS = st.sampled_from(["4981424799100", "4981424799101", "4981424799102", "4917012345"])


class IndexAgainstDictModel(RuleBasedStateMachine):
    """The index and its reverse map stay exact under any sequence of writes."""

    def __init__(self) -> None:
        super().__init__()
        self.index: RoutingIndex[str] = RoutingIndex()
        self.model: dict[str, frozenset[str]] = {}
        self.hits = 0
        self.misses = 0

    def _holder(self, key: str) -> str | None:
        return next((owner for owner, keys in self.model.items() if key in keys), None)

    @rule(owner=_OWNERS, keys=st.frozensets(_KEYS))
    def replace(self, owner: str, keys: frozenset[str]) -> None:
        taken = {key for key in keys if self._holder(key) not in (None, owner)}
        if taken:
            with pytest.raises(NumberTaken) as raised:
                self.index.replace(owner, keys)
            assert raised.value.key == min(taken)
            assert raised.value.holder == self._holder(min(taken))
            return
        self.index.replace(owner, keys)
        if keys:
            self.model[owner] = keys
        else:
            self.model.pop(owner, None)

    @rule(owner=_OWNERS)
    def remove(self, owner: str) -> None:
        self.index.remove(owner)
        self.model.pop(owner, None)

    @rule(key=_KEYS)
    def lookup(self, key: str) -> None:
        expected = self._holder(key)
        assert self.index.lookup(key) == expected
        if expected is None:
            self.misses += 1
        else:
            self.hits += 1

    @rule()
    def rebuild_from_the_model(self) -> None:
        report = self.index.rebuild(
            SITE,
            [(owner, [b"+" + key.encode() for key in keys]) for owner, keys in self.model.items()],
        )
        assert report.is_clean

    @invariant()
    def forward_and_reverse_maps_agree_with_the_model(self) -> None:
        for owner in ["a", "b", "c", "d"]:
            assert self.index.keys_of(owner) == self.model.get(owner, frozenset())
        stats = self.index.stats()
        assert len(self.index) == stats["keys"] == sum(len(keys) for keys in self.model.values())
        assert stats["owners"] == len(self.model)
        assert (stats["hits"], stats["misses"]) == (self.hits, self.misses)


TestIndexAgainstDictModel = IndexAgainstDictModel.TestCase
