"""`ixidir admin reset-password`: a new administrator password, set offline, printed once.

For the administrator who lost the password or locked the account (directory/lockout.py):
the password is random, stored only hashed, and the account's lock is lifted. It is printed
on standard output and nowhere else; the audit log records that it changed, not its value.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ixidir.admin.auditing import open_audit_log
from ixidir.admin.lockouts import reset_admin_password
from ixidir.admin.runtime import opened
from ixidir.admin.users import Session

NAME = "admin"


def register(commands: Any, data: argparse.ArgumentParser) -> None:
    group = commands.add_parser(NAME, parents=[data], help="the administrator account")
    sub = group.add_subparsers(dest="admin_command", required=True, metavar="SUBCOMMAND")
    sub.add_parser(
        "reset-password",
        parents=[data],
        help="set a new random administrator password (printed once) and unlock the account",
    )


def run(args: argparse.Namespace, data_dir: Path) -> int:
    with opened(data_dir) as data:
        audit = open_audit_log(data_dir, data.config)
        session = Session(data.directory, data.admin, data.config.base_dn, audit)
        password = reset_admin_password(session, data)
    sys.stdout.write(f"{data.admin.dn}: new password (shown once): {password}\n")
    return 0
