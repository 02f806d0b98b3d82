"""The `ixidir` command: argument parsing and dispatch to the use-cases in `ixidir.admin`.

This is the composition root (STYLE.md §7): the only module that picks the global reactor.
Every subcommand takes `--data DIR` (default `$IXIDIR_DATA`, else `./ixidir-data`).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from ixidir import __version__
from ixidir.admin.errors import AdminError
from ixidir.config import ConfigError, data_dir_from
from ixidir.directory.ports import StorageError
from ixidir.errors import LDAPError
from ixidir.ldif import LdifError

if TYPE_CHECKING:
    from ixidir.admin.initialize import ServerStorage
    from ixidir.admin.unknowns import DropPolicy


DROP_ALL = "*"  # `--drop-unknown` without NAME
SHOW_TRACEBACK = "IXIDIR_TRACEBACK"
_FILE_ADVICE = {
    errno.ENOENT: "; check the name and the folder",
    errno.EACCES: "; check the file's owner and mode, or run ixidir as the user who owns it",
    errno.EISDIR: "; give a file, not a folder",
}


class CommandError(Exception):
    """A failure the user can act on: printed as `ixidir: <message>`, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    # `--data` is accepted before and after the subcommand (DESIGN.md: every subcommand takes it);
    # SUPPRESS keeps a subcommand's absent option from overwriting one given before it.
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--data",
        default=argparse.SUPPRESS,
        help="data directory (default: $IXIDIR_DATA or ./ixidir-data)",
    )
    parser = argparse.ArgumentParser(
        prog="ixidir",
        description="ixidir: the LDAP directory for unified messaging",
        parents=[data],
    )
    parser.add_argument("--version", action="version", version=f"ixidir {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser(
        "init", parents=[data], help="create the data directory, database and base entries"
    )
    init.add_argument("--base-dn", required=True)
    init.add_argument("--admin-password-file", required=True, type=Path)
    # No defaults here: a node joining a server database takes the stored site settings, and
    # only flags actually given are compared with them (a new site defaults to 49/8142/Berlin).
    init.add_argument("--country-code", help="default 49")
    init.add_argument("--area-code", help="default 8142")
    init.add_argument("--timezone", help="default Europe/Berlin")
    init.add_argument(
        "--storage-dsn",
        metavar="HOST:PORT:/abs/path",
        help="a database on a Firebird server (3.0 or later): created, or joined when it exists",
    )
    init.add_argument("--storage-user", metavar="USER", help="Firebird user for --storage-dsn")
    init.add_argument(
        "--storage-password-file", metavar="FILE", type=Path, help="that user's password"
    )
    init.add_argument(
        "--no-certificate",
        dest="certificate",
        action="store_false",
        help="make no self-signed TLS certificate (import one later with 'ixidir cert import')",
    )

    serve = commands.add_parser("serve", parents=[data], help="serve LDAP")
    serve.add_argument(
        "--listen",
        action="append",
        metavar="HOST:PORT",
        help="address to listen on (repeatable; default from ixidir.toml)",
    )
    serve.add_argument(
        "--listen-ldaps",
        action="append",
        metavar="HOST:PORT",
        help="address to serve LDAPS on (repeatable; default from ixidir.toml: none)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes sharing the ports (SO_REUSEPORT; default from ixidir.toml, 2)",
    )
    serve.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help='address to serve Prometheus metrics on ("" = none; default from ixidir.toml)',
    )
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)

    status = commands.add_parser(
        "status",
        parents=[data],
        help="exit 0 when the local server answers and its database is reachable (one line)",
    )
    status.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="the server to ask (default: the first 'listen' address of ixidir.toml)",
    )
    imp = commands.add_parser(
        "import", parents=[data], help="add the entries of an LDIF file, all or nothing"
    )
    imp.add_argument("file", type=Path, nargs="?")
    imp.add_argument("--rebase", metavar="OLD_SUFFIX", help="move entries from OLD_SUFFIX to ours")
    imp.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    imp.add_argument("--verbose", "-v", action="store_true", help="print each entry added")
    imp.add_argument(
        "--drop-unknown",
        action="append",
        nargs="?",
        const=DROP_ALL,
        default=[],
        metavar="NAME",
        help="import although attributes, object classes or options (cn;lang-de) our schema "
        "does not know appear: NAME (repeatable), or all of them without NAME; "
        "says what was dropped",
    )
    imp.add_argument(
        "--drop-unknown-attribute",
        action="append",
        default=[],
        metavar="NAME",
        help="the same as --drop-unknown NAME",
    )

    exp = commands.add_parser("export", parents=[data], help="write the whole directory as LDIF")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")

    backup = commands.add_parser(
        "backup", parents=[data], help="write every table of the (running) site, at one moment"
    )
    backup.add_argument("-o", "--output", type=Path, required=True, help="the backup file")
    restore = commands.add_parser(
        "restore", parents=[data], help="make a new data directory from a backup"
    )
    restore.add_argument("file", type=Path, help="a file `ixidir backup` wrote")

    route = commands.add_parser(
        "route", parents=[data], help="print the mail and DN a number routes to"
    )
    route.add_argument("number")

    for group in command_groups():
        group.register(commands, data)

    schema = commands.add_parser("schema", parents=[data], help="schema tools")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    export_schema = schema_commands.add_parser(
        "export", parents=[data], help="write the ixi schema for OpenLDAP"
    )
    export_schema.add_argument("--format", choices=("schema", "ldif"), default="schema")
    export_schema.add_argument("-o", "--output", type=Path)
    return parser


class CommandGroup(Protocol):
    """A module that adds a command with subcommands (`ixidir user ...`) and runs it."""

    NAME: str

    def register(self, commands: Any, data: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, data_dir: Path) -> int: ...


def command_groups() -> list[CommandGroup]:
    """The command groups of the use-case modules (user, voicemail, limits, cert, admin), each
    its own file."""
    from ixidir.admin import (
        admin_commands,
        cert_commands,
        limits_commands,
        user_commands,
        voicemail_commands,
    )

    modules = (user_commands, voicemail_commands, limits_commands, cert_commands, admin_commands)
    return [cast(CommandGroup, module) for module in modules]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = data_dir_from(getattr(args, "data", None))
    try:
        return _dispatch(args, data_dir)
    except BrokenPipeError:
        # `ixidir export | head`: the reader left; say nothing, like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (AdminError, CommandError, ConfigError, LdifError, LDAPError, OSError) as err:
        return _fail(_describe(err))
    except StorageError as err:
        return _fail(_describe_storage(err))
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # the last word: a bug, said in one line
        if os.environ.get(SHOW_TRACEBACK):
            raise
        return _fail(
            f"unexpected {type(err).__name__}: {_one_line(str(err))}; this is a bug in ixidir, "
            f"please report it (run again with {SHOW_TRACEBACK}=1 for the traceback)",
            status=70,
        )


def _fail(message: str, *, status: int = 2) -> int:
    """Failures a user can act on are one line on standard error, never a traceback."""
    print(f"ixidir: {message}", file=sys.stderr)  # noqa: T201
    _quiet_driver_shutdown()
    return status


def _quiet_driver_shutdown() -> None:
    """firebird-driver's exit hook raises "connection shutdown" after an attach failed (a lock
    folder we may not write) and Python prints its traceback after our one line. It is a
    private function: wrapped only when present, run as before but quietly."""
    core = sys.modules.get("firebird.driver.core")
    shutdown = getattr(core, "_api_shutdown", None)
    if not callable(shutdown):
        return
    atexit.unregister(shutdown)

    def quietly() -> None:
        with contextlib.suppress(Exception):
            shutdown()

    atexit.register(quietly)


def _describe(err: Exception) -> str:
    if isinstance(err, LDAPError):
        return f"{err.result_code.rfc_name}: {err.message}"
    if isinstance(err, OSError) and err.filename is not None:
        advice = _FILE_ADVICE.get(err.errno or 0, "")
        reason = (err.strerror or str(err)).lower()
        return f"{err.filename}: {reason}{advice}"
    return str(err)


def _describe_storage(err: StorageError) -> str:
    text = _one_line(str(err))
    if "permission denied" in text.lower():
        return f"{text}; the user running ixidir must be able to read and write the data directory"
    if "newer than this ixidir" in text:
        return text
    return f"{text}; check --data (or $IXIDIR_DATA) and, for a Firebird server, storage_dsn"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _dispatch(args: argparse.Namespace, data_dir: Path) -> int:
    # Imports are local so that `ixidir --help` and light commands don't load Twisted or Firebird.
    match args.command:
        case "init":
            from ixidir.admin.initialize import Site, initialize

            created = initialize(
                data_dir,
                base_dn=args.base_dn,
                admin_password_file=args.admin_password_file,
                site=Site(args.country_code, args.area_code, args.timezone),
                storage=_server_storage(args),
                certificate=args.certificate,
            )
            joined = "" if created else f" (joined the existing database {args.storage_dsn})"
            print(f"initialized {data_dir}{joined}")  # noqa: T201
            return 0
        case "serve":
            from twisted.internet import reactor

            from ixidir.admin.serving import serve

            return serve(
                data_dir,
                reactor=reactor,
                listen_on=args.listen,
                listen_ldaps_on=args.listen_ldaps,
                metrics_listen_on=args.metrics_listen,
                workers=args.workers,
                is_worker=args.worker,
            )
        case "import":
            from ixidir.admin.transfer import import_ldif

            file, drop = _import_arguments(args)
            return import_ldif(
                data_dir, file, rebase=args.rebase, dry_run=args.dry_run, verbose=args.verbose,
                drop=drop,
            )  # fmt: skip
        case "export":
            from ixidir.admin.transfer import export_ldif

            return export_ldif(data_dir, args.output)
        case "backup":
            from ixidir.admin.backup import backup

            return backup(data_dir, args.output)
        case "restore":
            from ixidir.admin.backup import restore

            return restore(data_dir, args.file)
        case "status":
            from ixidir.admin.status import status

            return status(data_dir, address=args.address)
        case "route":
            from ixidir.admin.routes import print_route

            return print_route(data_dir, args.number)
        case str(name) if (group := _group(name)) is not None:
            return group.run(args, data_dir)
        case "schema":
            from ixidir.admin.schema_export import export_schema

            return export_schema(args.format, args.output)
    raise CommandError(f"unknown command {args.command!r}")


def _import_arguments(args: argparse.Namespace) -> tuple[Path, DropPolicy]:
    """The file and what may be dropped. `--drop-unknown FILE` (the flag without NAME, written
    before the file) takes the file as its NAME: an existing file is the file to import."""
    from ixidir.admin.unknowns import DropPolicy

    names: list[str] = [*args.drop_unknown, *args.drop_unknown_attribute]
    file: Path | None = args.file
    if file is None and args.drop_unknown and Path(args.drop_unknown[-1]).is_file():
        file = Path(args.drop_unknown[-1])
        names[len(args.drop_unknown) - 1] = DROP_ALL
    if file is None:
        raise CommandError("import: which LDIF file? (ixidir import FILE.ldif)")
    named = [name for name in names if name != DROP_ALL]
    return file, DropPolicy.of(named, drop_all=DROP_ALL in names)


def _server_storage(args: argparse.Namespace) -> ServerStorage | None:
    """`--storage-dsn`, `--storage-user` and `--storage-password-file` come together or not."""
    from ixidir.admin.initialize import ServerStorage

    given = (args.storage_dsn, args.storage_user, args.storage_password_file)
    if all(value is None for value in given):
        return None
    if any(value is None for value in given):
        raise CommandError("--storage-dsn, --storage-user and --storage-password-file go together")
    return ServerStorage(args.storage_dsn, args.storage_user, args.storage_password_file)


def _group(name: str) -> CommandGroup | None:
    return next((group for group in command_groups() if name == group.NAME), None)
