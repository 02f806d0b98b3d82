"""DirectorySettings: the policy knobs the directory core takes from the process configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ixidir.directory.passwords import (
    PBKDF2_SHA256_ITERATIONS,
    PBKDF2_SHA512_ITERATIONS,
    PasswordPolicy,
)

DEFAULT_ROUTING_ATTRIBUTES = ("facsimileTelephoneNumber", "ixiVoiceNumber", "ixiSmsNumber")
# The equality indexes of issue 2 (objectClass, uid, cn, mail and the routing attributes).
DEFAULT_INDEXED_ATTRIBUTES = (
    "objectClass",
    "uid",
    "cn",
    "mail",
    "facsimileTelephoneNumber",
    "ixiVoiceNumber",
    "ixiSmsNumber",
    "entryUUID",
)


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    """Who is who (admin, service accounts), what anonymous may do, indexes and hashing.

    `admin_dn` None means `cn=admin,<base>`. `admin_password` is an optional hashed password for
    an administrator that has no entry of its own (the entry's userPassword wins when it exists).
    `root_dse_extra` carries what the server implements (supportedControl, vendorName, ...).
    """

    admin_dn: str | None = None
    admin_password: bytes | None = None
    service_accounts: tuple[str, ...] = ()
    anonymous_read: bool = False
    indexed_attributes: tuple[str, ...] = DEFAULT_INDEXED_ATTRIBUTES
    password_scheme: str = "PBKDF2-SHA512"  # noqa: S105 (a scheme name)
    password_iterations: int = PBKDF2_SHA512_ITERATIONS
    pin_iterations: int = PBKDF2_SHA256_ITERATIONS
    size_limit: int = 0  # for everyone but the admin and service accounts; 0 = none
    time_limit: int = 0  # seconds, for everyone but the admin; 0 = none
    # Numbers in these attributes route to their entry: one number, one entry (SCHEMA.md).
    routing_attributes: tuple[str, ...] = DEFAULT_ROUTING_ATTRIBUTES
    # The ixiUmsServerDefaults entry with the site settings; None means cn=ums-defaults,<base>.
    defaults_dn: str | None = None
    root_dse_extra: Mapping[str, Sequence[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.size_limit < 0 or self.time_limit < 0:
            raise ValueError("size_limit and time_limit must be 0 (none) or positive")
        self.password_policy()  # raises ValueError for an unknown scheme or bad iterations

    def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(self.password_scheme.upper(), self.password_iterations)
