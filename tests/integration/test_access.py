"""Access rules that depend on `ixidir.toml` (issue 2 item 6), each on a server of its own:
a service account (the Messaging Connector) reads every non-secret attribute, and with
`anonymous_read = true` anonymous clients do; secrets (userPassword, ixiVmPin) stay hidden
from both, in results and in filters, and neither may write.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import (
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)

PEOPLE = f"ou=people,{BASE_DN}"
CONNECTOR_DN = f"cn=connector,{BASE_DN}"
CONNECTOR_PASSWORD = "Conn-pw-1"
PIN_USER = f"uid=pinuser,{PEOPLE}"
DEMO_USERS = 8


def _ssha(password: bytes) -> str:
    """RFC 2307-style {SSHA}: cheap to verify, so the many service binds here stay fast."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password + salt).digest()  # noqa: S324 (the legacy scheme)
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _extra_entries() -> str:
    return (
        f"dn: {CONNECTOR_DN}\nobjectClass: applicationProcess\n"
        "objectClass: simpleSecurityObject\ncn: connector\n"
        f"userPassword: {_ssha(CONNECTOR_PASSWORD.encode())}\n\n"
        f"dn: {PIN_USER}\nobjectClass: inetOrgPerson\nobjectClass: ixiUmsUser\n"
        "uid: pinuser\ncn: Pin User\nsn: User\nmail: pin.user@example.com\n"
        f"userPassword: {_ssha(b'Pin-user-pw')}\nixiVmPin: 739184\n"
    )


def _configured_server(data_dir: Path, **settings: str) -> RunningServer:
    """Demo data plus a connector account and a user with a PIN; `settings` replace the
    matching top-level lines of ixidir.toml (TOML values, as text)."""
    init_data_dir(data_dir)
    extra = data_dir.parent / "extra.ldif"
    extra.write_text(_extra_entries(), encoding="utf-8")
    ixidir(data_dir, "import", str(extra))
    config = data_dir / "ixidir.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    for key, value in settings.items():
        matching = [i for i, line in enumerate(lines) if line.startswith(f"{key} = ")]
        assert len(matching) == 1, f"{key} not in ixidir.toml"
        lines[matching[0]] = f"{key} = {value}"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return start_server(data_dir)


@pytest.fixture(scope="module")
def service_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """service_accounts = [the connector]; anonymous_read stays false."""
    data_dir = tmp_path_factory.mktemp("service") / "data"
    running = _configured_server(data_dir, service_accounts=f'["{CONNECTOR_DN}"]')
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """anonymous_read = true; no service accounts."""
    data_dir = tmp_path_factory.mktemp("open") / "data"
    running = _configured_server(data_dir, anonymous_read="true")
    yield running
    stop_server(running)


def as_connector(server: RunningServer, tool: str, *args: str, stdin: str | None = None) -> str:
    """Run a tool bound as the connector; returns stdout, asserting nothing about the status."""
    done = server.ldap(
        tool, "-D", CONNECTOR_DN, "-w", CONNECTOR_PASSWORD, *args, bind=False, stdin=stdin
    )
    return f"{done.returncode}\n{done.stdout}{done.stderr}"


def _dns(output: str) -> list[str]:
    return [line.removeprefix("dn: ") for line in output.splitlines() if line.startswith("dn: ")]


def test_service_account_reads_every_user_but_no_secret(service_server: RunningServer) -> None:
    """The connector's subtree search returns all users with their mail, and neither
    userPassword nor ixiVmPin even when it asks for them by name."""
    out = as_connector(
        service_server, "ldapsearch", "-LLL", "-b", PEOPLE, "(objectClass=inetOrgPerson)",
        "mail", "userPassword", "ixiVmPin",
    )  # fmt: skip
    assert out.startswith("0\n")
    assert len(_dns(out)) == DEMO_USERS + 1
    assert "mail: pin.user@example.com" in out
    assert "userPassword" not in out
    assert "ixiVmPin" not in out


def test_service_account_routes_a_fax_number_to_a_mail(service_server: RunningServer) -> None:
    """The Messaging Connector's search: the user holding a fax number, and its mail."""
    out = as_connector(
        service_server, "ldapsearch", "-LLL", "-b", BASE_DN,
        "(facsimileTelephoneNumber=+4981424799123)", "mail",
    )  # fmt: skip
    assert out.startswith("0\n")
    assert _dns(out) == [f"uid=jmueller,{PEOPLE}"]
    assert "mail: juergen.mueller@example.com" in out


def test_secrets_are_invisible_to_filters_too(service_server: RunningServer) -> None:
    """Filtering on a secret cannot probe it: (userPassword=*) and (ixiVmPin=*) match
    nothing for the connector, though both are set on pinuser."""
    for search_filter in ("(userPassword=*)", "(ixiVmPin=*)", "(ixiVmPin=739184)"):
        out = as_connector(service_server, "ldapsearch", "-LLL", "-b", PEOPLE, search_filter)
        assert out.startswith("0\n")
        assert _dns(out) == [], search_filter


def test_admin_sees_the_pin_only_as_a_hash(service_server: RunningServer) -> None:
    """The imported PIN is stored as {PBKDF2-SHA256}...; the admin sees that, not 739184."""
    done = service_server.ldap("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", PIN_USER,
                               "-s", "base", "ixiVmPin")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ixiVmPin: {PBKDF2-SHA256}" in done.stdout
    assert "739184" not in done.stdout


def test_service_account_may_not_write(service_server: RunningServer) -> None:
    """Reading everything grants no writes: modify and delete are insufficientAccess (50)."""
    ldif = f"dn: uid=mhuber,{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: x@example.com\n"
    assert as_connector(service_server, "ldapmodify", stdin=ldif).startswith("50\n")
    assert as_connector(service_server, "ldapdelete", PIN_USER).startswith("50\n")
    done = service_server.ldap("ldapsearch", "-LLL", "-b", f"uid=mhuber,{PEOPLE}", "mail")
    assert "mail: maria.huber@example.com" in done.stdout


def test_anonymous_reads_nothing_beside_a_service_account(service_server: RunningServer) -> None:
    """Configuring a service account does not open the directory to anonymous clients."""
    done = service_server.ldap("ldapsearch", "-LLL", "-b", PEOPLE, "(uid=*)", bind=False)
    assert (done.returncode, done.stdout.strip()) == (32, "")


def test_anonymous_read_shows_users_without_secrets(open_server: RunningServer) -> None:
    """With anonymous_read = true an anonymous search finds every user, never a secret, and
    a filter on a secret matches nothing."""
    done = open_server.ldap("ldapsearch", "-LLL", "-b", PEOPLE, "(objectClass=inetOrgPerson)",
                            "*", "userPassword", "ixiVmPin", bind=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(_dns(done.stdout)) == DEMO_USERS + 1
    assert "mail: maria.huber@example.com" in done.stdout
    assert "userPassword" not in done.stdout
    assert "ixiVmPin" not in done.stdout
    done = open_server.ldap("ldapsearch", "-LLL", "-b", PEOPLE, "(userPassword=*)", bind=False)
    assert (done.returncode, done.stdout.strip()) == (0, "")


def test_anonymous_read_grants_no_writes(open_server: RunningServer) -> None:
    """anonymous_read is read-only: an anonymous write is told to bind, strongerAuthRequired
    (8) as slapd answers, whether it modifies, adds or deletes."""
    ldif = f"dn: uid=mhuber,{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: x@example.com\n"
    done = open_server.ldap("ldapmodify", bind=False, stdin=ldif)
    assert done.returncode == 8, done.stderr
    assert "Strong(er) authentication required (8)" in done.stderr
    new = f"dn: uid=zed,{PEOPLE}\nobjectClass: inetOrgPerson\ncn: z\nsn: z\n"
    assert open_server.ldap("ldapadd", bind=False, stdin=new).returncode == 8
    assert open_server.ldap("ldapdelete", f"uid=mhuber,{PEOPLE}", bind=False).returncode == 8
