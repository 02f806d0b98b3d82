"""The in-memory tree: puts by uuid (renames move), removal, subtree order, ancestry."""

from __future__ import annotations

from ixidir.directory.dit import DIT, Entry
from ixidir.dn import DN


def entry(uuid: str, dn: str) -> Entry:
    parsed = DN.parse(dn)
    parent = str(parsed.parent).lower() if len(parsed.rdns) > 1 else ""
    return Entry(uuid, parsed, dn.lower(), parent, {"cn": (b"x",)})


def tree() -> DIT:
    dit = DIT()
    dit.load(
        [
            entry("1", "dc=com"),
            entry("2", "ou=a,dc=com"),
            entry("3", "cn=x,ou=a,dc=com"),
            entry("4", "ou=b,dc=com"),
        ]
    )
    return dit


def test_subtree_lists_parents_first() -> None:
    assert [e.uuid for e in tree().subtree("dc=com")] == ["1", "2", "3", "4"]
    assert [e.uuid for e in tree().subtree("ou=a,dc=com", include_base=False)] == ["3"]


def test_rename_by_uuid_moves_the_entry() -> None:
    dit = tree()
    old = dit.put(entry("3", "cn=x,ou=b,dc=com"))
    assert old is not None
    assert dit.get("cn=x,ou=a,dc=com") is None
    assert not dit.has_children("ou=a,dc=com")
    assert dit.has_children("ou=b,dc=com")


def test_remove_and_ancestry() -> None:
    dit = tree()
    leaf = dit.get("cn=x,ou=a,dc=com")
    assert leaf is not None
    assert dit.is_within(leaf, "dc=com")
    assert not dit.is_within(leaf, "ou=b,dc=com")
    dit.remove("3")
    assert len(dit) == 3
    assert (
        dit.deepest_existing(DN.parse("cn=y,cn=x,ou=a,dc=com"), lambda d: str(d).lower())
        == "ou=a,dc=com"
    )


def test_iteration_survives_writes() -> None:
    dit = tree()
    walk = dit.subtree("dc=com")
    assert next(walk).uuid == "1"
    dit.remove("3")
    dit.put(entry("5", "ou=c,dc=com"))
    assert [e.uuid for e in walk] == ["2", "4"]


def test_an_entry_remembers_one_item_compactly_and_more_up_to_its_limit() -> None:
    held = entry("1", "cn=x,dc=com")
    assert held.recall("a") is None
    assert held.remembered() == 0
    held.remember("a", 1, limit=3)
    assert isinstance(held.memo, tuple)  # one item: a pair, not a dict (memory per entry)
    held.remember("a", 2, limit=3)
    assert (held.recall("a"), held.recall("b"), held.remembered()) == (2, None, 1)
    held.remember("b", 3, limit=3)
    held.remember("c", 4, limit=3)
    assert [held.recall(key) for key in "abc"] == [2, 3, 4]
    held.remember("d", 5, limit=3)  # past the limit the memo starts afresh
    assert [held.recall(key) for key in "abcd"] == [None, None, None, 5]
    assert held.remembered() == 1


def test_a_memo_limited_to_one_item_keeps_the_newest() -> None:
    held = entry("1", "cn=x,dc=com")
    held.remember("a", 1, limit=1)
    held.remember("b", 2, limit=1)
    assert (held.recall("a"), held.recall("b"), held.remembered()) == (None, 2, 1)
