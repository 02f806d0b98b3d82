"""A private `ixidir serve` on 127.0.0.1, initialized and loaded with datagen's users by the CLI.

Runs the real commands of DESIGN.md's fixed interfaces: `ixidir init` in a temporary data
directory, `ixidir import` of the users LDIF (init already made the suffix and ou=people), then
`ixidir serve --listen 127.0.0.1:0`, reading the port from its `listening on HOST:PORT` line.

A prepared data directory can be kept (`keep=`) so a 100k import is paid once per machine.

    python benchmarks/ixidir_server.py 1000
"""

from __future__ import annotations

import argparse
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dataset import ADMIN_PASSWORD, SUFFIX, users_ldif
from processes import START_TIMEOUT_SECONDS, HarnessError, exit_on_sigterm, stop, tree_rss_mib

IXIDIR = [sys.executable, "-m", "ixidir"]
LISTENING = b"listening on "
SNAPSHOT_FILE = "directory.snapshot"  # ixidir.admin.warmstart.SNAPSHOT_FILE
_IMPORTED_MARK = "imported.txt"  # written after a successful import, with its duration


@dataclass(frozen=True, slots=True)
class IxidirFigures:
    """What loading and starting cost (seconds, MiB); a reused import reports its recorded time."""

    users: int
    import_seconds: float
    import_reused: bool
    startup_seconds: float
    start: str  # "cold" (from Firebird) or "warm" (from the snapshot a clean stop left)
    rss_mib: float  # every process of the server summed (its workers too), as issue 13 item 2 asks
    db_mib: float


@dataclass(frozen=True, slots=True)
class RunningIxidir:
    port: int
    pid: int
    figures: IxidirFigures

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"


def ixidir_revision() -> str:
    """The commit of the ixidir tree being measured, marked when ixidir/ has local changes."""
    package = Path(__file__).resolve().parent.parent / "ixidir"
    git = ["git", "-C", str(package.parent)]
    # The last commit that changed ixidir/: a checkout's later benchmark commits change nothing.
    last = [*git, "log", "-1", "--format=%h", "--", "ixidir"]
    head = subprocess.run(last, capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "ixidir"], capture_output=True)
    revision = head.stdout.strip() or "unknown"
    return f"{revision} (+ local changes in ixidir/)" if dirty.stdout.strip() else revision


def prepare(
    users: int,
    data: Path,
    ldif_dir: Path,
    command: Sequence[str] = IXIDIR,
    *,
    passwords: bool = False,
) -> tuple[float, bool]:
    """init + import into DATA unless DATA already holds this import.

    Returns the import's seconds (as recorded when it ran) and whether the directory was reused.
    """
    mark = data / _IMPORTED_MARK
    if mark.exists():
        return float(mark.read_text(encoding="utf-8").split()[0]), True
    if data.exists():
        shutil.rmtree(data)  # a half-made directory from an interrupted run
    data.mkdir(parents=True)
    password = data.parent / f"{data.name}.password"
    password.write_text(ADMIN_PASSWORD, encoding="utf-8")
    _run([*command, "--data", str(data), "init", "--base-dn", SUFFIX,
          "--admin-password-file", str(password)])  # fmt: skip
    ldif = users_ldif(users, ldif_dir, passwords=passwords)
    started = time.monotonic()
    _run([*command, "--data", str(data), "import", str(ldif)])
    seconds = time.monotonic() - started
    mark.write_text(f"{seconds:.2f} seconds to import {users} users\n", encoding="utf-8")
    return seconds, False


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")


def read_port(process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_SECONDS) -> int:
    """Wait for `listening on HOST:PORT` on the server's stdout and return PORT."""
    if process.stdout is None:
        raise HarnessError("ixidir serve was started without a stdout pipe")
    fd = process.stdout.fileno()
    pending = bytearray()
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                raise HarnessError(f"ixidir serve exited ({process.wait()}) before listening")
            pending += chunk
            for line in bytes(pending).splitlines():
                if line.startswith(LISTENING):
                    return int(line.rsplit(b":", 1)[1])
    raise HarnessError(f"ixidir serve did not listen within {timeout:.0f} s")


@contextmanager
def running_ixidir(
    users: int,
    *,
    data_dir: Path,
    keep: Path | None = None,
    command: Sequence[str] | None = None,
    cold: bool = False,
    serve_args: Sequence[str] = (),
    passwords: bool = False,
) -> Iterator[RunningIxidir]:
    """A loaded `ixidir serve` with USERS datagen users; stopped on exit, its data removed
    unless `keep` names where the prepared directory lives. `cold` removes the snapshot the
    previous clean stop left, so the directory loads from Firebird. `passwords` loads the
    users with {SSHA} passwords (keep such a directory apart: dataset.SSHA_TAG)."""
    work = Path(tempfile.mkdtemp(prefix="ixidir-bench-ixidir-"))
    data = keep if keep is not None else work / "data"
    try:
        command = list(command or IXIDIR)
        import_seconds, reused = prepare(users, data, data_dir, command, passwords=passwords)
        snapshot = data / SNAPSHOT_FILE
        if cold:
            snapshot.unlink(missing_ok=True)
        start = "warm" if snapshot.exists() else "cold"
        log = (work / "serve.log").open("wb")
        started = time.monotonic()
        process = subprocess.Popen(
            [
                *command,
                "--data",
                str(data),
                "serve",
                "--listen",
                "127.0.0.1:0",
                *([] if "--web-listen" in serve_args else ["--web-listen", ""]),
                *serve_args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            port = read_port(process)
            figures = IxidirFigures(
                users=users,
                import_seconds=import_seconds,
                import_reused=reused,
                startup_seconds=time.monotonic() - started,
                start=start,
                rss_mib=tree_rss_mib(process.pid),
                db_mib=sum(f.stat().st_size for f in data.glob("*.fdb")) / 1024**2,
            )
            yield RunningIxidir(port=port, pid=process.pid, figures=figures)
        finally:
            stop(process)
            log.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users", type=int)
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    parser.add_argument("--keep", type=Path, help="prepared data directory to reuse or create")
    args = parser.parse_args()
    exit_on_sigterm()
    args.data.mkdir(parents=True, exist_ok=True)
    with running_ixidir(args.users, data_dir=args.data, keep=args.keep) as server:
        print(f"ixidir on {server.url} (pid {server.pid}): {server.figures}")


if __name__ == "__main__":
    main()
