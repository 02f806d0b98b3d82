"""`ixidir limits show USER` and `ixidir limits reset USER [--service S]` (issue 4).

USER is a DN or a uid (then `uid=USER,ou=people,<base>`). The counts live in Firebird, so
these commands see and change the same counts a running server uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ixidir.admin.runtime import open_counters, opened, utc_now
from ixidir.directory.limits import DailyLimits, ServiceUsage
from ixidir.limits import Service

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
                limits.reset(data.admin, user, service)
                which = args.service or "fax, sms and voice"
                sys.stdout.write(f"reset today's {which} count of {user}\n")
                return 0
            _print_usage(user, limits.usage(data.admin, user))
            return 0
        finally:
            counters.close()


def _user_dn(user: str, base_dn: str) -> str:
    return user if "=" in user else f"uid={user},ou=people,{base_dn}"


def _print_usage(user: str, usage: list[ServiceUsage]) -> None:
    lines = [f"{user}", f"{'service':8} {'set by':10} {'limit':>9} {'used':>6} {'remaining':>9}"]
    for line in usage:
        limit = line.decision.limit
        remaining = line.remaining
        lines.append(
            f"{line.service.name.lower():8} {line.decision.source.name.lower():10} "
            f"{'infinite' if limit is None else limit:>9} {line.used:>6} "
            f"{'infinite' if remaining is None else remaining:>9}"
        )
        if line.decision.problem:
            lines.append(f"  note: {line.decision.problem}")
    sys.stdout.write("\n".join(lines) + "\n")
