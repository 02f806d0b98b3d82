"""Site settings through the Directory facade: read, change, refusals naming the setting."""

from __future__ import annotations

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, BASE, make_directory

from ixidir.admin.errors import AdminError
from ixidir.admin.initialize import first_entries
from ixidir.admin.site import read_site, set_site
from ixidir.admin.users import NewUser, Session, add_user, set_templates


@pytest.fixture
def session() -> Session:
    directory = make_directory(MemoryEntryStore())
    entries = first_entries(
        BASE, b"admin-secret", country_code="49", area_code="8142", timezone="Europe/Berlin"
    )
    directory.add_many(ADMIN, entries)
    made = Session(directory, ADMIN, BASE)
    set_templates(made, {"mail": "{givenName}.{sn}@example.com"})
    return made


def test_reads_what_init_stored(session: Session) -> None:
    site = read_site(session)
    assert (site["ixiSiteCountryCode"], site["ixiSiteAreaCode"]) == ("49", "8142")
    assert site["ixiDailyLimitTimeZone"] == "Europe/Berlin"


def test_a_new_area_code_rekeys_local_numbers(session: Session) -> None:
    add_user(session, NewUser("Jürgen", "Müller", fax=("+49 89 4799123",)))
    assert session.directory.route("4799123") is None  # local to 8142: not this user
    set_site(session, {"ixiSiteAreaCode": "89"})
    assert read_site(session)["ixiSiteAreaCode"] == "89"
    found = session.directory.route("4799123")
    assert found is not None
    assert found.dn_text.startswith("uid=jmueller,")


def test_limits_change_together_and_an_empty_value_removes_one(session: Session) -> None:
    set_site(session, {"ixiFaxDailyLimitMode": "custom", "ixiFaxDailyLimit": "40"})
    site = read_site(session)
    assert (site["ixiFaxDailyLimitMode"], site["ixiFaxDailyLimit"]) == ("custom", "40")
    set_site(session, {"ixiFaxDailyLimitMode": "", "ixiFaxDailyLimit": ""})
    assert read_site(session)["ixiFaxDailyLimit"] == ""


def test_refusals_name_the_setting(session: Session) -> None:
    with pytest.raises(AdminError, match="ixiSiteCountryCode"):
        set_site(session, {"ixiSiteCountryCode": "forty-nine"})
    with pytest.raises(AdminError, match="ixiDailyLimitTimeZone: 'Mars/Olympus' is not an IANA"):
        set_site(session, {"ixiDailyLimitTimeZone": "Mars/Olympus"})
    with pytest.raises(AdminError, match="userPassword: not a site setting"):
        set_site(session, {"userPassword": "x"})
    assert read_site(session)["ixiSiteCountryCode"] == "49"
