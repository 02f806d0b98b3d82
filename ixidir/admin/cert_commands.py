"""`ixidir cert create/import/show`: the TLS certificate; certificates.py does the work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ixidir.admin.certificates import (
    DEFAULT_DAYS,
    CertificateSummary,
    create_certificate,
    import_certificate,
    show_certificate,
)
from ixidir.admin.runtime import utc_now

NAME = "cert"
RELOAD_HINT = "a running server uses it for new connections after SIGHUP (kill -HUP PID)\n"


def register(commands: Any, data: argparse.ArgumentParser) -> None:
    group = commands.add_parser(NAME, parents=[data], help="the TLS certificate (LDAPS, StartTLS)")
    actions = group.add_subparsers(dest="cert_command", required=True, metavar="SUBCOMMAND")
    create = actions.add_parser("create", parents=[data], help="make a self-signed certificate")
    create.add_argument(
        "--hostname",
        action="append",
        default=[],
        metavar="NAME",
        help="host name or IP address clients connect to (repeatable; default: this "
        "machine's names, localhost, 127.0.0.1 and ::1)",
    )
    create.add_argument("--days", type=int, default=DEFAULT_DAYS, help="validity in days")
    imp = actions.add_parser("import", parents=[data], help="use a certificate issued by a CA")
    imp.add_argument("certificate", type=Path, metavar="CERT", help="PEM certificate")
    imp.add_argument("key", type=Path, metavar="KEY", help="its PEM private key, unencrypted")
    imp.add_argument("--chain", type=Path, metavar="FILE", help="PEM intermediates, issuer last")
    imp.add_argument(
        "--hostname",
        action="append",
        default=[],
        metavar="NAME",
        help="a name clients use, which the certificate must be valid for (repeatable)",
    )
    actions.add_parser("show", parents=[data], help="subject, names, fingerprint and expiry")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    out = sys.stdout
    match args.cert_command:
        case "create":
            summary = create_certificate(data_dir, args.hostname, days=args.days, now=utc_now())
            out.write("created a self-signed certificate\n")
            describe(summary, out)
            out.write(RELOAD_HINT)
        case "import":
            summary, warnings = import_certificate(
                data_dir,
                args.certificate,
                args.key,
                chain_file=args.chain,
                hostnames=args.hostname,
                now=utc_now(),
            )
            for warning in warnings:
                sys.stderr.write(f"ixidir: warning: {warning}\n")
            out.write("imported the certificate\n")
            describe(summary, out)
            out.write(RELOAD_HINT)
        case "show":
            summary, path = show_certificate(data_dir)
            out.write(f"file:        {path}\n")
            describe(summary, out)
    return 0


def describe(summary: CertificateSummary, out: TextIO) -> None:
    days = round((summary.not_after - utc_now()).total_seconds() / 86400)
    out.write(f"subject:     {summary.subject}\n")
    out.write(f"issuer:      {summary.issuer}\n")
    out.write(f"names:       {', '.join(summary.names) or '(none)'}\n")
    out.write(f"SHA-256:     {summary.sha256}\n")
    out.write(f"valid from:  {summary.not_before:%Y-%m-%d %H:%M:%S} UTC\n")
    out.write(f"expires:     {summary.not_after:%Y-%m-%d %H:%M:%S} UTC ({days} days left)\n")
    if summary.chain_length:
        out.write(f"chain:       {summary.chain_length} more certificate(s)\n")
