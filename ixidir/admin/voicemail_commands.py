"""`ixidir voicemail reset|set-pin|show UID`: the voice-mailbox commands and their output.

UID is a uid (the one user holding it) or a full DN. A new PIN is printed once on standard
output; `set-pin` reads the PIN from the terminal (asked twice) or one line of standard input,
never from the command line, where every user of the machine could read it in `ps`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from ixidir.admin.auditing import open_audit_log
from ixidir.admin.errors import AdminError
from ixidir.admin.runtime import opened, utc_now
from ixidir.admin.tables import print_record
from ixidir.admin.users import Session
from ixidir.admin.voicemail import (
    MailboxStatus,
    ResetActions,
    mailbox_status,
    reset_voicemail,
    set_pin,
)

NAME = "voicemail"
_USER_HELP = "the user's uid, or its DN"


def register(commands: Any, data: argparse.ArgumentParser) -> None:
    group = commands.add_parser(NAME, parents=[data], help="voice mailbox: reset, PIN, state")
    sub = group.add_subparsers(dest="voicemail_command", required=True, metavar="SUBCOMMAND")
    reset = sub.add_parser(
        "reset",
        parents=[data],
        help="unlock, new PIN and/or resend the welcome mail (manual §4.4.2.5)",
        description="The manual's actions: --resend-welcome; --new-pin --resend-welcome; "
        "--unlock; --unlock --resend-welcome; --unlock --new-pin --resend-welcome.",
    )
    reset.add_argument("uid", help=_USER_HELP)
    reset.add_argument("--unlock", action="store_true", help="unlock after wrong PINs")
    reset.add_argument("--new-pin", action="store_true", help="generate a random PIN, shown once")
    reset.add_argument(
        "--resend-welcome", action="store_true", help="send the welcome mail with the next call"
    )
    pin = sub.add_parser("set-pin", parents=[data], help="set a PIN (read from terminal or stdin)")
    pin.add_argument("uid", help=_USER_HELP)
    show = sub.add_parser("show", parents=[data], help="lock, failed PINs, welcome mail pending")
    show.add_argument("uid", help=_USER_HELP)


def run(args: argparse.Namespace, data_dir: Path) -> int:
    command = args.voicemail_command
    actions = None
    if command == "reset":
        actions = ResetActions(
            unlock=args.unlock, new_pin=args.new_pin, resend_welcome=args.resend_welcome
        )
        actions.check()  # before opening the data: a wrong call costs no start-up
    pin = read_pin(sys.stdin) if command == "set-pin" else None
    with opened(data_dir) as data:
        audit = open_audit_log(data_dir, data.config)
        session = Session(data.directory, data.admin, data.config.base_dn, audit)
        if actions is not None:
            return _reset(session, args.uid, actions)
        if pin is not None:
            sys.stdout.write(f"{set_pin(session, args.uid, pin)}: PIN set\n")
            return 0
        _print_status(mailbox_status(session, args.uid, now=utc_now()))
        return 0


def _reset(session: Session, uid: str, actions: ResetActions) -> int:
    outcome = reset_voicemail(session, uid, actions)
    lines = [f"{outcome.dn}: {actions.describe()}"]
    if outcome.pin is not None:
        lines.append(f"new PIN: {outcome.pin.decode('ascii')}")
        if not actions.resend_welcome:
            lines.append("note: no welcome mail was requested; tell the user the PIN yourself")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def read_pin(stream: TextIO) -> bytes:
    """The PIN from the terminal (typed twice, not echoed) or the first line of a pipe."""
    if stream.isatty():
        first = getpass.getpass("New PIN: ")
        if getpass.getpass("Repeat the PIN: ") != first:
            raise AdminError("the two PINs differ; nothing was changed")
        text = first
    else:
        text = stream.readline().rstrip("\r\n")
    if not text:
        raise AdminError("no PIN given (type it, or pipe it on standard input)")
    return text.strip().encode("utf-8")


def _print_status(status: MailboxStatus) -> None:
    lock = status.lock
    if lock.is_locked:
        state = "locked"
        if status.locked_at is not None:
            state += f" since {status.locked_at:%Y-%m-%d %H:%M:%S} UTC"
    else:
        state = "not locked"
    if status.policy.lockout_seconds:
        rule = f"locks for {status.policy.lockout_seconds} s"
    else:
        rule = "locks until unlocked"
    fields = [
        ("PIN", "set" if status.has_pin else "not set"),
        ("state", state),
        ("wrong PINs", f"{lock.failures} of {status.policy.max_failures} ({rule})"),
        ("PIN changed", _when(status)),
        ("welcome mail", "pending" if status.welcome_pending else "not pending"),
    ]
    print_record(("user", status.dn), fields, sys.stdout)


def _when(status: MailboxStatus) -> str:
    moment = status.pin_changed_at
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"
