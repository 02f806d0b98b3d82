"""ixidir on a shared Firebird server (the session's private one, 3.0 on Debian 12): `init`
creates the database and a second node joins it; two `ixidir serve` nodes take parallel adds;
every usual failure is one line without a traceback.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from private_firebird import ISQL, PrivateFirebird

from ixidir.storage import SCHEMA_VERSION

from .conftest import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    ixidir,
    start_server,
    stop_server,
)
from .nodes import Node, init_node, password_files

PEOPLE = f"ou=people,{BASE_DN}"
CLIENTS = 8
ADDS_EACH = 12
# Numbers every client tries to claim: exactly one add may get each (SCHEMA.md "One number,
# one user"); the others must be refused as constraintViolation, the real reason.
CONTESTED = ("+49 8142 4799900", "+49 8142 4799901", "+49 8142 4799902")
FOLLOW_TIMEOUT = 30.0


def _assert_one_line_failure(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode != 0
    # `serve` logs what it does on standard error before it fails; the failure is one line.
    lines = [line for line in result.stderr.strip().splitlines() if " [ixidir#" not in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


@pytest.fixture(scope="module")
def two_nodes(
    firebird_server: PrivateFirebird, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Node, Node]:
    """Node a creates the site's database on the server (country 43), node b joins it."""
    tmp_path = tmp_path_factory.mktemp("nodes")
    admin, storage = password_files(tmp_path, firebird_server)
    dsn = firebird_server.new_dsn("site")
    first = init_node(
        tmp_path / "a",
        firebird_server,
        dsn,
        "--country-code",
        "43",
        "--area-code",
        "1",
        admin_password=admin,
        storage_password=storage,
    )
    assert first.returncode == 0, first.stderr
    assert "joined" not in first.stdout
    second = init_node(
        tmp_path / "b", firebird_server, dsn, admin_password=admin, storage_password=storage
    )
    assert second.returncode == 0, second.stderr
    assert f"joined the existing database {dsn}" in second.stdout
    return Node(tmp_path / "a", dsn), Node(tmp_path / "b", dsn)


def test_the_joining_node_writes_only_its_own_configuration(two_nodes: tuple[Node, Node]) -> None:
    _, joined = two_nodes
    assert sorted(path.name for path in joined.data_dir.iterdir() if path.is_file()) == [
        "ixidir.toml"
    ]
    assert f'storage_dsn = "{joined.dsn}"' in (joined.data_dir / "ixidir.toml").read_text()


def test_a_node_with_the_wrong_admin_password_or_other_site_flags_may_not_join(
    firebird_server: PrivateFirebird, two_nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    admin, storage = password_files(tmp_path, firebird_server)
    dsn = two_nodes[0].dsn
    wrong = tmp_path / "wrong-admin"
    wrong.write_text("not-the-password\n")
    refused = init_node(
        tmp_path / "c", firebird_server, dsn, admin_password=wrong, storage_password=storage
    )
    _assert_one_line_failure(refused, "cannot join", "password")
    other_site = init_node(
        tmp_path / "d",
        firebird_server,
        dsn,
        "--country-code",
        "49",
        admin_password=admin,
        storage_password=storage,
    )
    _assert_one_line_failure(other_site, "--country-code 49 differs from the site's 43")
    same_site = init_node(
        tmp_path / "e",
        firebird_server,
        dsn,
        "--country-code",
        "43",
        admin_password=admin,
        storage_password=storage,
    )
    assert same_site.returncode == 0, same_site.stderr
    for name in "cd":
        assert not (tmp_path / name / "ixidir.toml").exists()


@pytest.fixture(scope="module")
def serving(two_nodes: tuple[Node, Node]) -> Iterator[tuple[RunningServer, RunningServer]]:
    servers = [start_server(node.data_dir) for node in two_nodes]
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            stop_server(server)


def _client(server: RunningServer, index: int, results: dict[str, str]) -> None:
    """One client adding ADDS_EACH entries of its own, then trying every contested number."""
    connection = ldap3.Connection(
        ldap3.Server(server.host, port=server.port), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True
    )
    try:
        wanted = [(f"c{index}-{n}", f"+49 8142 47{index:02d}{n:03d}") for n in range(ADDS_EACH)]
        wanted += [(f"c{index}-contested-{n}", number) for n, number in enumerate(CONTESTED)]
        for uid, number in wanted:
            connection.add(
                f"uid={uid},{PEOPLE}",
                ["inetOrgPerson"],
                {"cn": uid, "sn": "parallel", "facsimileTelephoneNumber": number},
            )
            results[uid] = str(connection.result["description"])
    finally:
        connection.unbind()


def test_eight_clients_adding_in_parallel_across_two_nodes_are_all_answered_for_real(
    serving: tuple[RunningServer, RunningServer],
) -> None:
    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=_client, args=(serving[index % 2], index, results))
        for index in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert len(results) == CLIENTS * (ADDS_EACH + len(CONTESTED))
    own = {uid: result for uid, result in results.items() if "contested" not in uid}
    assert set(own.values()) == {"success"}, own
    for n in range(len(CONTESTED)):
        contested = [results[f"c{index}-contested-{n}"] for index in range(CLIENTS)]
        assert sorted(contested) == ["constraintViolation"] * (CLIENTS - 1) + ["success"]
    expected = CLIENTS * ADDS_EACH + len(CONTESTED)
    for server in serving:  # each node follows the other's writes through the changelog
        assert _people_count(server, minimum=expected) == expected


def _people_count(server: RunningServer, *, minimum: int) -> int:
    deadline = time.monotonic() + FOLLOW_TIMEOUT
    while True:
        found = server.ldap("ldapsearch", "-LLL", "-b", PEOPLE, "(sn=parallel)", "1.1", check=True)
        count = found.stdout.count("dn: ")
        if count >= minimum or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def test_usual_failures_are_one_line_without_a_traceback(
    firebird_server: PrivateFirebird, two_nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    admin, storage = password_files(tmp_path, firebird_server)
    dsn = two_nodes[0].dsn
    down = dsn.replace(f":{firebird_server.port}:", ":1:")
    result = init_node(
        tmp_path / "f", firebird_server, down, admin_password=admin, storage_password=storage
    )
    _assert_one_line_failure(result, "cannot reach the Firebird server 127.0.0.1/1")
    bad = tmp_path / "bad-storage-password"
    bad.write_text("wrong\n")
    result = init_node(
        tmp_path / "g", firebird_server, dsn, admin_password=admin, storage_password=bad
    )
    _assert_one_line_failure(result, f"refused user {firebird_server.user}")
    node = two_nodes[1].data_dir
    missing = tmp_path / "missing"
    config = (node / "ixidir.toml").read_text()
    missing.mkdir()
    # The node's certificate stays in its own folder: this copy gets none, so the database is
    # the first thing `serve` cannot open.
    kept = [
        line for line in config.splitlines() if not line.startswith(("tls_certificate", "tls_key"))
    ]
    (missing / "ixidir.toml").write_text(
        "\n".join(kept).replace(dsn, firebird_server.dsn_for("nothing-here.fdb")) + "\n"
    )
    result = ixidir(missing, "serve", "--listen", "127.0.0.1:0", check=False)
    _assert_one_line_failure(result, "cannot open the database", "nothing-here.fdb")


def test_an_older_ixidir_refuses_a_database_a_newer_one_migrated(
    firebird_server: PrivateFirebird, two_nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    admin, storage = password_files(tmp_path, firebird_server)
    dsn = firebird_server.new_dsn("future")
    result = init_node(
        tmp_path / "h", firebird_server, dsn, admin_password=admin, storage_password=storage
    )
    assert result.returncode == 0, result.stderr
    newer = SCHEMA_VERSION + 1
    insert = (
        "INSERT INTO SCHEMA_VERSION (VERSION, PURPOSE, APPLIED_AT) "  # noqa: S608 - our integer
        f"VALUES ({newer}, 'a newer ixidir', CURRENT_TIMESTAMP); COMMIT;"
    )
    _isql(firebird_server, dsn, insert)
    result = ixidir(tmp_path / "h", "serve", "--listen", "127.0.0.1:0", check=False)
    _assert_one_line_failure(result, f"schema version {newer}", f"this ixidir's {SCHEMA_VERSION}")


def _isql(server: PrivateFirebird, dsn: str, sql: str) -> None:
    """Run SQL with Firebird's own isql over the network, as an administrator would."""
    host, port, path = dsn.split(":", 2)
    subprocess.run(
        [ISQL, "-q", "-user", server.user, "-password", server.password, f"{host}/{port}:{path}"],
        input=sql,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_an_empty_database_on_the_server_gets_the_first_entries(
    firebird_server: PrivateFirebird, tmp_path: Path
) -> None:
    """What a creating init leaves when it fails before its first entries (or a database the
    Firebird administrator created by hand): the next init fills it instead of joining it."""
    admin, storage = password_files(tmp_path, firebird_server)
    dsn = firebird_server.new_dsn("empty")
    host, port, path = dsn.split(":", 2)
    created = subprocess.run(
        [ISQL, "-q"],
        input=f"CREATE DATABASE '{host}/{port}:{path}' USER '{firebird_server.user}' "
        f"PASSWORD '{firebird_server.password}';",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert not created.stderr.strip(), created.stderr
    result = init_node(
        tmp_path / "i", firebird_server, dsn, admin_password=admin, storage_password=storage
    )
    assert result.returncode == 0, result.stderr
    assert "joined" not in result.stdout
    exported = ixidir(tmp_path / "i", "export")
    assert f"dn: cn=ums-defaults,{BASE_DN}" in exported.stdout
