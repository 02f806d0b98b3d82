"""`ixidir limits show USER` and `ixidir limits reset USER [--service S]` (issue 4).

USER is a DN or a uid (then `uid=USER,ou=people,<base>`). The counts live in Firebird, so
these commands see and change the same counts a running server uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ixidir.admin.auditing import open_audit_log, record
from ixidir.admin.runtime import open_counters, opened, utc_now
from ixidir.admin.tables import print_table
from ixidir.directory.limits import DailyLimits, ServiceUsage
from ixidir.directory.requests import Principal
from ixidir.limits import Service
from ixidir.server.audit import Action, AuditLog, Origin

NAME = "limits"
_SERVICES = {service.name.lower(): service for service in Service}


def register(commands: Any, data: argparse.ArgumentParser) -> None:
    group = commands.add_parser(NAME, parents=[data], help="daily send limits (fax, sms, voice)")
    actions = group.add_subparsers(dest="limits_command", required=True)
    show = actions.add_parser("show", parents=[data], help="limit, used today and remaining")
    show.add_argument("user", help="the user's DN, or its uid under ou=people")
    reset = actions.add_parser("reset", parents=[data], help="set today's count back to zero")
    reset.add_argument("user", help="the user's DN, or its uid under ou=people")
    reset.add_argument("--service", choices=sorted(_SERVICES), help="only this service")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    with opened(data_dir) as data:
        counters = open_counters(data_dir, data.config)
        try:
            limits = DailyLimits(directory=data.directory, counters=counters, clock=utc_now)
            user = _user_dn(args.user, data.config.base_dn)
            if args.limits_command == "reset":
                service = _SERVICES[args.service] if args.service else None
                audit = open_audit_log(data_dir, data.config)
                which = reset_count(limits, data.admin, user, service, audit)
                sys.stdout.write(f"reset today's {which} count of {user}\n")
                return 0
            _print_usage(user, limits.usage(data.admin, user))
            return 0
        finally:
            counters.close()


def reset_count(
    limits: DailyLimits,
    admin: Principal,
    user_dn: str,
    service: Service | None,
    audit: AuditLog | None,
    origin: Origin | None = None,
) -> str:
    """Set today's count of one service (None: all) back to zero, audited; says which."""
    limits.reset(admin, user_dn, service)
    which = service.name.lower() if service is not None else "fax, sms and voice"
    record(audit, admin, Action("limitReset", user_dn, (("services", which),)), origin=origin)
    return which


def _user_dn(user: str, base_dn: str) -> str:
    return user if "=" in user else f"uid={user},ou=people,{base_dn}"


COLUMNS = ("user", "service", "set by", "limit", "used", "remaining", "note")


def _print_usage(user: str, usage: list[ServiceUsage]) -> None:
    """One row per service; tab-separated with a header line when not on a terminal."""
    rows = [
        (
            user,
            line.service.name.lower(),
            line.decision.source.name.lower(),
            _count(line.decision.limit),
            str(line.used),
            _count(line.remaining),
            line.decision.problem or "",
        )
        for line in usage
    ]
    print_table(COLUMNS, rows, sys.stdout)


def _count(value: int | None) -> str:
    return "infinite" if value is None else str(value)
