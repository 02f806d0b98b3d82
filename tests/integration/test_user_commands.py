"""`ixidir user ...` end to end: the real command on a real data directory, read back over LDAP
by ldapsearch from a running `ixidir serve`; templates set over LDAP with ldapmodify."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from integration.conftest import (
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)

PEOPLE = f"ou=people,{BASE_DN}"
DEFAULTS = f"cn=ums-defaults,{BASE_DN}"
# The server follows the CLI's writes through the changelog; wait at most this long for one.
FOLLOW_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("users") / "data"
    init_data_dir(data_dir, demo=False)
    running = start_server(data_dir)
    yield running
    stop_server(running)


def search(server: RunningServer, query: str, *attrs: str) -> str:
    done = server.ldap("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", BASE_DN, query, *attrs)
    return done.stdout


def until_found(server: RunningServer, query: str, *attrs: str) -> str:
    """ldapsearch until the server has followed the CLI's write (bounded, never a timing test)."""
    deadline = time.monotonic() + FOLLOW_TIMEOUT
    while True:
        found = search(server, query, *attrs)
        if found.strip() or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_templates_set_over_ldap_make_the_new_users_names_and_mail(server: RunningServer) -> None:
    change = (
        f"dn: {DEFAULTS}\nchangetype: modify\nreplace: ixiMailTemplate\n"
        "ixiMailTemplate: {givenName}.{sn}@example.com\n-\n"
        "replace: ixiDisplayNameTemplate\nixiDisplayNameTemplate: {sn}, {givenName}\n"
    )
    server.ldap("ldapmodify", stdin=change, check=True)
    shown = ixidir(server.data_dir, "user", "templates").stdout
    assert "{givenName}.{sn}@example.com" in shown
    assert "juergen.mueller@example.com" in shown  # the address example

    added = ixidir(
        server.data_dir,
        "user",
        "add",
        "--given-name",
        "Jürgen",
        "--surname",
        "Müller",
        "--fax",
        "+49 8142 4799-123",
        "--company",
        "estos",
        "--city",
        "Olching",
    )
    assert f"dn: uid=jmueller,{PEOPLE}" in added.stdout
    found = until_found(server, "(facsimileTelephoneNumber=+4981424799123)", "mail", "cn")
    assert "mail: juergen.mueller@example.com" in found
    assert "cn: jmueller" in found


def test_uid_collision_gets_a_suffix_and_routing_conflict_names_the_holder(
    server: RunningServer,
) -> None:
    added = ixidir(
        server.data_dir,
        "user",
        "add",
        "--given-name",
        "Jörg",
        "--surname",
        "Müller",
        "--mail",
        "joerg@example.com",
        "--fax",
        "+49 8142 4799-124",
    )
    assert f"dn: uid=jmueller2,{PEOPLE}" in added.stdout
    refused = ixidir(
        server.data_dir,
        "user",
        "add",
        "--given-name",
        "Jana",
        "--surname",
        "Müller",
        "--fax",
        "+49 (8142) 4799124",
        check=False,
    )
    assert refused.returncode != 0
    assert refused.stderr.startswith("ixidir: cannot add uid=jmueller3")
    assert f"uid=jmueller2,{PEOPLE}" in refused.stderr
    national = ixidir(
        server.data_dir,
        "user",
        "add",
        "--given-name",
        "Jana",
        "--surname",
        "M",
        "--fax",
        "08142 4799125",
        check=False,
    )
    assert national.returncode != 0
    assert "international form" in national.stderr


def test_list_is_tab_separated_when_piped_and_searches_the_display_name(
    server: RunningServer,
) -> None:
    ixidir(server.data_dir, "user", "add", "--given-name", "Sabine", "--surname", "Bäuerle")
    listed = ixidir(
        server.data_dir, "user", "list", "--search", "MÜLLER", "--columns", "uid,mail,fax"
    ).stdout.splitlines()
    assert listed[0] == "uid\tmail\tfacsimileTelephoneNumber"
    assert listed[1:] == [
        "jmueller2\tjoerg@example.com\t+49 8142 4799-124",
        "jmueller\tjuergen.mueller@example.com\t+49 8142 4799-123",
    ]


def test_set_show_and_delete(server: RunningServer) -> None:
    ixidir(
        server.data_dir,
        "user",
        "set",
        "sbaeuerle",
        "ixiFaxDailyLimitMode=custom",
        "ixiFaxDailyLimit=20",
        "ixiFaxInboundFormat=pdf",
        "ixiFaxInboundFormat=tif",
    )
    found = until_found(server, "(&(uid=sbaeuerle)(ixiFaxDailyLimit=20))", "ixiFaxInboundFormat")
    assert "ixiFaxInboundFormat: pdf" in found
    assert "ixiFaxInboundFormat: tif" in found
    bad = ixidir(server.data_dir, "user", "set", "sbaeuerle", "ixiSmsPermission=world", check=False)
    assert bad.returncode != 0
    assert "ixiSmsPermission" in bad.stderr
    shown = ixidir(server.data_dir, "user", "show", "sbaeuerle").stdout
    assert "ixiFaxDailyLimit: 20" in shown
    assert "userPassword" not in shown
    ixidir(server.data_dir, "user", "delete", "sbaeuerle")
    missing = ixidir(server.data_dir, "user", "show", "sbaeuerle", check=False)
    assert missing.returncode != 0
    assert "no user with uid 'sbaeuerle'" in missing.stderr
