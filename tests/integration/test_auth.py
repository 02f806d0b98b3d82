"""Binds, WhoAmI and passwords against a real `ixidir serve`, with `ldapwhoami`, `ldappasswd`,
`ldapmodify` and `ldapsearch` (RFC 4513 simple bind, RFC 4532 WhoAmI, RFC 3062 Password Modify).

Each test gives its own demo user a password, so tests do not depend on each other's order.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess

from .conftest import ADMIN_DN, BASE_DN, RunningServer

PEOPLE = f"ou=people,{BASE_DN}"
SCHEME = "{PBKDF2-SHA512}"


def whoami(server: RunningServer, dn: str, password: str) -> subprocess.CompletedProcess[str]:
    return server.ldap("ldapwhoami", "-D", dn, "-w", password, bind=False)


def set_password(server: RunningServer, dn: str, password: str) -> None:
    """The admin sets a user's password with a plain LDAP modify (as Directory Studio would)."""
    ldif = f"dn: {dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: {password}\n"
    done = server.ldap("ldapmodify", stdin=ldif)
    assert done.returncode == 0, done.stderr


def stored_passwords(server: RunningServer, dn: str) -> list[str]:
    """userPassword as the admin reads it (ldapsearch prints it base64: it is binary-safe)."""
    done = server.ldap("ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", dn, "-s", "base",
                       "userPassword")  # fmt: skip
    assert done.returncode == 0, done.stderr
    values = []
    for line in done.stdout.splitlines():
        if line.startswith("userPassword::"):
            values.append(base64.b64decode(line.split("::", 1)[1]).decode())
        elif line.startswith("userPassword:"):
            values.append(line.split(":", 1)[1].strip())
    return values


def test_admin_bind_and_whoami(server: RunningServer) -> None:
    """The administrator created by `ixidir init` binds, and WhoAmI names it as dn:<admin>."""
    done = whoami(server, ADMIN_DN, "Adm1n-secret")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dn:{ADMIN_DN}"


def test_anonymous_whoami(server: RunningServer) -> None:
    """Without a bind, WhoAmI answers 'anonymous' (an empty authzId)."""
    done = server.ldap("ldapwhoami", bind=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "anonymous"


def test_dn_with_empty_password_is_refused_as_unauthenticated_bind(server: RunningServer) -> None:
    """RFC 4513 §5.1.2: a DN with an empty password is not silently anonymous; it is 53."""
    done = whoami(server, f"uid=sbaeuerle,{PEOPLE}", "")
    assert done.returncode == 53
    assert "Server is unwilling to perform" in done.stderr


def test_user_binds_after_the_admin_sets_a_password(server: RunningServer) -> None:
    """A demo user binds with the password the admin set, and WhoAmI names the user."""
    dn = f"uid=jmueller,{PEOPLE}"
    set_password(server, dn, "Juergen-pw-1")
    done = whoami(server, dn, "Juergen-pw-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dn:{dn}"
    assert whoami(server, dn, "Juergen-pw-2").returncode == 49


def test_password_is_stored_hashed_and_shown_only_as_hash(server: RunningServer) -> None:
    """Whatever the client sends, userPassword is stored as {PBKDF2-SHA512}; the plaintext
    appears nowhere in the entry, not even to the administrator."""
    dn = f"uid=kschroeder,{PEOPLE}"
    set_password(server, dn, "Klaus-plaintext-7")
    stored = stored_passwords(server, dn)
    assert len(stored) == 1
    assert stored[0].startswith(SCHEME)
    everything = server.ldap("ldapsearch", "-LLL", "-b", dn, "-s", "base", "*", "+")
    assert "Klaus-plaintext-7" not in everything.stdout
    assert base64.b64encode(b"Klaus-plaintext-7").decode() not in everything.stdout


def test_a_pre_hashed_ssha_password_is_kept_and_verified(server: RunningServer) -> None:
    """An {SSHA} value (RFC 2307 style, as older directories export) is kept as sent and
    verifies the password it was made from."""
    dn = f"uid=tkoehler,{PEOPLE}"
    salt = os.urandom(8)
    digest = hashlib.sha1(b"Thomas-old-pw" + salt).digest()  # noqa: S324 (the legacy scheme)
    ssha = "{SSHA}" + base64.b64encode(digest + salt).decode()
    set_password(server, dn, ssha)
    assert stored_passwords(server, dn) == [ssha]
    assert whoami(server, dn, "Thomas-old-pw").returncode == 0


def test_user_cannot_read_its_own_password(server: RunningServer) -> None:
    """A user's search of its own entry never returns userPassword, even when asked for it,
    and comparing it is insufficientAccess (50)."""
    dn = f"uid=aweiss,{PEOPLE}"
    set_password(server, dn, "Anna-pw-1")
    as_user = ("-D", dn, "-w", "Anna-pw-1")
    done = server.ldap("ldapsearch", *as_user, "-LLL", "-b", dn, "-s", "base",
                       "userPassword", "uid", bind=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "uid: aweiss" in done.stdout
    assert "userPassword" not in done.stdout
    done = server.ldap("ldapcompare", *as_user, dn, "userPassword:Anna-pw-1", bind=False)
    assert done.returncode == 50


def test_ldappasswd_self_change_with_old_password(server: RunningServer) -> None:
    """A user changes its own password with ldappasswd -a old -s new: the new one binds,
    the old one no longer does."""
    dn = f"uid=lschaefer,{PEOPLE}"
    set_password(server, dn, "Lena-pw-1")
    done = server.ldap("ldappasswd", "-D", dn, "-w", "Lena-pw-1", "-a", "Lena-pw-1",
                       "-s", "Lena-pw-2", bind=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert whoami(server, dn, "Lena-pw-2").returncode == 0
    assert whoami(server, dn, "Lena-pw-1").returncode == 49
    assert stored_passwords(server, dn)[0].startswith(SCHEME)


def test_ldappasswd_with_a_wrong_old_password_changes_nothing(server: RunningServer) -> None:
    """A wrong oldPasswd is unwillingToPerform (53, as slapd answers; ldappasswd itself exits
    1) and the password stays as it was."""
    dn = f"uid=fgruenewald,{PEOPLE}"
    set_password(server, dn, "Felix-pw-1")
    before = stored_passwords(server, dn)
    done = server.ldap("ldappasswd", "-D", dn, "-w", "Felix-pw-1", "-a", "not-it",
                       "-s", "Felix-pw-2", bind=False)  # fmt: skip
    assert done.returncode != 0
    assert "Server is unwilling to perform (53)" in done.stdout + done.stderr
    assert stored_passwords(server, dn) == before
    assert whoami(server, dn, "Felix-pw-1").returncode == 0


def test_ldappasswd_by_admin_generates_a_password(server: RunningServer) -> None:
    """The admin resets a password without giving one: the server generates it, returns it
    once (RFC 3062 genPasswd), and the user binds with it."""
    dn = f"uid=mhuber,{PEOPLE}"
    done = server.ldap("ldappasswd", dn)
    assert done.returncode == 0, done.stderr
    generated = done.stdout.strip().removeprefix("New password: ")
    assert len(generated) >= 12
    assert whoami(server, dn, generated).returncode == 0
    assert stored_passwords(server, dn)[0].startswith(SCHEME)


def test_user_may_replace_its_own_password_with_ldapmodify(server: RunningServer) -> None:
    """A user may write its own userPassword (and nothing else): the new one binds."""
    dn = f"uid=sbaeuerle,{PEOPLE}"
    set_password(server, dn, "Sabine-pw-1")
    ldif = f"dn: {dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: Sabine-pw-2\n"
    done = server.ldap("ldapmodify", "-D", dn, "-w", "Sabine-pw-1", bind=False, stdin=ldif)
    assert done.returncode == 0, done.stderr
    assert whoami(server, dn, "Sabine-pw-2").returncode == 0
    assert stored_passwords(server, dn)[0].startswith(SCHEME)
