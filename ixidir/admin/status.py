"""`ixidir status`: is this node serving, and can its database be read? One line for scripts.

Reads ixidir.toml, opens the database (entries, changelog position) and asks the local server
for its root DSE over a plain LDAP connection, as a client would. Exit status 0 when both
answer (the one-line summary on stdout), 1 when either does not (a line on stderr naming which
and why), so a service manager or a monitoring script needs no LDAP tools.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ixidir.admin.certificates import show_certificate
from ixidir.admin.errors import AdminError
from ixidir.admin.metrics_files import running_workers
from ixidir.admin.runtime import open_store
from ixidir.config import Config, load_config, split_address
from ixidir.directory.ports import StorageError
from ixidir.server import ber
from ixidir.server.ber import CodecError
from ixidir.server.listen import format_address

TIMEOUT_SECONDS = 5.0
_SEARCH_REQUEST, _SEARCH_ENTRY, _SEARCH_DONE, _EXTENDED_RESPONSE = 0x63, 0x64, 0x65, 0x78
_PRESENT = 0x87  # Filter CHOICE present [7] AttributeDescription
# A listener on every address is asked on loopback, as a local client would.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104


@dataclass(frozen=True, slots=True)
class StoredState:
    entries: int
    sequence: int


def status(data_dir: Path, *, address: str | None = None) -> int:
    """Print the node's summary and return 0, or say what does not answer and return 1.
    `address`: the server to ask (HOST:PORT), else the first `listen` of ixidir.toml."""
    config = load_config(data_dir)
    problems: list[str] = []
    stored: StoredState | None = None
    try:
        stored = _stored_state(data_dir, config)
    except StorageError as error:
        problems.append(f"the database cannot be read: {error}")
    host, port = _target(address or config.listen[0])
    where = format_address(host, port)
    try:
        ask_root_dse(host, port)
    except (OSError, CodecError, ValueError) as error:
        problems.append(f"the server does not answer on {where}: {_reason(error)}")
    if problems or stored is None:
        for problem in problems:
            sys.stderr.write(f"ixidir status: {problem}\n")
        return 1
    sys.stdout.write(_summary(data_dir, config, where, stored) + "\n")
    return 0


def _stored_state(data_dir: Path, config: Config) -> StoredState:
    store = open_store(data_dir, config)
    try:
        return StoredState(entries=store.entry_count(), sequence=store.last_sequence())
    finally:
        store.close()


def _target(address: str) -> tuple[str, int]:
    host, port = split_address(address, key="--address or 'listen'")
    return _LOOPBACK.get(host, host), port


def _summary(data_dir: Path, config: Config, where: str, stored: StoredState) -> str:
    workers = running_workers(data_dir)
    parts = [
        f"ok: serving on {where}",
        f"{stored.entries} entries",
        f"changelog at {stored.sequence}",
        f"{workers} workers" if workers else f"{config.workers} workers configured",
    ]
    if config.tls_certificate is not None:
        parts.append(_certificate(data_dir))
    return "; ".join(parts)


def _certificate(data_dir: Path) -> str:
    try:
        summary, _ = show_certificate(data_dir)
    except (AdminError, OSError, ValueError) as error:
        return f"certificate unreadable ({error})"
    if summary.not_after < datetime.now(UTC):
        return f"certificate EXPIRED on {summary.not_after:%Y-%m-%d}"
    return f"certificate expires {summary.not_after:%Y-%m-%d}"


def root_dse_request(message_id: int = 1) -> bytes:
    """A base search of "" for namingContexts (RFC 4512 §5.1), as any client reads it."""
    search = ber.tlv(
        _SEARCH_REQUEST,
        ber.octets(b"")
        + ber.integer_tlv(0, ber.ENUMERATED)  # scope baseObject
        + ber.integer_tlv(0, ber.ENUMERATED)  # derefAliases never
        + ber.integer_tlv(0)  # no size limit
        + ber.integer_tlv(int(TIMEOUT_SECONDS))
        + ber.boolean_tlv(False)
        + ber.octets(b"objectClass", tag=_PRESENT)
        + ber.sequence(ber.octets(b"namingContexts")),
    )
    return ber.sequence(ber.integer_tlv(message_id), search)


def ask_root_dse(host: str, port: int) -> None:
    """Read the root DSE anonymously; ValueError when the server answers with an error."""
    with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as connection:
        connection.sendall(root_dse_request())
        buffer = bytearray()
        entries = 0
        while True:
            message = _next_message(buffer)
            if message is None:
                chunk = connection.recv(65536)
                if not chunk:
                    raise ValueError("it closed the connection without an answer")
                buffer += chunk
                continue
            tag, code = message
            if tag == _SEARCH_ENTRY:
                entries += 1
            elif tag == _SEARCH_DONE and code == 0 and entries == 1:
                return
            else:
                raise ValueError(f"it answered with LDAP result code {code}")


def _next_message(buffer: bytearray) -> tuple[int, int] | None:
    """Take one LDAPMessage off `buffer`: its protocolOp tag and, for a result, its code."""
    found = ber.header(buffer, 0, len(buffer))
    if found is None or found[1] + found[2] > len(buffer):
        return None
    end = found[1] + found[2]
    _, _, id_end = ber.element(buffer, found[1], end)
    tag, op_start, op_end = ber.element(buffer, id_end, end)
    code = -1
    if tag in (_SEARCH_DONE, _EXTENDED_RESPONSE):  # a notice of disconnection, say
        code = ber.integer(buffer, *ber.expect(buffer, op_start, op_end, ber.ENUMERATED, "code"),
                           "resultCode", 0)  # fmt: skip
    del buffer[:end]
    return tag, code


def _reason(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is `ixidir serve` running?)"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)
