"""The process configuration `DATA/ixidir.toml`: the `Config` value, where DATA is, load and write.

Reading uses the standard library's `tomllib`. Python has no TOML writer, and the file holds only
strings, integers, booleans and lists of strings, so a small emitter below writes it: cheaper than a
runtime dependency on `tomli-w` (which Debian's python3 does not ship) for about thirty lines.
Site settings that every node must share (country code, daily limits, ...) are not here: they live
in the directory's `ixiUmsServerDefaults` entry (SCHEMA.md).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from ixidir.dn import DN
from ixidir.errors import InvalidDNSyntax

CONFIG_FILE = "ixidir.toml"
_ONE_LINE_ARRAY = 72  # longer string lists are written one item per line, for readable diffs
EMBEDDED_DATABASE = "ixidir.fdb"  # inside the data directory when `storage_dsn` is unset
DEFAULT_DATA_DIR = "ixidir-data"
DATA_ENV = "IXIDIR_DATA"
MAX_WORKERS = 64  # each worker holds the whole directory in memory
# Two, not "one per CPU": two served the connector's search 1.2-1.4x faster than one on the
# 2-core machine of issue 11, and each worker holds the whole directory, so one per CPU would
# multiply memory on a large host for a gain nobody measured there. A fixed number also keeps a
# directory's behaviour (and the line `ixidir init` writes) the same on every machine. On one
# CPU the second worker gains nothing and costs its memory: set `workers = 1` there.
DEFAULT_WORKERS = 2
# Keys `ixidir init` writes as comments while they hold the default (DESIGN.md: an absent key
# takes the default, so a better default reaches existing directories).
FOLLOW_DEFAULT = frozenset(
    {
        "workers",
        "size_limit",
        "time_limit",
        "max_connections",
        "max_connections_per_address",
        "idle_timeout",
        "max_pending_requests",
        "anonymous_max_pdu_size",
    }
)
# Resource limits (issue 12 item 3; the README's "Resource limits" says why each default).
DEFAULT_SIZE_LIMIT = 500  # slapd's `sizelimit` default
DEFAULT_TIME_LIMIT = 3600  # slapd's `timelimit` default, in seconds
DEFAULT_MAX_CONNECTIONS = 4096  # per server process (worker): its file descriptors
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256  # loopback is exempt (the connector runs there)
DEFAULT_IDLE_TIMEOUT = 3600  # seconds; a connector keeps its connection open between calls
DEFAULT_MAX_PENDING_REQUESTS = 64  # then we stop reading from the connection (back-pressure)
DEFAULT_ANONYMOUS_MAX_PDU_SIZE = 256 * 1024  # slapd's sockbuf_max_incoming default
DEFAULT_METRICS_LISTEN = "127.0.0.1:9391"  # loopback: the figures are for this site's monitoring
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
SIMPLE_BIND_TLS = ("off-host", "always", "never")  # as slapd's `security simple_bind`
_ONE_OR_MORE = frozenset({"listen_ldaps"})  # a list of addresses, or one as a string
_ADDRESS = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]*)):(?P<port>[0-9]{1,5})")
_ATTR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
# One line per key, written above it in the file so an administrator can edit it unaided.
KEY_HELP = {
    "base_dn": "suffix this server holds; the administrator is cn=admin,<base_dn>",
    "listen": "addresses to serve LDAP on, HOST:PORT ([v6]:PORT for IPv6)",
    "listen_ldaps": 'addresses to serve LDAPS on, e.g. ["0.0.0.0:636"]; needs tls_certificate',
    "storage_dsn": "Firebird server database host:port/path; unset = embedded ixidir.fdb here",
    "storage_user": "user name for the Firebird server",
    "storage_password_file": "file holding that user's password (relative = to this folder)",
    "anonymous_read": "whether anonymous clients may search (never secrets)",
    "service_accounts": "DNs that may read every non-secret attribute (Messaging Connector)",
    "password_scheme": "hash scheme for new userPassword values",
    "indexed_attributes": "attributes with an equality index in memory",
    "routing_attributes": "attributes whose numbers route to their entry (unique per number)",
    "max_pdu_size": "largest LDAP request accepted, in bytes",
    "workers": "server processes sharing the listening ports (SO_REUSEPORT); 1 = one process;"
    f" left out = the default, {DEFAULT_WORKERS}",
    "size_limit": "search size limit for all but the administrator and service accounts;"
    " 0 = none; left out = the default, 500",
    "time_limit": "search time limit in seconds for all but the administrator; 0 = none;"
    " left out = the default, 3600",
    "max_connections": "connections one server process accepts; 0 = no limit; left out = 4096",
    "max_connections_per_address": "connections from one client address (loopback exempt);"
    " 0 = no limit; left out = 256",
    "idle_timeout": "seconds a connection may be idle before it is closed; 0 = never;"
    " left out = 3600",
    "max_pending_requests": "requests queued per connection before the server stops reading"
    " from it; left out = 64",
    "anonymous_max_pdu_size": "largest request accepted before a successful bind, in bytes;"
    " left out = 262144",
    "tls_certificate": "PEM certificate for LDAPS/StartTLS (with tls_key)",
    "tls_key": "PEM private key for tls_certificate",
    "simple_bind_tls": (
        "when a password bind needs TLS: off-host (unless from this machine), always or never;"
        " absent = never"
    ),
    "log_level": "one of debug, info, warning, error, critical",
    "snapshot_every_changes": "write a start-up snapshot after this many changes; 0 = not for that",
    "snapshot_every_minutes": "write one this many minutes after a change; 0 = not for that",
    "metrics_listen": 'HOST:PORT serving Prometheus metrics at /metrics, once per node; "" = none',
    "audit_log": "file the audit log is appended to (relative = to this folder);"
    " unset = audit.ldif here",
}


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""

    def __init__(self, message: str, *, key: str | None = None, path: Path | None = None):
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.key = key
        self.path = path


@dataclass(frozen=True, slots=True)
class Config:
    """Settings of one ixidir process; validated on construction, so a `Config` is always usable."""

    base_dn: str
    listen: tuple[str, ...] = ("0.0.0.0:391",)
    listen_ldaps: tuple[str, ...] = ()  # none by default: LDAPS needs a certificate
    storage_dsn: str | None = None  # None: the embedded database DATA/ixidir.fdb
    storage_user: str | None = None  # for a Firebird server (`host:port/path` DSN)
    storage_password_file: str | None = None
    anonymous_read: bool = False
    service_accounts: tuple[str, ...] = ()  # DNs that may read every non-secret attribute
    password_scheme: str = "PBKDF2-SHA512"  # noqa: S105 (a hash scheme's name, not a password)
    indexed_attributes: tuple[str, ...] = (
        "objectClass",
        "uid",
        "cn",
        "mail",
        "sn",
        "givenName",
        "displayName",
        "facsimileTelephoneNumber",
        "ixiVoiceNumber",
        "ixiSmsNumber",
        "telephoneNumber",
        "mobile",
        "entryUUID",
    )
    routing_attributes: tuple[str, ...] = (
        "facsimileTelephoneNumber",
        "ixiVoiceNumber",
        "ixiSmsNumber",
    )
    max_pdu_size: int = 4 * 1024 * 1024  # larger requests are refused before decoding
    # Processes serving the same ports, each with the whole directory (DEFAULT_WORKERS says why
    # two). A client reads its own acknowledged writes on any worker: a worker that is behind
    # the node's committed sequence holds the request until its follower caught up
    # (server/freshness.py).
    workers: int = DEFAULT_WORKERS
    size_limit: int = DEFAULT_SIZE_LIMIT  # not for the admin and service accounts; 0 = none
    time_limit: int = DEFAULT_TIME_LIMIT  # seconds, not for the admin; 0 = none
    max_connections: int = DEFAULT_MAX_CONNECTIONS  # per process; 0 = no limit
    max_connections_per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS  # 0 = no limit
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT  # seconds; 0 = never
    max_pending_requests: int = DEFAULT_MAX_PENDING_REQUESTS
    anonymous_max_pdu_size: int = DEFAULT_ANONYMOUS_MAX_PDU_SIZE
    # The audit log (issue 12 item 4); None = DATA/audit.ldif.
    audit_log: str | None = None
    tls_certificate: str | None = None
    tls_key: str | None = None
    # None: the key is absent, as in every data directory made before TLS; such a site keeps
    # `never` (its connector binds in clear text) and the server says so at each start.
    # `ixidir init` writes "off-host" explicitly, which is how a new directory differs.
    simple_bind_tls: str | None = None
    log_level: str = "info"
    # Periodic start-up snapshots (ixidir.admin.snapshots): a start after a crash replays at
    # most about this many changes (warmstart.MAX_REPLAYED_CHANGES refuses more on a small site).
    snapshot_every_changes: int = 1000
    snapshot_every_minutes: int = 30
    # Prometheus metrics of every worker, served by the parent process ("" = off; issue 14).
    metrics_listen: str = DEFAULT_METRICS_LISTEN

    def __post_init__(self) -> None:
        _check_dn("base_dn", self.base_dn)
        if not self.listen:
            raise ConfigError("'listen' needs at least one HOST:PORT", key="listen")
        for address in self.listen:
            split_address(address)
        for address in self.listen_ldaps:
            split_address(address, key="listen_ldaps")
        for account in self.service_accounts:
            _check_dn("service_accounts", account)
        for key in ("indexed_attributes", "routing_attributes"):
            for name in getattr(self, key):
                if not _ATTR_NAME.fullmatch(name):
                    raise ConfigError(f"{key!r}: invalid attribute name {name!r}", key=key)
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"'workers' must be 1 to {MAX_WORKERS}", key="workers")
        if self.max_pdu_size < 1:
            raise ConfigError(
                "'max_pdu_size' must be a positive number of bytes", key="max_pdu_size"
            )
        for key in (
            "size_limit",
            "time_limit",
            "max_connections",
            "max_connections_per_address",
            "idle_timeout",
        ):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key!r} must be 0 (none) or positive", key=key)
        for key in ("max_pending_requests", "anonymous_max_pdu_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key!r} must be positive", key=key)
        if (self.tls_certificate is None) != (self.tls_key is None):
            raise ConfigError("'tls_certificate' and 'tls_key' go together", key="tls_key")
        if self.listen_ldaps and self.tls_certificate is None:
            raise ConfigError(
                "'listen_ldaps' needs 'tls_certificate' and 'tls_key' (ixidir cert create)",
                key="listen_ldaps",
            )
        if self.simple_bind_tls not in (None, *SIMPLE_BIND_TLS):
            raise ConfigError(
                f"'simple_bind_tls' must be one of {', '.join(SIMPLE_BIND_TLS)}",
                key="simple_bind_tls",
            )
        for key in ("snapshot_every_changes", "snapshot_every_minutes"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key!r} must be 0 (off) or positive", key=key)
        if self.metrics_listen:
            split_address(self.metrics_listen, key="metrics_listen")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"'log_level' must be one of {', '.join(LOG_LEVELS)}", key="log_level"
            )


def split_address(address: str, *, key: str = "listen") -> tuple[str, int]:
    """Split `HOST:PORT` (`[v6]:PORT` for IPv6) as `listen` and `ixidir serve --listen` take it."""
    match = _ADDRESS.fullmatch(address)
    if match is None or int(match["port"]) > 65535:
        raise ConfigError(f"{key!r}: {address!r} is not HOST:PORT", key=key)
    return match["ipv6"] or match["host"], int(match["port"])


def _check_dn(key: str, value: str) -> None:
    try:
        parsed = DN.parse(value)
    except InvalidDNSyntax as err:
        raise ConfigError(f"{key!r}: {err.message}", key=key) from None
    if not parsed:
        raise ConfigError(f"{key!r} must not be empty", key=key)


def data_dir_from(arg: str | None, *, environ: Mapping[str, str] = os.environ) -> Path:
    """The data directory: `--data DIR`, else `$IXIDIR_DATA`, else `./ixidir-data` (DESIGN.md)."""
    return Path(arg or environ.get(DATA_ENV) or DEFAULT_DATA_DIR)


def resolve_path(data_dir: Path, value: str) -> Path:
    """A file named in the configuration; relative names are relative to the data directory."""
    return data_dir / Path(value).expanduser()


def load_config(data_dir: Path) -> Config:
    """Read DATA/ixidir.toml; unknown keys and wrong types are errors, never silently ignored."""
    path = Path(data_dir) / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("not found; create it with 'ixidir init'", path=path) from None
    return _parse_config(text, path)


def _parse_config(text: str, path: Path) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", path=path) from None
    hints = get_type_hints(Config)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in hints:
            known = ", ".join(hints)
            raise ConfigError(f"unknown key {key!r} (known keys: {known})", key=key, path=path)
        if key in _ONE_OR_MORE and isinstance(value, str):
            value = [value] if value else []  # "HOST:PORT", or "" for none (DESIGN.md)
        values[key] = _typed(key, value, hints[key], path)
    if "base_dn" not in values:
        raise ConfigError("missing 'base_dn'", key="base_dn", path=path)
    try:
        return Config(**values)
    except ConfigError as err:
        raise ConfigError(str(err), key=err.key, path=path) from None


def _typed(key: str, value: object, hint: object, path: Path) -> object:
    """Check one TOML value against the field's type (bools are not integers here)."""
    if hint == tuple[str, ...]:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        expected = "a list of strings"
    elif hint in (str, str | None):
        if isinstance(value, str):
            return value
        expected = "a string"
    elif hint is bool:
        if isinstance(value, bool):
            return value
        expected = "true or false"
    else:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        expected = "an integer"
    found = type(value).__name__
    raise ConfigError(f"{key!r} must be {expected}, not {found} {value!r}", key=key, path=path)


def write_config(data_dir: Path, config: Config) -> Path:
    """Write DATA/ixidir.toml atomically: a crash leaves the old file or the new one, never half."""
    path = Path(data_dir) / CONFIG_FILE
    temporary = path.with_name(CONFIG_FILE + ".tmp")
    temporary.write_text(format_config(config), encoding="utf-8")
    os.replace(temporary, path)
    return path


def set_config_strings(data_dir: Path, values: Mapping[str, str]) -> Config:
    """Set string keys in DATA/ixidir.toml, keeping every other line (and the administrator's
    comments) as it is: an existing `key = ...` line, or the commented `# key = ""` that
    `format_config` writes for an unset key, is replaced; otherwise the key is appended.
    The result is checked as `load_config` would before the file is replaced."""
    path = Path(data_dir) / CONFIG_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    for key, value in values.items():
        line = f"{key} = {_toml_string(value)}"
        pattern = re.compile(rf"#?\s*{re.escape(key)}\s*=.*")
        found = next((i for i, text in enumerate(lines) if pattern.fullmatch(text)), None)
        if found is None:
            lines.append(line)
        else:
            lines[found] = line
    text = "\n".join(lines) + "\n"
    config = _parse_config(text, path)
    temporary = path.with_name(CONFIG_FILE + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return config


def format_config(config: Config) -> str:
    """The TOML text of `config`: every key in field order, unset optional ones as comments, and
    so are tuning keys at their default, so a later release's default reaches this directory."""
    lines = ["# ixidir process configuration; read at start-up (README.md, 'Configuration')."]
    for item in fields(config):
        value = getattr(config, item.name)
        lines.append(f"\n# {KEY_HELP[item.name]}")
        if value is None:
            lines.append(f'# {item.name} = ""')
        elif item.name in FOLLOW_DEFAULT and value == item.default:
            lines.append(f"# {item.name} = {_toml_value(value)}")
        else:
            lines.append(f"{item.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple):
        items = [_toml_string(str(item)) for item in value]
        if sum(len(item) + 2 for item in items) <= _ONE_LINE_ARRAY:
            return "[" + ", ".join(items) + "]"
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped (TOML 1.0 §String)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
