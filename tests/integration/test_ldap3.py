"""A real `ixidir serve` driven by the Python client ldap3: its schema parser, paged searches,
writes and the WhoAmI / Password Modify extended operations.

ldap3 with `get_info=ALL` reads our root DSE and cn=Subschema and formats values by their
syntax, so a subschema ldap3 misreads shows up here as wrong Python types.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from ldap3 import (
    ALL,
    BASE,
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    SUBTREE,
    Connection,
    Server,
)

from .conftest import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, RunningServer

PEOPLE = f"ou=people,{BASE_DN}"
INTEGER_SYNTAX = "1.3.6.1.4.1.1466.115.121.1.27"
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
DEMO_USERS = 8


@pytest.fixture(scope="module")
def ldap_server(server: RunningServer) -> Server:
    """An ldap3 Server that reads the root DSE and the whole schema at its first bind."""
    return Server(server.host, port=server.port, get_info=ALL)


@pytest.fixture(scope="module")
def admin(ldap_server: Server) -> Iterator[Connection]:
    connection = Connection(ldap_server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)
    yield connection
    connection.unbind()


def add_person(admin: Connection, uid: str, **attributes: Any) -> str:
    dn = f"uid={uid},{PEOPLE}"
    classes = ["inetOrgPerson", "ixiUmsUser"]
    assert admin.add(dn, classes, {"cn": f"{uid} test", "sn": "test", **attributes}), admin.result
    return dn


def binds(ldap_server: Server, dn: str, password: str) -> bool:
    connection = Connection(ldap_server, dn, password)
    try:
        return bool(connection.bind())
    finally:
        connection.unbind()


def test_get_info_all_parses_the_ixi_schema(server: RunningServer) -> None:
    """ldap3 reads cn=Subschema anonymously and knows ixiFaxDailyLimit (INTEGER, single-valued)
    and the auxiliary class ixiUmsUser that allows it."""
    ldap_server = Server(server.host, port=server.port, get_info=ALL)  # fresh: no admin bind
    connection = Connection(ldap_server, auto_bind=True)  # anonymous
    schema = ldap_server.schema
    assert schema is not None
    limit = schema.attribute_types["ixiFaxDailyLimit"]
    assert limit.syntax == INTEGER_SYNTAX
    assert limit.single_value
    assert limit.oid.startswith("2.25.")
    user = schema.object_classes["ixiUmsUser"]
    assert user.kind == "AUXILIARY"
    assert "ixiFaxDailyLimit" in user.may_contain
    fax = schema.attribute_types["fax"]
    assert fax.equality == ["telephoneNumberMatch"]
    assert ldap_server.info.naming_contexts == [BASE_DN]
    connection.unbind()


def test_values_come_back_typed_by_their_syntax(admin: Connection) -> None:
    """Thanks to the schema, INTEGER reads as int, Boolean as bool, GeneralizedTime as an
    aware datetime and a base64-stored cn as text."""
    admin.search(
        BASE_DN,
        "(uid=jmueller)",
        attributes=["ixiFaxDailyLimit", "ixiVmEnabled", "cn", "createTimestamp"],
    )
    entry = admin.entries[0]
    assert entry.ixiFaxDailyLimit.value == 50
    assert entry.ixiVmEnabled.value is True
    assert entry.cn.value == "Jürgen Müller"
    assert isinstance(entry.createTimestamp.value, datetime.datetime)
    assert entry.createTimestamp.value.tzinfo is not None


def test_paged_search_generator_yields_every_user_once(admin: Connection) -> None:
    """extend.standard.paged_search with pages of 3 walks all eight demo users, none twice."""
    pages = admin.extend.standard.paged_search(
        PEOPLE, "(objectClass=inetOrgPerson)", SUBTREE, attributes=["uid"], paged_size=3,
        generator=True,
    )  # fmt: skip
    uids = [entry["attributes"]["uid"][0] for entry in pages if entry["type"] == "searchResEntry"]
    assert len(uids) == DEMO_USERS
    assert len(set(uids)) == DEMO_USERS


def test_paged_results_cookie_walks_pages_of_the_asked_size(admin: Connection) -> None:
    """RFC 2696 by hand: pages of at most 3, a cookie while more remain, an empty one at the end."""
    sizes: list[int] = []
    cookie: bytes | None = None
    while True:
        admin.search(
            PEOPLE, "(objectClass=inetOrgPerson)", attributes=["1.1"], paged_size=3,
            paged_cookie=cookie,
        )  # fmt: skip
        assert admin.result["result"] == 0, admin.result
        sizes.append(len(admin.response))
        cookie = admin.result["controls"][PAGED_RESULTS_OID]["value"]["cookie"]
        if not cookie:
            break
    assert sizes == [3, 3, 2]


def test_size_limit_gives_partial_results(admin: Connection) -> None:
    """size_limit=2 of eight: sizeLimitExceeded (4) with the two entries sent."""
    admin.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["1.1"], size_limit=2)
    assert admin.result["result"] == 4
    assert len(admin.response) == 2


def test_add_modify_and_read_back(admin: Connection) -> None:
    """ldap3 add, then one modify with add, replace and value delete; the entry reads back."""
    dn = add_person(admin, "l3-mod", ixiFaxInboundFormat=["tif", "pdf"], l="Olching")
    changes = {
        "mail": [(MODIFY_ADD, ["l3-mod@example.com"])],
        "l": [(MODIFY_REPLACE, ["Fürstenfeldbruck"])],
        "ixiFaxInboundFormat": [(MODIFY_DELETE, ["tif"])],
    }
    assert admin.modify(dn, changes), admin.result
    admin.search(dn, "(objectClass=*)", BASE, attributes=["mail", "l", "ixiFaxInboundFormat"])
    entry = admin.entries[0]
    assert entry.mail.values == ["l3-mod@example.com"]
    assert entry.l.values == ["Fürstenfeldbruck"]
    assert entry.ixiFaxInboundFormat.values == ["pdf"]


def test_modify_dn_with_new_superior(admin: Connection) -> None:
    """ldap3 modify_dn moves an entry below a new parent; the old DN is gone."""
    assert admin.add(f"ou=l3-target,{BASE_DN}", ["organizationalUnit"], {"ou": "l3-target"})
    dn = add_person(admin, "l3-move")
    assert admin.modify_dn(dn, "uid=l3-move", new_superior=f"ou=l3-target,{BASE_DN}")
    assert not admin.search(dn, "(objectClass=*)", BASE)
    assert admin.result["result"] == 32
    assert admin.search(f"uid=l3-move,ou=l3-target,{BASE_DN}", "(objectClass=*)", BASE)


def test_compare_and_unknown_extended_operation(admin: Connection) -> None:
    """compare answers True/False by the matching rule; an extended operation the server
    does not know is protocolError (2), RFC 4511 §4.12."""
    dn = f"uid=jmueller,{PEOPLE}"
    assert admin.compare(dn, "sn", "MÜLLER") is True
    assert admin.compare(dn, "sn", "Mueller") is False
    admin.extended("1.2.3.4")
    assert admin.result["result"] == 2


def test_who_am_i_for_admin_and_user(ldap_server: Server, admin: Connection) -> None:
    """extend.standard.who_am_i names the bound DN for the admin and for a user."""
    assert admin.extend.standard.who_am_i() == f"dn:{ADMIN_DN}"
    dn = add_person(admin, "l3-who", userPassword="Who-pw-1")
    user = Connection(ldap_server, dn, "Who-pw-1", auto_bind=True)
    assert user.extend.standard.who_am_i() == f"dn:{dn}"
    user.unbind()


def test_modify_password_by_admin_and_by_the_user(ldap_server: Server, admin: Connection) -> None:
    """extend.standard.modify_password: the admin generates a password (returned once), then
    the user changes it giving the old one; only the newest binds."""
    dn = add_person(admin, "l3-pw")
    generated = admin.extend.standard.modify_password(dn)
    assert isinstance(generated, str)
    assert generated
    user = Connection(ldap_server, dn, generated, auto_bind=True)
    assert user.extend.standard.modify_password(old_password=generated, new_password="Pw-2-new")
    user.unbind()
    assert binds(ldap_server, dn, "Pw-2-new")
    assert not binds(ldap_server, dn, generated)
