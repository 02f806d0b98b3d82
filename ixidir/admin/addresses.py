"""The addresses `ixidir serve` listens on: checked before the directory loads, and every
failure to bind said in one line that names the cause and what to do (never a traceback)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

from ixidir.admin.errors import AdminError
from ixidir.server.listen import format_address, parse_address

# What helps, by the errno a bind fails with.
_ADVICE = {
    errno.EADDRINUSE: (
        "the port is in use by another program (another LDAP server?); stop it, or choose "
        "another port with --listen HOST:PORT or 'listen' in ixidir.toml"
    ),
    errno.EACCES: (
        "permission denied: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability; "
        "run as root, grant it (setcap cap_net_bind_service=+ep on the Python interpreter), "
        "or listen on a port of 1024 or more"
    ),
    errno.EADDRNOTAVAIL: (
        "the address is not one of this machine's; listen on one of its addresses, "
        "or 0.0.0.0 for all"
    ),
}


def parse_addresses(texts: Sequence[str], *, source: str) -> list[tuple[str, int]]:
    """(host, port) of each `HOST:PORT`; AdminError naming the address and `source` (the
    option or the configuration key it came from)."""
    parsed = []
    for text in texts:
        try:
            parsed.append(parse_address(text))
        except ValueError as error:
            raise AdminError(
                f"{source} {text!r}: {_reason(error)}; write HOST:PORT with a port from 0 to "
                "65535, e.g. 127.0.0.1:391 ([::1]:391 for IPv6, port 0 for any free port)"
            ) from None
    return parsed


def _reason(error: ValueError) -> str:
    text = str(error)
    if "out of range" in text:
        return "port out of range"
    return text.split(",", 1)[0]  # "expected HOST:PORT" or the IPv6 advice, without the repeat


def check_bindable(addresses: Sequence[tuple[str, int]]) -> None:
    """Bind each address once and let go, so a busy or forbidden port is reported before the
    directory spends seconds loading. The real listen reports a race the same way."""
    for host, port in addresses:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
        except socket.gaierror as error:
            raise AdminError(
                f"cannot listen on {format_address(host, port)}: unknown host ({error.strerror})"
            ) from None
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Twisted binds
            try:
                probe.bind(address)
            except OSError as error:
                raise AdminError(bind_failure(host, port, error)) from None


def bind_failure(host: str, port: int, error: OSError) -> str:
    """One line: which address, why, and what to do."""
    advice = _ADVICE.get(error.errno or 0) or (error.strerror or str(error))
    return f"cannot listen on {format_address(host, port)}: {advice}"
