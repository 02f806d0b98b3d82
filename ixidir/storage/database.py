"""Opening and creating Firebird databases, and turning driver errors into StorageErrors."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from firebird.driver import Connection, connect, create_database, driver_config
from firebird.driver import Error as DriverError

from ixidir.directory.ports import StorageConflict, StorageError, StorageUnavailable
from ixidir.storage.prepared import PreparedStatements

# 16 KiB pages: room for the UTF8 index keys of DNs (a key may take about a quarter of a page).
PAGE_SIZE = 16384
CHARSET = "UTF8"
EMBEDDED_USER = "SYSDBA"

# The oldest Firebird whose SQL the schema and statements use (DESIGN.md "Store").
MIN_ENGINE = (3, 0)
_ENGINE_VERSION = "SELECT RDB$GET_CONTEXT('SYSTEM', 'ENGINE_VERSION') FROM RDB$DATABASE"

# Firebird status codes (src/include/firebird/impl/msg/jrd.h) that we translate.
_NETWORK_CODES = frozenset({335544721, 335544722})  # network_error, net_connect_err
_LOGIN = 335544472  # login: user name and password are not defined
_IO_ERROR = 335544344  # io_error: the file cannot be opened or read
_UNIQUE_CODES = frozenset({335544665, 335544349})  # unique_key_violation, no_dup
_UNAVAILABLE_CODES = frozenset(
    {
        335544344,  # io_error: the file cannot be opened or read
        335544323,  # bad_db_format: not a valid database
        335544375,  # unavailable
        335544421,  # connect_reject
        335544472,  # login: user name and password are not defined
        335544528,  # shutdown
        335544648,  # conn_lost
        335544721,  # network_error
        335544726,  # net_read_err
        335544727,  # net_write_err
        335544741,  # lost_db_connection
        335544856,  # att_shutdown
    }
)
# A lost race for a row: the transaction was rolled back and may be run again. Not a lock
# time-out (335544510, also reported under "deadlock"): waiting that long again helps nobody.
_LOST_RACE_CODES = frozenset(
    {
        335544336,  # deadlock
        335544451,  # update_conflict
        335544878,  # concurrent_transaction
    }
)
_LOCK_TIMEOUT = 335544510
_SERVER_DSN = re.compile(r"^(?P<host>[^/:\\]+)(?:/(?P<port>\d+))?:(?P<path>.+)$")
_SERVER_DSN_PORT_COLON = re.compile(r"^(?P<host>[^/:\\]+):(?P<port>\d+):(?P<path>/.*)$")
_SERVER_DSN_PORT_SLASH = re.compile(r"^(?P<host>[^/:\\]+):(?P<port>\d+)/(?P<path>.+)$")


class DatabaseMissing(StorageUnavailable):
    """The database to open does not exist (or its file cannot be opened at all)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a DSN points: a local file (embedded engine) or a path on a Firebird server."""

    dsn: str
    is_server: bool


def parse_dsn(dsn: str | Path) -> Target:
    """Read one of the DSN forms ixidir accepts.

    - a local file path (`/srv/ixidir/ixidir.fdb`, `data/ixidir.fdb`): the embedded engine opens
      the file in this process;
    - `host:port:/abs/path`, ixidir's documented form (`ixidir init --storage-dsn`), e.g.
      `db1:3050:/srv/ixidir/ixidir.fdb`;
    - `host:path` or `host/port:path` (Firebird's classic form), e.g. `db1/3050:/srv/ixidir.fdb`;
    - `host:port/path`: a name without a slash is a server-side alias (`db1:3050/ixidir`); a
      path with slashes is absolute (`db1:3050/srv/ixidir.fdb` is `/srv/ixidir.fdb`, as the
      README once wrote it), never relative to the server's working folder.

    A server DSN is passed to the client library as `host/port:path`.
    """
    if isinstance(dsn, Path):
        return Target(str(dsn), is_server=False)
    if match := _SERVER_DSN_PORT_COLON.match(dsn):
        return Target(f"{match['host']}/{match['port']}:{match['path']}", is_server=True)
    if match := _SERVER_DSN_PORT_SLASH.match(dsn):
        host, port, path = match["host"], match["port"], match["path"]
        if "/" in path and not path.startswith("/"):
            path = "/" + path
        return Target(f"{host}/{port}:{path}", is_server=True)
    if (match := _SERVER_DSN.match(dsn)) and not dsn.startswith(("/", ".")):
        return Target(dsn, is_server=True)
    return Target(dsn, is_server=False)


def open_database(
    dsn: str | Path,
    *,
    create: bool,
    user: str = EMBEDDED_USER,
    password: str | None = None,
    cache_pages: int | None = None,
) -> Connection:
    """Attach to (or create) the database at `dsn`; see `parse_dsn` for the accepted forms.

    `cache_pages` sets this attachment's page cache (embedded SuperClassic: each attachment
    has its own, 256 pages by default): a bulk write into a large database evicts dirty index
    pages from a small cache, and with forced writes each eviction is a synchronous write.

    Created databases get 16 KiB pages, UTF8 as default character set and forced writes ON,
    so a committed write is on the disk when commit returns (DESIGN.md "Reads from memory").
    The embedded runtime must have been prepared (`prepare_embedded_runtime`) first.
    """
    target = parse_dsn(dsn)
    if not target.is_server:
        _check_local_file(Path(target.dsn), create=create)
    try:
        if create:
            connection = create_database(_create_config(target.dsn), user=user, password=password)
        else:
            name = target.dsn if cache_pages is None else _cache_config(target.dsn, cache_pages)
            connection = connect(name, user=user, password=password, charset=CHARSET)
    except DriverError as exc:
        raise _open_failure(exc, target, user=user, create=create) from exc
    try:
        _check_engine_version(connection, target)
    except BaseException:
        connection.close()
        raise
    return connection


def _open_failure(exc: DriverError, target: Target, *, user: str, create: bool) -> StorageError:
    """One line that says which of the usual causes it is: server, login, or database."""
    codes = frozenset(getattr(exc, "gds_codes", ()) or ())
    where, _, path = target.dsn.partition(":") if target.is_server else ("", "", target.dsn)
    if target.is_server and codes & _NETWORK_CODES:
        return StorageUnavailable(
            f"cannot reach the Firebird server {where}: is it running? ({_message(exc)})"
        )
    if target.is_server and _LOGIN in codes:
        return StorageUnavailable(
            f"the Firebird server {where} refused user {user}: wrong user name or password, "
            "or a user without a Srp login"
        )
    doing = "create" if create else "open"
    if _IO_ERROR in codes and not create:
        return DatabaseMissing(f"cannot open the database {path}: {_message(exc)}")
    return StorageUnavailable(f"cannot {doing} the database {target.dsn}: {_message(exc)}")


def _check_engine_version(connection: Connection, target: Target) -> None:
    """Refuse a server older than MIN_ENGINE (the schema's SQL needs 3.0)."""
    with connection.cursor() as cursor:
        cursor.execute(_ENGINE_VERSION)
        row = cursor.fetchone()
    connection.commit()
    version = str(row[0]) if row is not None else ""
    if not is_supported_engine(version):
        raise StorageUnavailable(
            f"the Firebird server of {target.dsn} runs version {version or 'unknown'}; "
            f"ixidir needs {MIN_ENGINE[0]}.{MIN_ENGINE[1]} or later"
        )


def is_supported_engine(version: str) -> bool:
    """Whether an ENGINE_VERSION such as `3.0.11` or `5.0.1` is MIN_ENGINE or later."""
    try:
        numbers = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return len(numbers) == 2 and numbers >= MIN_ENGINE


def _check_local_file(path: Path, *, create: bool) -> None:
    """Fail early, with a plain message, where the engine's own error would be obscure."""
    if create and path.exists():
        raise StorageUnavailable(f"cannot create the database {path}: the file already exists")
    if not create and not path.is_file():
        raise DatabaseMissing(f"cannot open the database {path}: no such file")


def _create_config(dsn: str) -> str:
    """Register (once per process) driver settings for creating `dsn`; return their name.

    firebird-driver takes page size, forced writes and the default character set of a new
    database only from a registered database configuration.
    """
    name = f"ixidir-create:{dsn}"
    config = driver_config.get_database(name) or driver_config.register_database(name)
    config.dsn.value = dsn
    config.page_size.value = PAGE_SIZE
    config.forced_writes.value = True
    config.db_charset.value = CHARSET
    config.charset.value = CHARSET
    return name


def _cache_config(dsn: str, pages: int) -> str:
    """Register (once per process) an attachment to `dsn` with a page cache of `pages`."""
    name = f"ixidir-cache-{pages}:{dsn}"
    config = driver_config.get_database(name) or driver_config.register_database(name)
    config.dsn.value = dsn
    config.cache_size.value = pages
    config.charset.value = CHARSET
    return name


def close_connection(connection: Connection, what: str) -> None:
    """Detach from the database; idempotent. `what` names it in an error."""
    if connection.is_closed():
        return
    try:
        connection.close()
    except DriverError as exc:
        raise translate(exc, f"closing the {what}") from exc


def translate(exc: DriverError, doing: str) -> StorageError:
    """The StorageError for a driver error raised while `doing` something."""
    codes = frozenset(getattr(exc, "gds_codes", ()) or ())
    message = f"{doing}: {_message(exc)}"
    if codes & _UNIQUE_CODES:
        return StorageConflict(message)
    if codes & _UNAVAILABLE_CODES:
        return StorageUnavailable(message)
    return StorageError(message)


def is_lost_race(exc: DriverError) -> bool:
    """Whether `exc` is an update conflict or deadlock that running the transaction again fixes."""
    codes = frozenset(getattr(exc, "gds_codes", ()) or ())
    return bool(codes & _LOST_RACE_CODES) and _LOCK_TIMEOUT not in codes


def _message(exc: DriverError) -> str:
    """The driver's message on one line (Firebird joins its status vector with newlines)."""
    return " ".join(str(exc).split()) or type(exc).__name__


class RenewsConnection:
    """What the stores share about a connection the server dropped (a restart of the Firebird
    server, a cut network): the operation that finds it gone is reported unavailable, and the
    next one runs on a new connection from `_reconnect`. A commit whose outcome is unknown is
    never retried silently (if it did commit, followers apply it from the changelog)."""

    _connection: Connection
    _reconnect: Callable[[], Connection] | None
    _lost: bool
    _prepared: PreparedStatements  # made by _attach, for each connection

    def _attach(self, connection: Connection) -> None:
        raise NotImplementedError

    def _let_go(self) -> None:
        """Release what hangs on the lost connection, before it is closed: its statements."""
        self._prepared.forget()

    def _failed(self, exc: DriverError, doing: str) -> StorageError:
        """The StorageError for `exc`; a connection found gone is renewed before the next call."""
        error = translate(exc, doing)
        if isinstance(error, StorageUnavailable):
            self._lost = True
        return error

    def _renew(self) -> None:
        """Replace a lost connection, before an operation (nothing to do while it works)."""
        if not self._lost or self._reconnect is None:
            return
        self._let_go()
        with suppress(DriverError):
            self._connection.close()
        try:
            connection = self._reconnect()
        except DriverError as exc:
            raise translate(exc, "reconnecting to the database") from exc
        self._attach(connection)
