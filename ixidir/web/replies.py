"""What a page answers (`Reply`), and the small HTTP helpers the pages share.

Twisted Web's request methods are untyped; they are called here only, on `Any`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from importlib.resources import files
from typing import Any

from twisted.web.server import Request

STATIC_TYPES = {".css": b"text/css; charset=utf-8", ".js": b"text/javascript; charset=utf-8"}
# Content-Security-Policy: scripts, styles and requests only from ixidir itself (one small
# script of ours: the new-user preview), nothing inline, no frames.
CSP = (
    b"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    b"img-src 'self'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(slots=True)
class Reply:
    status: int = HTTPStatus.OK
    body: bytes = b""
    content_type: bytes = b"text/html; charset=utf-8"
    headers: dict[bytes, bytes] = field(default_factory=dict)
    cookies: list[bytes] = field(default_factory=list)


def respond(request: Any, reply: Reply) -> None:
    """Write the reply (Twisted Web's request methods are untyped: `Any` here only)."""
    request.setResponseCode(reply.status)
    request.setHeader(b"content-type", reply.content_type)
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"referrer-policy", b"same-origin")
    request.setHeader(b"content-security-policy", CSP)
    request.setHeader(b"cache-control", b"no-store")
    for name, value in reply.headers.items():
        request.setHeader(name, value)
    for cookie in reply.cookies:
        request.responseHeaders.addRawHeader(b"set-cookie", cookie)
    request.write(reply.body)
    request.finish()


def static_file(name: str) -> Reply:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or suffix not in STATIC_TYPES:
        return Reply(HTTPStatus.NOT_FOUND, b"not found", b"text/plain")
    source = files("ixidir.web").joinpath("static", name)
    if not source.is_file():
        return Reply(HTTPStatus.NOT_FOUND, b"not found", b"text/plain")
    reply = Reply(HTTPStatus.OK, source.read_bytes(), STATIC_TYPES[suffix])
    reply.headers[b"cache-control"] = b"max-age=3600"
    return reply


def redirect(location: str) -> Reply:
    return Reply(HTTPStatus.SEE_OTHER, b"", headers={b"location": location.encode("utf-8")})


def cookie_of(request: Any, name: str) -> str | None:
    value = request.getCookie(name.encode("ascii"))
    return value.decode("ascii", "replace") if value else None


def arg(request: Request, name: str) -> str | None:
    values = (request.args or {}).get(name.encode("ascii"))
    return values[0].decode("utf-8", "replace") if values else None


def int_arg(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def client_of(request: Any) -> str:
    """The browser's address as the audit log writes LDAP clients' (`IP=192.0.2.7:50312`)."""
    address = request.getClientAddress()
    host, port = getattr(address, "host", "?"), getattr(address, "port", 0)
    return f"IP={host}:{port}"
