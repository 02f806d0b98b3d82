"""Deterministic test data: N inetOrgPerson users with 1-3 fax numbers in mixed human formats.

The same seed always gives the same LDIF, so ixidir and slapd are loaded with identical data and
the load generator knows which number must route to which mail.

    python benchmarks/datagen.py 100000 -o /tmp/users-100k.ldif
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

GIVEN = [
    "Anna",
    "Bernd",
    "Carla",
    "Dieter",
    "Elke",
    "Frank",
    "Gisela",
    "Hans",
    "Ina",
    "Jürgen",
    "Karin",
    "Lutz",
    "Monika",
    "Norbert",
    "Olga",
    "Peter",
    "Renate",
    "Stefan",
    "Tanja",
    "Uwe",
]
FAMILY = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
]
COUNTRY = "49"
AREA = "8142"


@dataclass(frozen=True, slots=True)
class User:
    uid: str
    given: str
    family: str
    mail: str
    numbers: tuple[str, ...]  # as stored, in human formats
    keys: tuple[str, ...]  # canonical E.164 digits of each number


def human_format(key: str, rng: random.Random) -> str:
    """One of the formattings admins and the ixi kernel really produce for +49 8142 <rest>."""
    rest = key[len(COUNTRY) + len(AREA) :]
    head, tail = rest[:-3], rest[-3:]
    return rng.choice(
        [
            f"+{key}",
            f"+{COUNTRY} {AREA} {rest}",
            f"+{COUNTRY} ({AREA}) {head}-{tail}",
            f"+{COUNTRY} (0){AREA} {head} {tail}",
            f"+{COUNTRY}-{AREA}-{rest}",
            f"+{COUNTRY}  {AREA}  {rest}",
        ]
    )


def users(count: int, seed: int = 391) -> Iterator[User]:
    rng = random.Random(seed)
    serial = 0
    for i in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        keys = []
        for _ in range(rng.randint(1, 3)):
            serial += 1
            keys.append(f"{COUNTRY}{AREA}{4000000 + serial:07d}")
        uid = f"u{i:07d}"
        yield User(
            uid,
            given,
            family,
            f"{uid}@example.com",
            tuple(human_format(k, rng) for k in keys),
            tuple(keys),
        )


def password(uid: str) -> str:
    """The user's password, for the bind benchmarks (stored only as `ssha(password(uid))`)."""
    return f"pw-{uid}"


def ssha(secret: str) -> str:
    """`{SSHA}` base64(SHA-1(secret + salt) + salt), salt derived from the secret (reproducible).

    The scheme both slapd (built in) and ixidir (imported hashes) verify; cheap, so a bind
    measures the server's bind path rather than a deliberately slow hash.
    """
    salt = hashlib.sha256(secret.encode()).digest()[:8]
    digest = hashlib.sha1(secret.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def write_ldif(
    count: int,
    out: TextIO,
    *,
    suffix: str = "dc=example,dc=com",
    seed: int = 391,
    ixi: bool = True,
    passwords: bool = False,
) -> None:
    """Users under ou=people,<suffix> (the suffix and ou=people entries are not written).

    `passwords` adds each user's `userPassword: {SSHA}...` of `password(uid)`.
    """
    for user in users(count, seed):
        lines = [
            f"dn: uid={user.uid},ou=people,{suffix}",
            "objectClass: inetOrgPerson",
            *(["objectClass: ixiUmsUser"] if ixi else []),
            f"uid: {user.uid}",
            f"cn: {user.given} {user.family} {user.uid}",
            f"sn: {user.family}",
            f"givenName: {user.given}",
            f"mail: {user.mail}",
            *(f"facsimileTelephoneNumber: {number}" for number in user.numbers),
            *([f"userPassword: {ssha(password(user.uid))}"] if passwords else []),
        ]
        out.write("\n".join(_ascii_or_base64(line) for line in lines) + "\n\n")


def _ascii_or_base64(line: str) -> str:
    if line.isascii():
        return line
    import base64

    attr, value = line.split(": ", 1)
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("-o", "--output")
    parser.add_argument("--suffix", default="dc=example,dc=com")
    parser.add_argument("--no-ixi", action="store_true", help="omit objectClass ixiUmsUser")
    parser.add_argument("--passwords", action="store_true", help="add {SSHA} userPassword")
    args = parser.parse_args()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    with out:
        write_ldif(
            args.count, out, suffix=args.suffix, ixi=not args.no_ixi, passwords=args.passwords
        )


if __name__ == "__main__":
    main()
