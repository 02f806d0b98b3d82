"""LDIF files of datagen's users, written once per size and shared by slapd and ixidir."""

from __future__ import annotations

from pathlib import Path

from datagen import write_ldif

SUFFIX = "dc=example,dc=com"
PEOPLE = f"ou=people,{SUFFIX}"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "benchmark-secret"  # noqa: S105 (a throw-away server on 127.0.0.1)
SSHA_TAG = "-ssha"  # names the LDIF (and a kept ixidir folder) whose users have passwords

# slapd needs the suffix and ou=people in its LDIF; `ixidir init` creates them itself.
BASE_LDIF = f"""dn: {SUFFIX}
objectClass: top
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

"""


def users_ldif(count: int, directory: Path, *, passwords: bool = False) -> Path:
    """DIRECTORY/users-COUNT.ldif (the users only), generated unless it is already there.

    With `passwords` the users carry `{SSHA}` userPasswords, in users-COUNT-ssha.ldif.
    """
    path = directory / f"users-{count}{SSHA_TAG if passwords else ''}.ldif"
    if not path.exists():
        partial = path.with_suffix(".part")
        with partial.open("w", encoding="utf-8") as out:
            write_ldif(count, out, suffix=SUFFIX, ixi=True, passwords=passwords)
        partial.rename(path)
    return path
