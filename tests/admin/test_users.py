"""User use-cases against a real Directory over the in-memory store, with `init`'s first entries."""

from __future__ import annotations

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, BASE, make_directory

from ixidir.admin.errors import AdminError
from ixidir.admin.initialize import first_entries
from ixidir.admin.users import (
    NO_MAIL_TEMPLATE,
    NewUser,
    Session,
    add_user,
    delete_user,
    find_user,
    list_users,
    parse_assignments,
    read_templates,
    resolve_columns,
    set_templates,
    set_user,
)

MAIL = "{givenName}.{sn}@example.com"


@pytest.fixture
def session() -> Session:
    directory = make_directory(MemoryEntryStore())
    entries = first_entries(
        BASE, b"admin-secret", country_code="49", area_code="8142", timezone="Europe/Berlin"
    )
    directory.add_many(ADMIN, entries)
    made = Session(directory, ADMIN, BASE)
    set_templates(made, {"mail": MAIL})
    return made


def juergen(**extra: object) -> NewUser:
    values: dict[str, object] = {"given_name": "Jürgen", "surname": "Müller"}
    values.update(extra)
    return NewUser(**values)  # type: ignore[arg-type]


def test_new_user_gets_uid_names_and_mail_from_templates(session: Session) -> None:
    user = add_user(session, juergen(fax=("+49 (8142) 4799-123",)))
    assert user.dn == f"uid=jmueller,ou=people,{BASE}"
    assert user.first("cn") == "jmueller"
    assert user.first("displayName") == "Jürgen Müller"
    assert user.first("mail") == "juergen.mueller@example.com"
    assert user.attributes["facsimileTelephoneNumber"] == ("+49 (8142) 4799-123",)
    assert {"inetOrgPerson", "ixiUmsUser"} <= set(user.attributes["objectClass"])
    assert session.directory.route("08142 4799123") is not None


def test_colliding_uid_gets_a_numeric_suffix(session: Session) -> None:
    first = add_user(session, juergen())
    second = add_user(session, juergen(given_name="Johann", mail="jm@example.com"))
    third = add_user(session, juergen(given_name="Jana", mail="jana@example.com"))
    assert [first.first("uid"), second.first("uid"), third.first("uid")] == [
        "jmueller",
        "jmueller2",
        "jmueller3",
    ]


def test_a_namesake_needs_another_mail(session: Session) -> None:
    """The template gives a namesake the same address; two users must not share one."""
    add_user(session, juergen())
    with pytest.raises(AdminError, match="already belongs to uid=jmueller,"):
        add_user(session, juergen())
    assert add_user(session, juergen(mail="j.mueller2@example.com")).first("uid") == "jmueller2"


def test_template_changes_apply_to_users_created_afterwards(session: Session) -> None:
    before = add_user(session, juergen())
    set_templates(session, {"display_name": "{sn}, {givenName}", "mail": "{uid}@{o}.example"})
    after = add_user(session, juergen(given_name="Anna", settings=("o=Vertrieb Süd",)))
    assert find_user(session, "jmueller").first("displayName") == before.first("displayName")
    assert after.first("displayName") == "Müller, Anna"
    assert after.first("mail") == "amueller@vertriebsued.example"


def test_templates_default_when_unset_and_mail_then_required(session: Session) -> None:
    set_templates(session, {"mail": ""})
    templates = read_templates(session)
    assert (templates.display_name, templates.mail, templates.uid) == (
        "{givenName} {sn}",
        None,
        "{givenName:1}{sn}",
    )
    with pytest.raises(AdminError, match="--mail"):
        add_user(session, juergen())
    assert NO_MAIL_TEMPLATE.startswith("no mail template")
    assert add_user(session, juergen(mail="j@example.com")).first("mail") == "j@example.com"


def test_malformed_template_is_refused(session: Session) -> None:
    with pytest.raises(AdminError, match="placeholders"):
        set_templates(session, {"display_name": "{sn, {givenName}"})
    with pytest.raises(AdminError, match="'@'"):
        set_templates(session, {"mail": "{givenName}.{sn}"})


@pytest.mark.parametrize("number", ["08142 4799123", "4799123", "0049 8142 4799123", "+"])
def test_number_not_in_international_form_is_refused(session: Session, number: str) -> None:
    with pytest.raises(AdminError, match="international form"):
        add_user(session, juergen(fax=(number,)))
    assert list_users(session) == []


def test_routing_conflict_names_the_holder(session: Session) -> None:
    add_user(session, juergen(fax=("+49 8142 4799123",)))
    with pytest.raises(AdminError, match="uid=jmueller") as refused:
        add_user(session, juergen(given_name="Anna", fax=("+4981424799123",)))
    assert "cannot add uid=amueller" in str(refused.value)


def test_company_adds_the_org_class(session: Session) -> None:
    user = add_user(session, juergen(company="estos", department="Vertrieb", city="Olching"))
    assert "ixiOrgPerson" in user.attributes["objectClass"]
    assert user.first("l") == "Olching"


def test_list_searches_anywhere_in_the_display_name_ignoring_case(session: Session) -> None:
    add_user(session, juergen())
    add_user(session, NewUser(given_name="Sabine", surname="Bäuerle"))
    assert [u.first("uid") for u in list_users(session, search="ÜLL")] == ["jmueller"]
    assert [u.first("uid") for u in list_users(session, search="e")] == ["jmueller", "sbaeuerle"]


def test_set_validates_tokens_and_cross_attribute_rules_naming_the_attribute(
    session: Session,
) -> None:
    add_user(session, juergen())
    with pytest.raises(AdminError, match="ixiFaxPermission"):
        set_user(session, "jmueller", ["ixiFaxPermission=everywhere"])
    with pytest.raises(AdminError, match="ixiFaxDailyLimit"):
        set_user(session, "jmueller", ["ixiFaxDailyLimit=10"])
    user = set_user(
        session,
        "jmueller",
        ["ixiFaxDailyLimitMode=custom", "ixiFaxDailyLimit=10", "ixiVmEnabled=true"],
    )
    assert (user.first("ixiFaxDailyLimit"), user.first("ixiVmEnabled")) == ("10", "TRUE")


def test_set_removes_with_empty_value_and_repeats_for_several_values(session: Session) -> None:
    add_user(session, juergen(phone="+49 8142 4799-23"))
    user = set_user(
        session,
        "jmueller",
        ["telephoneNumber=", "ixiFaxInboundFormat=pdf", "ixiFaxInboundFormat=tif"],
    )
    assert "telephoneNumber" not in user.attributes
    assert sorted(user.attributes["ixiFaxInboundFormat"]) == ["pdf", "tif"]


def test_set_refuses_unknown_attributes_and_secrets(session: Session) -> None:
    add_user(session, juergen())
    with pytest.raises(AdminError, match="noSuchThing: no such attribute"):
        set_user(session, "jmueller", ["noSuchThing=1"])
    with pytest.raises(AdminError, match="ixiVmPin"):
        set_user(session, "jmueller", ["ixiVmPin=12345"])
    with pytest.raises(AdminError, match="expected ATTR=VALUE"):
        parse_assignments(session.schema, ["mail"])


def test_show_leaves_secrets_out(session: Session) -> None:
    add_user(session, juergen(settings=("userPassword=secret",)))
    assert "userPassword" not in find_user(session, "jmueller").attributes


def test_delete_removes_the_user(session: Session) -> None:
    add_user(session, juergen(fax=("+49 8142 4799123",)))
    assert delete_user(session, "jmueller") == f"uid=jmueller,ou=people,{BASE}"
    with pytest.raises(AdminError, match="no user with uid 'jmueller'"):
        find_user(session, "jmueller")
    assert session.directory.route("+49 8142 4799123") is None


def test_columns_resolve_aliases_and_refuse_unknown_names(session: Session) -> None:
    assert resolve_columns(session.schema, ["fax", "surname"]) == ["facsimileTelephoneNumber", "sn"]
    with pytest.raises(AdminError, match="bogus"):
        resolve_columns(session.schema, ["bogus"])
