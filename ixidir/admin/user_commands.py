"""`ixidir user ...`: the command line of the user use-cases, and their terminal output.

A table (rich) on a terminal, tab-separated values when piped, so `ixidir user list | cut -f2`
works; errors are AdminError, printed by the CLI as `ixidir: <message>`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ixidir.admin.auditing import open_audit_log
from ixidir.admin.errors import AdminError
from ixidir.admin.lockouts import bind_state, unlock
from ixidir.admin.runtime import opened
from ixidir.admin.tables import print_table
from ixidir.admin.templates import render_display_name, render_mail, render_uid
from ixidir.admin.users import (
    DEFAULT_COLUMNS,
    TEMPLATE_ATTRS,
    NewUser,
    Session,
    User,
    add_user,
    delete_user,
    find_user,
    list_users,
    read_templates,
    resolve_columns,
    set_templates,
    set_user,
)
from ixidir.storage.migrations import utc_now as changelog_clock

NAME = "user"
# The vendor console's "address example" (manual §4.1.2.1) for the templates shown.
EXAMPLE = {"givenname": "Jürgen", "sn": "Müller", "uid": "jmueller", "o": "Example"}
# Multi-valued attributes in one table cell / TSV field.
VALUE_SEPARATOR = ", "


def register(commands: Any, data: argparse.ArgumentParser) -> None:
    user = commands.add_parser(NAME, parents=[data], help="manage users (add, list, show, ...)")
    sub = user.add_subparsers(dest="user_command", required=True, metavar="SUBCOMMAND")
    add = sub.add_parser("add", parents=[data], help="create a user from the templates")
    add.add_argument("--given-name", required=True)
    add.add_argument("--surname", required=True)
    add.add_argument("--mail", help="e-mail address (default: from the mail template)")
    fax_help = "UMS number in international form, e.g. +49 8142 4799123 (repeatable)"
    add.add_argument("--fax", action="append", default=[], metavar="NUMBER", help=fax_help)
    for option, dest in _ADD_OPTIONS:
        add.add_argument(option, dest=dest)
    add.add_argument("--set", action="append", default=[], metavar="ATTR=VALUE", dest="settings")
    listing = sub.add_parser("list", parents=[data], help="list users (table, or TSV when piped)")
    listing.add_argument("--search", metavar="TEXT", help="part of the display name, any case")
    columns = ",".join(DEFAULT_COLUMNS)
    listing.add_argument("--columns", default=columns, help=f"attributes (default {columns})")
    show = sub.add_parser("show", parents=[data], help="every attribute of a user (no secrets)")
    show.add_argument("uid")
    change = sub.add_parser("set", parents=[data], help="set attributes (ATTR= removes one)")
    change.add_argument("uid")
    change.add_argument("assignments", nargs="+", metavar="ATTR=VALUE")
    unlock_ = sub.add_parser(
        "unlock", parents=[data], help="lift a bind lockout and forget the failed binds"
    )
    unlock_.add_argument("uid", help="the user's uid, or a DN (cn=admin,...)")
    delete = sub.add_parser("delete", parents=[data], help="delete a user")
    delete.add_argument("uid")
    templates = sub.add_parser(
        "templates", parents=[data], help="show or set the templates for new users"
    )
    templates.add_argument("--display-name", metavar="T", help="e.g. '{sn}, {givenName}'")
    templates.add_argument("--mail", metavar="T", help="e.g. '{givenName}.{sn}@example.com'")
    templates.add_argument("--uid", metavar="T", help="e.g. '{givenName:1}{sn}'; '' = default")


_ADD_OPTIONS = (
    ("--phone", "phone"),
    ("--mobile", "mobile"),
    ("--company", "company"),
    ("--street", "street"),
    ("--postal-code", "postal_code"),
    ("--city", "city"),
    ("--department", "department"),
    ("--office", "office"),
)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    with opened(data_dir) as data:
        audit = open_audit_log(data_dir, data.config)
        session = Session(data.directory, data.admin, data.config.base_dn, audit)
        match args.user_command:
            case "add":
                _show(add_user(session, _new_user(args)), sys.stdout)
            case "list":
                columns = resolve_columns(session.schema, args.columns.split(","))
                _table(list_users(session, search=args.search), columns, sys.stdout)
            case "show":
                user = find_user(session, args.uid)
                _show(user, sys.stdout)
                state = bind_state(session, data, user.dn, now=changelog_clock())
                sys.stdout.write(f"# bind: {state.describe()}\n")
            case "unlock":
                dn, had = unlock(session, data, args.uid)
                said = "unlocked" if had else "not locked (no failed binds counted)"
                sys.stdout.write(f"{dn}: {said}\n")
            case "set":
                _show(set_user(session, args.uid, args.assignments), sys.stdout)
            case "delete":
                sys.stdout.write(f"deleted {delete_user(session, args.uid)}\n")
            case "templates":
                _templates(session, args, sys.stdout)
    return 0


def _new_user(args: argparse.Namespace) -> NewUser:
    return NewUser(
        given_name=args.given_name,
        surname=args.surname,
        mail=args.mail,
        fax=tuple(args.fax),
        settings=tuple(args.settings),
        **{dest: getattr(args, dest) for _, dest in _ADD_OPTIONS},
    )


def _templates(session: Session, args: argparse.Namespace, out: TextIO) -> None:
    changes = {key: getattr(args, key) for key in TEMPLATE_ATTRS if getattr(args, key) is not None}
    if changes:
        set_templates(session, changes)
    templates = read_templates(session)
    out.write(f"display name: {templates.display_name}\n")
    out.write(f"  example:    {_example(render_display_name, templates.display_name)}\n")
    out.write(f"uid:          {templates.uid}\n")
    out.write(f"  example:    {_example(render_uid, templates.uid)}\n")
    if templates.mail is None:
        out.write("mail:         (none: `ixidir user add` needs --mail)\n")
        return
    out.write(f"mail:         {templates.mail}\n")
    out.write(f"  example:    {_example(render_mail, templates.mail)}\n")


def _example(render: Callable[[str, dict[str, str]], str], template: str) -> str:
    """The template applied to a sample user; one over other attributes says what it needs."""
    try:
        return render(template, EXAMPLE)
    except AdminError as error:
        return f"({error})"


def _show(user: User, out: TextIO) -> None:
    """`attr: value` lines, objectClass first, as ldapsearch prints them (plain UTF-8)."""
    out.write(f"dn: {user.dn}\n")
    names = sorted(user.attributes, key=lambda name: (name != "objectClass", name.lower()))
    for name in names:
        for value in user.attributes[name]:
            out.write(f"{name}: {value}\n")


def _table(users: Sequence[User], columns: Sequence[str], out: TextIO) -> None:
    rows = [[VALUE_SEPARATOR.join(user.attributes.get(c, ())) for c in columns] for user in users]
    print_table(columns, rows, out, caption=f"{len(users)} users")
