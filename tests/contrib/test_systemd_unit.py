"""contrib/ixidir.service: a unit systemd accepts, running `ixidir serve` unprivileged on 391.

`systemd-analyze verify` (Debian's systemd, installed by ./dev setup) checks the whole unit,
with the install paths replaced by this checkout's `ixidir` and the current user, since the
test machine has no /opt/ixidir nor an `ixidir` user. The unit is also read here, so the
points that matter stay true where systemd-analyze is missing."""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "contrib" / "ixidir.service"
INSTALLED = "/opt/ixidir/bin/ixidir"


def settings(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values, as systemd reads a unit (repeated keys add up)."""
    found: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            found.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        found[section].setdefault(key.strip(), []).append(value.strip())
    return found


def here(text: str) -> str:
    """The unit with this checkout's ixidir and the current user in place of the install's."""
    ixidir = str(Path(sys.executable).parent / "ixidir")
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    return (
        text.replace(INSTALLED, ixidir)
        .replace("User=ixidir", f"User={user}")
        .replace("Group=ixidir", f"Group={group}")
    )


def test_the_unit_runs_ixidir_serve_unprivileged_with_only_the_bind_capability() -> None:
    unit = settings(UNIT.read_text())
    service = unit["Service"]
    assert shlex.split(service["ExecStart"][0]) == [INSTALLED, "serve"]
    assert service["User"] == ["ixidir"]
    assert service["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert service["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["Environment"] == ["IXIDIR_DATA=/var/lib/ixidir"]
    assert service["StateDirectory"] == ["ixidir"]  # systemd makes /var/lib/ixidir, its own
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_exec_start_command_line_is_one_ixidir_accepts() -> None:
    command = shlex.split(settings(here(UNIT.read_text()))["Service"]["ExecStart"][0])
    assert Path(command[0]).is_file()
    assert os.access(command[0], os.X_OK)
    done = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--listen" in done.stdout


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # not a feature of ours missing: the checks above still ran
        return
    unit = tmp_path / "ixidir.service"
    unit.write_text(here(UNIT.read_text()))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "ixidir.service" not in done.stderr, done.stderr  # no warning about our unit
    broken = tmp_path / "broken" / "ixidir.service"
    broken.parent.mkdir()
    broken.write_text(unit.read_text().replace("ExecStart=", "ExecStart=/nonexistent/"))
    refused = subprocess.run(
        [analyze, "verify", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0  # verify does look at what we ship
