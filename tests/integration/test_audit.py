"""The audit log (issue 12 item 4) end to end: changes over LDAP (ldapmodify, ldappasswd) and
from the command line land in DATA/audit.ldif as LDIF records, and no plaintext or hash of a
password or PIN that was set appears in it."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.conftest import (
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)
from ixidir.ldif import parse_ldif

PEOPLE = f"ou=people,{BASE_DN}"
CAROL = f"uid=carol,{PEOPLE}"
# Every secret the tests set: none may reach the log, nor may any hash of them.
SECRETS = {
    "add": "Carol-add-pw-1",
    "modify": "Carol-mod-pw-2",
    "passwd": "Carol-passwd-3",
    "cli": "Dave-cli-pw-4",
    "pin_ldap": "604917",
    "pin_cli": "582917",
}
WAIT_SECONDS = 20.0  # the server's writer thread appends shortly after the answer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("audit") / "data"
    init_data_dir(data_dir)  # the import of the demo users is logged, too
    running = start_server(data_dir)
    yield running
    stop_server(running)


def _modify(server: RunningServer, ldif: str) -> None:
    done = server.ldap("ldapmodify", stdin=ldif)
    assert done.returncode == 0, done.stderr


def _log(server: RunningServer, *, containing: str) -> str:
    path = server.data_dir / "audit.ldif"
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if containing in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{containing!r} not in the audit log:\n{text}")


def _headers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("# ") and " by " in line]


def test_ldap_and_cli_changes_are_logged_and_no_secret_is(server: RunningServer) -> None:
    _modify(
        server,
        f"""dn: {CAROL}
changetype: add
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Example
userPassword: {SECRETS["add"]}
""",
    )
    _modify(
        server,
        f"""dn: {CAROL}
changetype: modify
replace: userPassword
userPassword: {SECRETS["modify"]}
-
replace: description
description: audited
""",
    )
    done = server.ldap("ldappasswd", "-s", SECRETS["passwd"], CAROL)
    assert done.returncode == 0, done.stderr
    _modify(
        server,
        f"""dn: {CAROL}
changetype: modify
add: objectClass
objectClass: ixiUmsUser
-
replace: ixiVmPin
ixiVmPin: {SECRETS["pin_ldap"]}
""",
    )
    _modify(server, f"dn: {CAROL}\nchangetype: modrdn\nnewrdn: uid=caroline\ndeleteoldrdn: 0\n")
    caroline = f"uid=caroline,{PEOPLE}"
    _modify(server, f"dn: {caroline}\nchangetype: delete\n")
    refused = server.ldap("ldapdelete", f"uid=jmueller,{PEOPLE}", bind=False)
    assert refused.returncode != 0

    data = server.data_dir
    ixidir(data, "user", "add", "--given-name", "Dave", "--surname", "Example",
           "--mail", "dave@example.com", "--set", f"userPassword={SECRETS['cli']}")  # fmt: skip
    ixidir(data, "voicemail", "set-pin", "jmueller", stdin=SECRETS["pin_cli"] + "\n")
    reset = ixidir(data, "voicemail", "reset", "jmueller", "--new-pin", "--unlock")
    generated = re.search(r"new PIN: (\S+)", reset.stdout)
    assert generated is not None
    ixidir(data, "limits", "reset", "sbaeuerle")

    text = _log(server, containing=f"dn: {caroline}\nchangetype: delete")
    kinds = [header.split()[1] for header in _headers(text)]
    for kind in ("add", "modify", "passwordModify", "modrdn", "delete", "voicemailReset",
                 "limitReset"):  # fmt: skip
        assert kind in kinds
    assert kinds.count("add") >= 8 + 2  # the demo import, carol, dave
    assert re.search(
        r"# delete \S+ IP=127\.0\.0\.1:\d+ conn=\d+ result=[1-9]\d* by anonymous", text
    )
    assert re.search(
        rf"# add \S+ IP=127\.0\.0\.1:\d+ conn=\d+ result=0 by cn=admin,{BASE_DN}", text
    )
    assert re.search(rf"# add \S+ cli uid=\d+ pid=\d+ result=0 by cn=admin,{BASE_DN}", text)
    assert len(list(parse_ldif(text))) == len(_headers(text))
    _scan_for_secrets(server, text, [*SECRETS.values(), generated[1], ADMIN_PASSWORD])


def _scan_for_secrets(server: RunningServer, text: str, plaintexts: list[str]) -> None:
    """No plaintext, and no stored hash (as the administrator reads them), in any form."""
    hashes = server.ldap("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", BASE_DN,
                         "(|(userPassword=*)(ixiVmPin=*))", "userPassword", "ixiVmPin")  # fmt: skip
    stored = []
    for line in hashes.stdout.splitlines():
        name, _, value = line.partition(":: ")
        if name in ("userPassword", "ixiVmPin"):
            stored.append(base64.b64decode(value).decode())
        elif line.startswith(("userPassword: ", "ixiVmPin: ")):
            stored.append(line.split(": ", 1)[1])
    assert len(stored) >= 3  # dave's and jmueller's, and the administrator's
    decoded = text + "".join(_base64_values(text))
    for secret in [*plaintexts, *stored]:
        assert secret not in decoded
        assert base64.b64encode(secret.encode()).decode() not in text
    assert "userPassword: *****" in text
    assert "ixiVmPin: *****" in text


def _base64_values(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if ":: " in line and not line.startswith("#"):
            yield base64.b64decode(line.split(":: ", 1)[1]).decode("utf-8", "replace")


def test_audit_log_names_another_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    with (data_dir / "ixidir.toml").open("a") as config:
        config.write('audit_log = "logs/changes.ldif"\n')
    ixidir(data_dir, "user", "add", "--given-name", "Eve", "--surname", "Example",
           "--mail", "eve@example.com")  # fmt: skip
    assert "# add " in (data_dir / "logs" / "changes.ldif").read_text()
    assert not (data_dir / "audit.ldif").exists()
