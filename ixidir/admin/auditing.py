"""The audit log for the commands: where it is (`audit_log`) and who a command acts as."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ixidir.admin.errors import AdminError
from ixidir.config import Config, resolve_path
from ixidir.directory.requests import Principal
from ixidir.server.audit import AUDIT_FILE, AuditLog, Change, Origin


def audit_log_path(data_dir: Path, config: Config) -> Path:
    """DATA/audit.ldif unless `audit_log` names another file (DESIGN.md)."""
    return resolve_path(data_dir, config.audit_log or AUDIT_FILE)


def open_audit_log(
    data_dir: Path, config: Config, *, on_error: Callable[[OSError], None] | None = None
) -> AuditLog:
    return AuditLog(audit_log_path(data_dir, config), on_error=on_error)


def command_origin(admin: Principal) -> Origin:
    """A command acts as the administrator; the record names the system user who ran it."""
    return Origin(admin.dn, f"cli uid={os.getuid()}", f"pid={os.getpid()}")


def record(
    audit: AuditLog | None, admin: Principal, change: Change, *, origin: Origin | None = None
) -> None:
    """Log a change a command made, once it is committed (nothing when there is no log).
    `origin` None: this command process (the web UI names its client instead)."""
    if audit is not None:
        record_many(audit, admin, (change,), origin=origin)


def record_many(
    audit: AuditLog, admin: Principal, changes: Iterable[Change], *, origin: Origin | None = None
) -> None:
    """Log committed changes in one append; a failure says the changes are made all the same."""
    try:
        audit.record_many(origin or command_origin(admin), changes)
    except OSError as error:
        raise AdminError(
            f"the change is made, but {audit.path} could not be written: {error.strerror}"
        ) from None
