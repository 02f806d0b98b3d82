"""`ixidir backup` of a running server while clients write, and `ixidir restore` into a new
data directory: the restored site holds one moment's entries, serves them, and exports as the
original did at that moment."""

from __future__ import annotations

import threading
from pathlib import Path

from .conftest import RunningServer, init_data_dir, ixidir, start_server, stop_server
from .test_persistence import PEOPLE, apply, person


def test_a_backup_of_a_running_site_restores_into_a_new_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir)
    server = start_server(data_dir)
    added: list[str] = []
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set() and len(added) < 200:
            uid = f"w{len(added):03d}"
            apply(server, person(uid))
            added.append(uid)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(added) < 3:
            stop.wait(0.05)
        ixidir(data_dir, "backup", "-o", str(tmp_path / "site.backup"))
    finally:
        stop.set()
        writer.join()
        stop_server(server)
    restored_dir = tmp_path / "restored"
    done = ixidir(restored_dir, "restore", str(tmp_path / "site.backup"))
    assert "restored" in done.stderr
    uids = _written_uids(ixidir(restored_dir, "export").stdout)
    # One moment: a prefix of the writes, with nothing missing in between.
    assert uids == added[: len(uids)]
    assert len(uids) >= 3
    restored = start_server(restored_dir)
    try:
        found = restored.ldap("ldapsearch", "-b", PEOPLE, "(uid=w000)", "uid")
        assert "uid: w000" in found.stdout
    finally:
        stop_server(restored)


def test_restore_refuses_a_data_directory_in_use(server: RunningServer, tmp_path: Path) -> None:
    ixidir(server.data_dir, "backup", "-o", str(tmp_path / "b"))
    refused = ixidir(server.data_dir, "restore", str(tmp_path / "b"), check=False)
    assert refused.returncode == 2
    assert "restore needs a new data directory" in refused.stderr


def _written_uids(ldif: str) -> list[str]:
    return sorted(line.split(" ", 1)[1] for line in ldif.splitlines() if line.startswith("uid: w"))
