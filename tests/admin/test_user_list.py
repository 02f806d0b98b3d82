"""The user list use-case: search (names, mail, a number in any formatting), sort, pages."""

from __future__ import annotations

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, BASE, make_directory

from ixidir.admin.initialize import first_entries
from ixidir.admin.user_list import UserList
from ixidir.admin.users import NewUser, Session, add_user, delete_user, set_templates, set_user


@pytest.fixture
def session() -> Session:
    directory = make_directory(MemoryEntryStore())
    entries = first_entries(
        BASE, b"admin-secret", country_code="49", area_code="8142", timezone="Europe/Berlin"
    )
    directory.add_many(ADMIN, entries)
    made = Session(directory, ADMIN, BASE)
    set_templates(made, {"mail": "{givenName}.{sn}@example.com"})
    people = [("Zoe", "Adler", "+49 8142 4799100"), ("anna", "Zimmer", None)]
    people += [("Bernd", f"Meier{n:02d}", None) for n in range(1, 11)]
    for given, surname, fax in people:
        add_user(made, NewUser(given, surname, fax=(fax,) if fax else ()))
    return made


def test_pages_sorted_by_display_name_ignoring_case(session: Session) -> None:
    listing = UserList()
    first = listing.page(session, size=5)
    assert (first.total, first.pages, first.page) == (12, 3, 1)
    assert [row.display_name for row in first.rows] == [
        "anna Zimmer", "Bernd Meier01", "Bernd Meier02", "Bernd Meier03", "Bernd Meier04",
    ]  # fmt: skip
    last = listing.page(session, size=5, page=99)  # clamped to the last page
    assert (last.page, [row.display_name for row in last.rows]) == (
        3,
        ["Bernd Meier10", "Zoe Adler"],
    )
    backwards = listing.page(session, size=2, descending=True)
    assert [row.display_name for row in backwards.rows] == ["Zoe Adler", "Bernd Meier10"]


def test_sorts_by_another_column_and_ignores_unknown_ones(session: Session) -> None:
    listing = UserList()
    by_mail = listing.page(session, sort="mail", size=1)
    assert by_mail.rows[0].mail == "anna.zimmer@example.com"
    assert listing.page(session, sort="userPassword").sort == "displayName"


def test_search_finds_names_and_mail_in_any_case(session: Session) -> None:
    listing = UserList()
    assert [r.uid for r in listing.page(session, query="ZIMM").rows] == ["azimmer"]
    assert listing.page(session, query="meier").total == 10
    assert listing.page(session, query="zoe.adler@").rows[0].uid == "zadler"
    assert listing.page(session, query="nobody").total == 0


def test_a_number_in_any_formatting_finds_its_owner(session: Session) -> None:
    listing = UserList()
    for written in ("08142/4799-100", "+49 (8142) 4799100", "4799100"):
        assert [row.uid for row in listing.page(session, query=written).rows] == ["zadler"]
    assert listing.page(session, query="0815 999").total == 0


def test_a_write_shows_in_the_next_page(session: Session) -> None:
    listing = UserList()
    assert listing.page(session).total == 12
    delete_user(session, "zadler")
    add_user(session, NewUser("Aaron", "Aal"))
    page = listing.page(session)
    assert page.total == 12
    assert page.rows[0].display_name == "Aaron Aal"
    assert "zadler" not in {row.uid for row in page.rows}


def test_rows_moved_after_writes_match_a_fresh_sort(session: Session) -> None:
    listing = UserList()
    for sort in ("displayName", "mail", "uid", "facsimileTelephoneNumber"):
        listing.page(session, sort=sort)  # sorted once; the writes below move rows in them
    set_user(session, "zadler", ["displayName=Aaaa First"])
    set_user(session, "bmeier05", ["displayName=zzz Last", "mail=a@example.com"])
    delete_user(session, "bmeier03")
    add_user(session, NewUser("Mia", "Mitte", fax=("+49 8142 4799200",)))
    for sort in ("displayName", "mail", "uid", "facsimileTelephoneNumber"):
        for descending in (False, True):
            moved = listing.page(session, sort=sort, descending=descending, size=500).rows
            fresh = UserList().page(session, sort=sort, descending=descending, size=500).rows
            assert [row.dn for row in moved] == [row.dn for row in fresh]
    names = [row.display_name for row in listing.page(session, size=500).rows]
    assert (names[0], names[-1], len(names)) == ("Aaaa First", "zzz Last", 12)
