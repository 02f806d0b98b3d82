"""LDIF export and import from the web UI: the `ixidir export` and `ixidir import` commands
themselves, run as child processes of the server.

So a download is exactly what `ixidir export` writes, and an upload gets the command's dry run,
its all-or-nothing transaction and its messages (the line, the DN, the reason). The child is a
second process on the same database (embedded Firebird in SuperClassic mode lets several share
it, DESIGN.md); the server's changelog follower applies what it commits, as for any command. The
loop only waits for the child's output; nothing runs on it.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet.utils import getProcessOutputAndValue

UPLOADS = "web-uploads"  # inside the data directory, readable by the server's user only
UPLOAD_SECONDS = 30 * 60  # an upload not imported within this is forgotten


@dataclass(frozen=True, slots=True)
class Finished:
    status: int
    output: str  # what the command printed (stdout, then stderr)


async def run_command(reactor: Any, data_dir: Path, *args: str) -> Finished:
    """Run `ixidir --data DATA ARGS` with this interpreter; its output as text."""
    out, err, status = await _run(reactor, data_dir, args)
    return Finished(status, (out + err).decode("utf-8", "replace"))


async def export_ldif(reactor: Any, data_dir: Path) -> tuple[bytes, str]:
    """The whole directory as `ixidir export` writes it, or (b"", the command's complaint)."""
    out, err, status = await _run(reactor, data_dir, ("export",))
    return (out, "") if status == 0 else (b"", err.decode("utf-8", "replace"))


async def _run(reactor: Any, data_dir: Path, args: tuple[str, ...]) -> tuple[bytes, bytes, int]:
    run: Any = getProcessOutputAndValue  # untyped in Twisted
    out, err, status = await run(
        sys.executable,
        ["-m", "ixidir", "--data", str(data_dir), *args],
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        reactor=reactor,
    )
    return out, err, int(status)


class Uploads:
    """Uploaded LDIF files waiting for their import after the dry run, by random token."""

    def __init__(self, data_dir: Path, clock: Any) -> None:
        self._folder = data_dir / UPLOADS
        self._clock = clock
        self._files: dict[str, tuple[Path, float]] = {}  # token: path, when

    def keep(self, content: bytes) -> tuple[str, Path]:
        self._forget_old()
        self._folder.mkdir(mode=0o700, exist_ok=True)
        token = secrets.token_urlsafe(16)
        path = self._folder / f"{token}.ldif"
        path.write_bytes(content)
        path.chmod(0o600)
        self._files[token] = (path, self._clock())
        return token, path

    def find(self, token: str) -> Path | None:
        found = self._files.get(token)
        return None if found is None else found[0]

    def drop(self, token: str) -> None:
        found = self._files.pop(token, None)
        if found is not None:
            found[0].unlink(missing_ok=True)

    def _forget_old(self) -> None:
        now = self._clock()
        for token in [t for t, (_, when) in self._files.items() if now - when > UPLOAD_SECONDS]:
            self.drop(token)
