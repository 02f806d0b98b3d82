"""The audit log (issue 12 item 4): every change and administrative action, as LDIF records.

Like slapd's auditlog (slapo-auditlog), each record is an LDIF change record between a header
comment and an end comment; ours also names the client address, the connection and the result:

    # modify 20261207T085000Z IP=192.0.2.7:50312 conn=12 result=0 by cn=admin,dc=example,dc=com
    dn: uid=bob,ou=people,dc=example,dc=com
    changetype: modify
    replace: userPassword
    userPassword: *****
    -
    # end modify 20261207T085000Z

Secrets never reach the file: every value of a secret attribute (userPassword, ixiVmPin) is
written as `*****`, and administrative actions (Password Modify, PIN reset, limit reset, unlock,
lockout) carry only what they did. Records are written after the change is durable (the caller
records once the commit returned). The server hands records to a writer thread, so the reactor
only formats text; the CLI writes them at once. Each record is one `write` on an O_APPEND file
under an exclusive `flock`, so the server and the CLI may append to the same file.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ixidir.directory.acl import SECRET_ATTRIBUTES
from ixidir.directory.requests import (
    AddRequest,
    ModifyDNRequest,
    ModifyRequest,
    ModOp,
    Principal,
)
from ixidir.errors import LDAPError, ResultCode
from ixidir.ldif import format_value
from ixidir.server.extended import PASSWORD_MODIFY_OID, decode_passwd_modify
from ixidir.server.messages import DeleteRequest, ExtendedRequest
from ixidir.server.priority import lower_this_thread

AUDIT_FILE = "audit.ldif"  # DATA/audit.ldif unless `audit_log` names another file (DESIGN.md)
MASK = "*****"
_MASKED = MASK.encode()
# Rotation as the Sun/Oracle Directory Server (389-DS's relative, same settings) rotates its
# audit log by default: at 100 MB (nsslapd-auditlog-maxlogsize), keeping 10 files
# (nsslapd-auditlog-maxlogsperdir). Writes are
# rare here (administrators, imports), so that is years of history; a fixed constant until a
# site asks for a setting.
MAX_BYTES = 100 * 1024 * 1024
KEEP_FILES = 10  # audit.ldif and audit.ldif.1 ... audit.ldif.9
_SECRETS = frozenset(name.lower() for name in SECRET_ATTRIBUTES)
_OPS = {
    ModOp.ADD: "add",
    ModOp.DELETE: "delete",
    ModOp.REPLACE: "replace",
    ModOp.INCREMENT: "increment",  # RFC 4525 §3 (LDIF)
}
_USER_IDENTITY = 0x80  # RFC 3062 PasswdModifyRequestValue userIdentity [0]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who made a change and from where: the bind DN, the client and the connection."""

    bind_dn: str
    client: str  # "IP=192.0.2.7:50312", or "cli" for the command line
    connection: str  # "conn=12", or "pid=4711" for the command line


@dataclass(frozen=True, slots=True)
class Deletion:
    dn: str


@dataclass(frozen=True, slots=True)
class Action:
    """An administrative action that is no plain LDAP change (Password Modify, PIN reset, limit
    reset, unlock, lockout); `details` must never hold a secret (write MASK for one)."""

    name: str
    dn: str
    details: tuple[tuple[str, str], ...] = ()


Change = AddRequest | ModifyRequest | Deletion | ModifyDNRequest | Action
_NEW_PASSWORD = (("userPassword", MASK),)


def audited_change(request: object, principal: Principal) -> Change | None:
    """What the audit log records for an LDAP request; None for requests that change nothing
    (bind, search, compare, WhoAmI, StartTLS, PIN checks, daily-limit reservations)."""
    match request:
        case AddRequest() | ModifyRequest() | ModifyDNRequest():
            return request
        case DeleteRequest(dn=dn):
            return Deletion(dn)
        case ExtendedRequest(oid=oid, value=value) if oid == PASSWORD_MODIFY_OID:
            return Action("passwordModify", _password_user(value, principal), _NEW_PASSWORD)
    return None


def _password_user(value: bytes | None, principal: Principal) -> str:
    """RFC 3062: the userIdentity, else the bound user; its new password is never logged."""
    try:
        user = decode_passwd_modify(value).get(_USER_IDENTITY)
    except LDAPError:
        return principal.dn
    return principal.dn if user is None else user.decode("utf-8", "replace")


def is_secret(attribute: str) -> bool:
    """Whether values of `attribute` (with or without options) are masked."""
    return attribute.split(";", 1)[0].lower() in _SECRETS


def format_entry(
    origin: Origin, change: Change, result: int = ResultCode.SUCCESS, *, when: float
) -> str:
    """The LDIF record of one change, secrets masked."""
    kind, lines = _describe(change)
    if result != ResultCode.SUCCESS:
        # Nothing changed: say what was tried, not with which values (a client may send any).
        lines = [lines[0], "# not applied\n"]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    header = (
        f"# {kind} {stamp} {_clean(origin.client)} {_clean(origin.connection)}"
        f" result={int(result)} by {_clean(origin.bind_dn) or 'anonymous'}\n"
    )
    body = format_value("dn", change.dn.encode("utf-8")) + "".join(lines)
    return f"{header}{body}# end {kind} {stamp}\n\n"


def _describe(change: Change) -> tuple[str, list[str]]:
    """The record's kind and its lines after `dn:`."""
    match change:
        case AddRequest(attributes=attributes):
            lines = [_line("changetype", "add")]
            for name, values in attributes:
                lines += _values(name, values)
            return "add", lines
        case ModifyRequest(changes=changes):
            lines = [_line("changetype", "modify")]
            for mod in changes:
                lines.append(_line(_OPS[mod.operation], mod.attr))
                lines += _values(mod.attr, mod.values)
                lines.append("-\n")
            return "modify", lines
        case Deletion():
            return "delete", [_line("changetype", "delete")]
        case ModifyDNRequest(new_rdn=new_rdn, delete_old_rdn=delete_old, new_superior=superior):
            lines = [_line("changetype", "modrdn"), _line("newrdn", new_rdn)]
            lines.append(_line("deleteoldrdn", "1" if delete_old else "0"))
            if superior is not None:
                lines.append(_line("newsuperior", superior))
            return "modrdn", lines
        case Action(name=name, details=details):
            # An LDIF modify with no mod-spec (RFC 2849 allows none); what happened is in the
            # comment lines, so a replay changes nothing.
            lines = [f"# {_clean(key)}: {_clean(value)}\n" for key, value in details]
            return _clean(name), [_line("changetype", "modify"), *lines]


def _line(attr: str, text: str) -> str:
    return format_value(attr, text.encode("utf-8"))


def _values(attr: str, values: Iterable[bytes]) -> list[str]:
    """The lines of one attribute's values, each masked if the attribute is a secret."""
    if is_secret(attr):
        return [format_value(attr, _MASKED) for _ in values]
    return [format_value(attr, value) for value in values]


def _clean(text: str) -> str:
    """One header line stays one line, whatever a client sent as its bind DN."""
    if text.isprintable():
        return text  # the usual case, without a look at each character
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


def _write_all(descriptor: int, data: bytes) -> None:
    """os.write may write less than asked (over ~2 GiB at once on Linux)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


@dataclass(frozen=True, slots=True)
class _Record:
    """One change to log, formatted where it is written."""

    origin: Origin
    change: Change
    result: int
    when: float

    def text(self) -> str:
        return format_entry(self.origin, self.change, self.result, when=self.when)


class AuditLog:
    """Appends records to `path`, rotating it by size; `start()` moves writing to a thread."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = MAX_BYTES,
        keep: int = KEEP_FILES,
        clock: Callable[[], float] = time.time,
        on_error: Callable[[OSError], None] | None = None,
    ) -> None:
        """`on_error` hears of a record the writer thread could not write (from that thread)."""
        self.path = path
        self._on_error = on_error
        self._max_bytes = max_bytes
        self._keep = keep
        self._clock = clock
        self._queue: queue.SimpleQueue[_Record | None] | None = None
        self._thread: threading.Thread | None = None
        self.failed: OSError | None = None  # the last write that failed (the writer goes on)

    def start(self) -> None:
        """Format and write from a thread from now on (the server: the reactor only queues;
        formatting a modify's record was a quarter of the loop's work when it completed)."""
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, args=(self._queue,), name="audit-log", daemon=True
        )
        self._thread.start()

    def record(self, origin: Origin, change: Change, result: int = ResultCode.SUCCESS) -> None:
        """Log one change or action, after it is durable (or after it failed, with its code)."""
        record = _Record(origin, change, result, self._clock())
        if self._queue is None:
            self._append(record.text())
        else:
            self._queue.put(record)  # origin and change are immutable: safe on another thread

    def record_many(self, origin: Origin, changes: Iterable[Change]) -> None:
        """Log many committed changes (an import's entries), in as few appends as the size
        limit allows: an import of 1,000,000 users makes ~300 MB of records."""
        when = self._clock()
        chunk: list[bytes] = []
        size = 0
        for change in changes:
            data = format_entry(origin, change, when=when).encode("utf-8")
            if chunk and size + len(data) > self._max_bytes:
                self._append_bytes(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(data)
            size += len(data)
        if chunk:
            self._append_bytes(b"".join(chunk))

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None

    def _run(self, records: queue.SimpleQueue[_Record | None]) -> None:
        lower_this_thread()  # the record can wait for routing (server.priority)
        while (record := records.get()) is not None:
            try:
                self._append(record.text())
            except OSError as error:
                self.failed = error  # the next record may succeed (space freed, folder made)
                if self._on_error is not None:
                    self._on_error(error)

    def _append(self, text: str) -> None:
        self._append_bytes(text.encode("utf-8"))

    def _append_bytes(self, data: bytes) -> None:
        """Append under the lock, rotating first when `data` would pass the size limit; data
        larger than the limit goes alone into a fresh file (rotating again would never end:
        an import of 1,000,000 users rotated its 300 MB of records for ever)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                if not self._same_file(descriptor):
                    continue  # another process rotated it between our open and our lock
                size = os.fstat(descriptor).st_size
                if size and size + len(data) > self._max_bytes:
                    self._rotate()
                    continue
                _write_all(descriptor, data)
                return
            finally:
                os.close(descriptor)  # and so the lock is released

    def _same_file(self, descriptor: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            return False

    def _rotate(self) -> None:
        """audit.ldif → .1 → .2 ...; the oldest beyond `keep` files goes (under the lock)."""
        oldest = self.path.with_name(f"{self.path.name}.{self._keep - 1}")
        oldest.unlink(missing_ok=True)
        for number in range(self._keep - 2, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{number + 1}"))
        if self._keep > 1:
            self.path.rename(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
