"""What survives and what is shared: acknowledged writes outlive a stop (SIGTERM) and a crash
(SIGKILL) of `ixidir serve`; `ixidir import` by another process reaches the running server
through Firebird's changelog; `ixidir export` writes LDIF that parses.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ldap3 import BASE, Connection, Server

from ixidir.ldif import parse_ldif

from .conftest import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)

PEOPLE = f"ou=people,{BASE_DN}"
FOLLOW_TIMEOUT = 10.0  # the follower polls every second when it misses an event


def connect(server: RunningServer) -> Connection:
    """An admin ldap3 connection (one bind; binds cost a PBKDF2 check)."""
    server_info = Server(server.host, port=server.port, get_info="NO_INFO")
    return Connection(server_info, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)


def read(admin: Connection, dn: str, *attributes: str) -> dict[str, list[str]] | None:
    """The entry's non-empty attributes (lower-case names), or None when it does not exist."""
    admin.search(dn, "(objectClass=*)", BASE, attributes=list(attributes) or ["*"])
    if admin.result["result"] == 32:
        return None
    assert admin.result["result"] == 0, admin.result
    raw = admin.response[0]["raw_attributes"]
    return {k.lower(): [v.decode() for v in vs] for k, vs in raw.items() if vs}


def apply(server: RunningServer, ldif: str) -> None:
    """Apply LDIF change records with ldapmodify; each must be acknowledged (exit 0)."""
    done = server.ldap("ldapmodify", stdin=ldif)
    assert done.returncode == 0, done.stderr


def person(uid: str) -> str:
    return (
        f"dn: uid={uid},{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\n"
        f"uid: {uid}\ncn: {uid} test\nsn: test\n\n"
    )


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[list[RunningServer]]:
    """A data directory of this test's own with a server on it; the test may restart it and
    appends each new server to the list, so the last one is stopped at the end."""
    data_dir = tmp_path / "data"
    init_data_dir(data_dir)
    servers = [start_server(data_dir)]
    yield servers
    stop_server(servers[-1])


def test_acknowledged_writes_survive_a_stop_and_a_crash(own_server: list[RunningServer]) -> None:
    """Add, modify, delete, modrdn and a password change, each acknowledged, are all there
    after SIGTERM and a restart; a write acknowledged just before SIGKILL is there too.

    The first start uses the snapshot `ixidir import` left; the clean stop writes a new one,
    which the second start uses; the crash leaves that snapshot behind, and the third start
    replays the write made after it from the changelog."""
    first = own_server[0]
    assert "from the snapshot" in first.startup_log
    apply(
        first,
        person("p-added")
        + f"dn: uid=mhuber,{PEOPLE}\nchangetype: modify\nreplace: l\nl: München\n\n"
        + f"dn: uid=aweiss,{PEOPLE}\nchangetype: delete\n\n"
        + f"dn: uid=tkoehler,{PEOPLE}\nchangetype: modrdn\nnewrdn: uid=tkoehler2\n"
        + "deleteoldrdn: 1\n",
    )
    done = first.ldap("ldappasswd", "-s", "Lena-pw-1", f"uid=lschaefer,{PEOPLE}")
    assert done.returncode == 0, done.stderr

    stop_server(first)
    assert first.process.returncode == 0  # SIGTERM is a clean shutdown
    assert (first.data_dir / "directory.snapshot").exists()
    second = start_server(first.data_dir)
    own_server.append(second)
    assert "from the snapshot (changelog at" in second.startup_log
    assert "0 changes replayed" in second.startup_log
    admin = connect(second)
    assert read(admin, f"uid=p-added,{PEOPLE}", "sn") == {"sn": ["test"]}
    assert read(admin, f"uid=mhuber,{PEOPLE}", "l") == {"l": ["München"]}
    assert read(admin, f"uid=aweiss,{PEOPLE}") is None
    assert read(admin, f"uid=tkoehler,{PEOPLE}") is None
    assert read(admin, f"uid=tkoehler2,{PEOPLE}", "uid") == {"uid": ["tkoehler2"]}
    whoami = second.ldap(
        "ldapwhoami", "-D", f"uid=lschaefer,{PEOPLE}", "-w", "Lena-pw-1", bind=False
    )
    assert whoami.returncode == 0, whoami.stderr

    apply(second, person("p-before-crash"))
    admin.unbind()
    second.process.kill()  # no shutdown at all: the acknowledged commit must be on disk
    second.process.wait()
    third = start_server(first.data_dir)
    own_server.append(third)
    assert "from the snapshot" in third.startup_log
    assert "1 changes replayed" in third.startup_log
    admin = connect(third)
    assert read(admin, f"uid=p-before-crash,{PEOPLE}", "uid") == {"uid": ["p-before-crash"]}
    assert read(admin, f"uid=p-added,{PEOPLE}", "uid") == {"uid": ["p-added"]}
    admin.unbind()


def wait_for_entry(admin: Connection, dn: str) -> dict[str, list[str]] | None:
    """Poll until the entry is visible or FOLLOW_TIMEOUT passes (bounded, no timing assert)."""
    deadline = time.monotonic() + FOLLOW_TIMEOUT
    while True:
        found = read(admin, dn, "*")
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_import_by_another_process_reaches_the_running_server(
    server: RunningServer, tmp_path: Path
) -> None:
    """`ixidir import` while the server runs: the server follows the changelog and serves
    the new users (with their base64 values decoded) within a few seconds."""
    ldif = tmp_path / "more.ldif"
    ldif.write_text(
        "version: 1\n\n"
        f"dn: uid=p-imported1,{PEOPLE}\nobjectClass: inetOrgPerson\nobjectClass: ixiUmsUser\n"
        "uid: p-imported1\ncn:: SsO2cmcgSW1wb3J0\nsn: Import\n"
        "facsimileTelephoneNumber: +49 8142 4799-777\n\n"
        f"dn: uid=p-imported2,{PEOPLE}\nobjectClass: inetOrgPerson\n"
        "uid: p-imported2\ncn: Second Import\nsn: Import\n",
        encoding="utf-8",
    )
    admin = connect(server)
    assert read(admin, f"uid=p-imported1,{PEOPLE}") is None
    done = ixidir(server.data_dir, "import", str(ldif))
    assert "imported 2 entries" in done.stdout + done.stderr
    first = wait_for_entry(admin, f"uid=p-imported1,{PEOPLE}")
    assert first is not None, "the running server never saw the imported entry"
    assert first["cn"] == ["Jörg Import"]
    assert wait_for_entry(admin, f"uid=p-imported2,{PEOPLE}") is not None
    admin.search(BASE_DN, "(facsimileTelephoneNumber=+4981424799777)", attributes=["1.1"])
    assert [r["dn"] for r in admin.response] == [f"uid=p-imported1,{PEOPLE}"]
    admin.unbind()


def test_export_while_serving_writes_ldif_that_parses(
    server: RunningServer, tmp_path: Path
) -> None:
    """`ixidir export -o FILE` beside a running server: OpenLDAP's LDIF reader (ldapadd -n)
    accepts the file, and it holds an entry just added over LDAP and the demo users with
    their non-ASCII values, passwords only as hashes."""
    apply(server, person("p-exported"))
    done = server.ldap("ldappasswd", "-s", "Export-pw-1", f"uid=p-exported,{PEOPLE}")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "export.ldif"
    ixidir(server.data_dir, "export", "-o", str(out))
    text = out.read_text(encoding="utf-8")

    dry_run = server.ldap("ldapadd", "-n", "-f", str(out), bind=False)
    assert dry_run.returncode == 0, dry_run.stderr
    assert f'!adding new entry "uid=p-exported,{PEOPLE}"' in dry_run.stdout

    records = {r.dn.lower(): r for r in parse_ldif(text, source=str(out))}
    assert f"uid=p-exported,{PEOPLE}".lower() in records
    cn = dict(records[f"uid=jmueller,{PEOPLE}".lower()].attributes)["cn"]
    assert cn.decode("utf-8") == "Jürgen Müller"
    assert "Export-pw-1" not in text
    assert base64.b64encode(b"Export-pw-1").decode() not in text
    password = dict(records[f"uid=p-exported,{PEOPLE}".lower()].attributes)["userPassword"]
    assert password.startswith(b"{PBKDF2-SHA512}")
