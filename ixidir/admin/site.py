"""Site settings (vendor manual §4.1 "Server settings"): numbering, daily-limit defaults, PIN lock.

They live on the server-defaults entry (`cn=ums-defaults`, SCHEMA.md `ixiUmsServerDefaults`),
which every node shares; a change is one modify through the Directory facade as the
administrator, so the schema's checks and the routing re-keying apply as they do over LDAP.
"""

from __future__ import annotations

from collections.abc import Mapping

from ixidir.admin.auditing import record
from ixidir.admin.errors import AdminError
from ixidir.admin.users import Session, describe
from ixidir.directory.requests import Modification, ModifyRequest, ModOp, Scope, SearchRequest
from ixidir.errors import LDAPError
from ixidir.limits.day import InvalidTimeZone, time_zone

TIME_ZONE = "ixiDailyLimitTimeZone"
# What the site page offers, in the manual's order: numbering, then the daily limits, then
# the voice mailbox's PIN lock.
SITE_ATTRIBUTES = (
    "ixiSiteCountryCode",
    "ixiSiteAreaCode",
    "ixiSiteNationalPrefix",
    "ixiSiteInternationalPrefix",
    "ixiDailyLimitEnabled",
    "ixiDailyLimitTimeZone",
    "ixiFaxDailyLimitMode",
    "ixiFaxDailyLimit",
    "ixiSmsDailyLimitMode",
    "ixiSmsDailyLimit",
    "ixiVoiceDailyLimitMode",
    "ixiVoiceDailyLimit",
    "ixiVmPinMaxFailures",
    "ixiVmPinLockoutSeconds",
)


def read_site(session: Session) -> dict[str, str]:
    """The site settings as stored (absent ones as "")."""
    request = SearchRequest(session.defaults_dn, Scope.BASE, attributes=SITE_ATTRIBUTES)
    try:
        found = list(session.directory.search(session.principal, request))
    except LDAPError as error:
        raise AdminError(f"cannot read {session.defaults_dn}: {describe(error)}") from None
    values = {name: "" for name in SITE_ATTRIBUTES}
    by_lower = {name.lower(): name for name in SITE_ATTRIBUTES}
    for entry in found:
        for name, stored in entry.attributes:
            known = by_lower.get(name.lower())
            if known is not None and stored:
                values[known] = stored[0].decode("utf-8", "replace")
    return values


def set_site(session: Session, changes: Mapping[str, str]) -> None:
    """Replace each named setting (an empty value removes it: the built-in default applies)."""
    unknown = sorted(set(changes) - set(SITE_ATTRIBUTES))
    if unknown:
        raise AdminError(f"{unknown[0]}: not a site setting")
    if not changes:
        return
    zone = changes.get(TIME_ZONE, "").strip()
    if zone:
        try:
            time_zone(zone)  # the directory stores any IA5 text; the counters need a real zone
        except InvalidTimeZone as error:
            raise AdminError(f"{TIME_ZONE}: {error}") from None
    modifications = tuple(
        Modification(ModOp.REPLACE, name, (value.strip().encode("utf-8"),) if value.strip() else ())
        for name, value in changes.items()
    )
    request = ModifyRequest(session.defaults_dn, modifications)
    try:
        session.directory.modify(session.principal, request)
    except LDAPError as error:
        raise AdminError(
            f"cannot change the site settings on {session.defaults_dn}: {describe(error)}"
        ) from None
    record(session.audit, session.principal, request, origin=session.origin)
