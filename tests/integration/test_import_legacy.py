"""`ixidir import` from a real older OpenLDAP directory (built with Debian's slapadd, dumped with
slapcat), refusals of bad records (whole file, line and DN named), and backup restore."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.conftest import (
    BASE_DN,
    RunningServer,
    init_data_dir,
    ixidir,
    start_server,
    stop_server,
)

MAKE_OLD = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "make_old_directory.py"
OLD = "dc=old,dc=example"
PEOPLE = f"ou=people,{BASE_DN}"


@pytest.fixture(scope="module")
def old_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """slapcat output of a fresh slapd database under dc=old,dc=example."""
    folder = tmp_path_factory.mktemp("old")
    done = subprocess.run([sys.executable, str(MAKE_OLD)], capture_output=True, text=True,
                          check=True, timeout=120)  # fmt: skip
    dump = folder / "old.ldif"
    dump.write_text(done.stdout)
    return dump


@pytest.fixture(scope="module")
def migrated(
    tmp_path_factory: pytest.TempPathFactory, old_dump: Path
) -> Iterator[tuple[RunningServer, subprocess.CompletedProcess[str]]]:
    data_dir = tmp_path_factory.mktemp("migrated") / "data"
    init_data_dir(data_dir, demo=False)
    imported = ixidir(
        data_dir, "import", str(old_dump), "--rebase", OLD, "--verbose", "--drop-unknown"
    )
    running = start_server(data_dir)
    yield running, imported
    stop_server(running)


def search(server: RunningServer, query: str, *attrs: str) -> str:
    done = server.ldap("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", BASE_DN, query, *attrs)
    return done.stdout


def test_old_users_are_under_our_base_and_found_by_fax_number(
    migrated: tuple[RunningServer, subprocess.CompletedProcess[str]],
) -> None:
    server, imported = migrated
    assert f'adding new entry "uid=akoch,ou=People,{BASE_DN}"' in imported.stdout
    found = search(server, "(facsimileTelephoneNumber=+49 8142 4799201)", "mail")
    assert found.startswith(f"dn: uid=akoch,ou=People,{BASE_DN}")
    assert "mail: anna.koch@example.com" in found
    other = search(server, "(facsimileTelephoneNumber=081424799202)", "seeAlso", "objectClass")
    assert f"seeAlso: uid=akoch,ou=People,{BASE_DN}" in other
    assert "objectClass: organizationalPerson" in other
    assert OLD not in search(server, "(objectClass=*)", "*", "+")


def test_history_survives_and_dn_values_move(
    migrated: tuple[RunningServer, subprocess.CompletedProcess[str]], old_dump: Path
) -> None:
    server, _ = migrated
    old_uuid = _value_after(old_dump.read_text(), f"dn: uid=akoch,ou=People,{OLD}", "entryUUID")
    found = search(server, "(uid=akoch)", "entryUUID", "creatorsName", "createTimestamp")
    assert f"entryUUID: {old_uuid}" in found
    assert f"creatorsName: cn=admin,{BASE_DN}" in found
    group = search(server, "(cn=fax-users)", "member")
    assert f"member: uid=bweber,ou=People,{BASE_DN}" in group


def test_old_bookkeeping_is_dropped_and_drop_unknown_says_what_and_how_often(
    migrated: tuple[RunningServer, subprocess.CompletedProcess[str]],
) -> None:
    server, imported = migrated
    for name in ("entryCSN", "contextCSN", "uidNumber", "posixAccount", "description;lang-de"):
        assert name in imported.stderr
    assert imported.stderr.count("uidNumber") == 1
    assert "dropped attribute uidNumber (not in our schema) from " in imported.stderr
    assert f"skipped {BASE_DN}: kept ours" in imported.stderr
    assert f"skipped cn=admin,{BASE_DN}: kept ours" in imported.stderr
    assert "uidNumber" not in search(server, "(uid=akoch)", "*", "+")


def test_unknown_names_refuse_the_import_until_someone_decides(
    old_dump: Path, tmp_path: Path
) -> None:
    """Without --drop-unknown a site's custom data is not lost silently: the file is refused,
    naming file, line, DN and name; both spellings of the option then import it."""
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, demo=False)
    before = ixidir(data_dir, "export").stdout
    refused = ixidir(data_dir, "import", str(old_dump), "--rebase", OLD, check=False)
    assert refused.returncode == 2
    uid_line = next(
        number
        for number, line in enumerate(old_dump.read_text().splitlines(), 1)
        if line.startswith("uidNumber:")
    )
    assert f"{old_dump}: line {uid_line} (dn: uid=akoch,ou=People,{OLD}): attribute uidNumber" in (
        refused.stderr
    )
    for name in ("posixAccount", "description;lang-de", "--drop-unknown"):
        assert name in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert "entryCSN" not in refused.stderr  # the old server's bookkeeping: dropped silently
    assert ixidir(data_dir, "export").stdout == before
    named = ["uidNumber", "gidNumber", "homeDirectory", "loginShell", "posixAccount"]
    partly = ixidir(
        data_dir, "import", str(old_dump), "--rebase", OLD, "--dry-run",
        *(arg for name in named for arg in ("--drop-unknown-attribute", name)), check=False,
    )  # fmt: skip
    assert partly.returncode == 2
    assert "description;lang-de" in partly.stderr
    assert "uidNumber" not in partly.stderr
    spelled = ixidir(
        data_dir, "import", "--rebase", OLD, "--dry-run", "--drop-unknown", "description;lang-de",
        *(arg for name in named for arg in ("--drop-unknown", name)), str(old_dump), check=False,
    )  # fmt: skip
    assert spelled.returncode == 0, spelled.stderr
    dropped = "dropped attribute description;lang-de (attribute options are not supported)"
    assert f"{dropped} from 1 entry" in spelled.stderr
    everything = ixidir(data_dir, "import", "--drop-unknown", str(old_dump), "--rebase", OLD)
    assert "dropped object class posixAccount (not in our schema) from " in everything.stderr


def _value_after(text: str, dn_line: str, attr: str) -> str:
    record = text.split(dn_line, 1)[1].split("\n\n", 1)[0]
    line = next(line for line in record.splitlines() if line.startswith(f"{attr}: "))
    return line.split(": ", 1)[1]


# --- bad records: each refused whole ---
GOOD = f"dn: uid=good,{PEOPLE}\nobjectClass: inetOrgPerson\ncn: good\nsn: Good\n\n"
BAD = {
    "unknown attribute": (f"dn: uid=bad,{PEOPLE}\nobjectClass: inetOrgPerson\ncn: b\nsn: B\n"
                          "fooBar: 1\n", "attribute fooBar (not in our schema)"),
    "missing parent": (f"dn: uid=bad,ou=nowhere,{BASE_DN}\nobjectClass: inetOrgPerson\ncn: b\n"
                       "sn: B\n", "noSuchObject"),
    "duplicate DN": (GOOD.replace("cn: good", "cn: again"), "entryAlreadyExists"),
    "routing conflict": (f"dn: uid=bad,{PEOPLE}\nobjectClass: inetOrgPerson\ncn: b\nsn: B\n"
                         "facsimileTelephoneNumber: 08142 4799-123\n", "uid=jmueller"),
    "broken base64": (f"dn: uid=bad,{PEOPLE}\nobjectClass: inetOrgPerson\ncn:: ###\nsn: B\n",
                      "invalid base64"),
}  # fmt: skip


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    init_data_dir(data_dir)
    return data_dir, ixidir(data_dir, "export").stdout


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_record_refuses_the_whole_file_naming_line_and_dn(
    demo_dir: tuple[Path, str], tmp_path: Path, case: str
) -> None:
    data_dir, before = demo_dir
    record, reason = BAD[case]
    text = GOOD + record
    path = tmp_path / "bad.ldif"
    path.write_text(text)
    bad_dn = record.split("\n", 1)[0].removeprefix("dn: ")
    first_line = text.count("\n", 0, text.rindex(f"dn: {bad_dn}")) + 1
    refused = ixidir(data_dir, "import", str(path), check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"ixidir: {path}: line ")
    assert f"(dn: {bad_dn})" in refused.stderr
    assert reason in refused.stderr
    assert "nothing was imported" in refused.stderr
    line = int(refused.stderr.split("line ", 1)[1].split(" ", 1)[0])
    assert first_line <= line < first_line + record.count("\n")
    assert ixidir(data_dir, "export").stdout == before


def test_export_restored_into_a_new_directory_exports_identically(
    demo_dir: tuple[Path, str], tmp_path: Path
) -> None:
    _, exported = demo_dir
    backup = tmp_path / "backup.ldif"
    backup.write_text(exported)
    fresh = tmp_path / "fresh"
    init_data_dir(fresh, demo=False)
    restored = ixidir(fresh, "import", str(backup))
    assert "restoring into a new directory" in restored.stderr
    assert ixidir(fresh, "export").stdout == exported
    again = ixidir(fresh, "import", str(backup))
    assert "imported 0 entries" in again.stderr
