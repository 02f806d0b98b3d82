"""Periodic snapshots while serving (ixidir.admin.snapshots): after a change the serving process
writes one in a forked child, so a start after `kill -9` is warm and holds the change."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from ixidir.admin.warmstart import snapshot_path
from ixidir.config import CONFIG_FILE

from .conftest import init_data_dir, start_server, stop_server
from .test_persistence import PEOPLE, apply, person

SNAPSHOT_WAIT = 60.0


def test_a_start_after_kill_9_is_warm_from_the_periodic_snapshot(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir)
    config = data_dir / CONFIG_FILE
    text = re.sub(r"(?m)^snapshot_every_changes = .*$", "", config.read_text())
    config.write_text(text + "snapshot_every_changes = 1\n")
    snapshot = snapshot_path(data_dir)
    server = start_server(data_dir)
    try:
        before = snapshot.stat().st_mtime_ns
        apply(server, person("periodic"))
        deadline = time.monotonic() + SNAPSHOT_WAIT
        while snapshot.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert snapshot.stat().st_mtime_ns != before, "no periodic snapshot was written"
        # Still serving while and after the child wrote it.
        found = server.ldap("ldapsearch", "-b", PEOPLE, "(uid=periodic)", "uid")
        assert "uid: periodic" in found.stdout
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    restarted = start_server(data_dir)
    try:
        assert "from the snapshot" in restarted.startup_log
        found = restarted.ldap("ldapsearch", "-b", PEOPLE, "(uid=periodic)", "uid")
        assert "uid: periodic" in found.stdout
    finally:
        stop_server(restarted)
