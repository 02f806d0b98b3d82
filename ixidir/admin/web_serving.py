"""What `ixidir serve` hands the web UI, and the one rule checked before anything loads.

The web UI (ixidir.web) sits above admin in the layers, so `serve` does not import it: the
CLI passes its starter in (`WebStarter`), and `serve` calls it once per node, in the parent
process, with the directory, the offload and the certificate it serves LDAP with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.logger import Logger

from ixidir.admin.errors import AdminError
from ixidir.config import ConfigError, split_address
from ixidir.directory.directory import Directory
from ixidir.server.audit import AuditLog
from ixidir.server.bindguard import BindGuard
from ixidir.server.offload import Offload
from ixidir.server.tls import ServerTLS


@dataclass(frozen=True, slots=True)
class WebContext:
    reactor: Any
    address: str  # HOST:PORT, port 0 = any free one
    directory: Directory
    offload: Offload
    base_dn: str
    tls: ServerTLS | None  # the LDAP certificate: HTTPS when set
    audit: AuditLog | None
    log: Logger
    data_dir: Path  # LDIF export and import run the commands on it
    guard: BindGuard | None = None  # logins are throttled and locked out as LDAP binds are


# Starts listening; returns the listening ports (for the `web on` line).
WebStarter = Callable[[WebContext], Sequence[Any]]


def check_web_address(address: str, tls: ServerTLS | None, *, source: str) -> None:
    """Plain HTTP only on loopback: a password typed in elsewhere would cross the network."""
    try:
        host, _ = split_address(address, key="web_listen")
    except ConfigError:
        raise AdminError(f"{source}: {address!r} is not HOST:PORT") from None
    if tls is None and not is_loopback(host):
        raise AdminError(
            f"{source}: the web UI serves {host} only over HTTPS, and no certificate is "
            "configured: set tls_certificate and tls_key (ixidir cert create), or listen on "
            "127.0.0.1"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
