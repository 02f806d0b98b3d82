"""The LDAP operations' requests and results as plain values, shared by `server` and `directory`.

DNs and attribute descriptions arrive as the client wrote them (str); values are octet strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum

from ixidir.directory.filter import Filter, Present


class Scope(IntEnum):
    """RFC 4511 search scope (and `children`, RFC draft-sermersheim-ldap-subordinate-scope)."""

    BASE = 0
    ONE = 1
    SUB = 2
    CHILDREN = 3


class DerefAliases(IntEnum):
    NEVER = 0
    IN_SEARCHING = 1
    FINDING_BASE = 2
    ALWAYS = 3


class ModOp(IntEnum):
    """RFC 4511 §4.6 modify operations, plus increment (RFC 4525)."""

    ADD = 0
    DELETE = 1
    REPLACE = 2
    INCREMENT = 3


class AccessClass(Enum):
    """Who is asking, coarsely: decides what may be read and written (see `directory.acl`)."""

    ANONYMOUS = "anonymous"
    USER = "user"
    SERVICE = "service"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The identity a connection is bound as; `dn` is empty for anonymous."""

    dn: str = ""
    access: AccessClass = AccessClass.ANONYMOUS

    @property
    def is_admin(self) -> bool:
        return self.access is AccessClass.ADMIN

    def __hash__(self) -> int:
        # Equal principals have equal DNs; hashing the DN alone skips Enum.__hash__ (Python
        # code), and every search hashes the principal two or three times (caches, plans).
        return hash(self.dn)


ANONYMOUS = Principal()


@dataclass(frozen=True, slots=True)
class SearchRequest:
    base: str
    scope: Scope = Scope.SUB
    filter: Filter = field(default=Present("objectClass"))
    attributes: tuple[str, ...] = ()
    size_limit: int = 0
    time_limit: int = 0
    types_only: bool = False
    deref_aliases: DerefAliases = DerefAliases.NEVER


@dataclass(frozen=True, slots=True)
class SearchResultEntry:
    """One entry as returned: attribute descriptions in output form, values (empty if typesOnly)."""

    dn: str
    attributes: tuple[tuple[str, tuple[bytes, ...]], ...]


@dataclass(frozen=True, slots=True)
class Modification:
    operation: ModOp
    attr: str
    values: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class AddRequest:
    dn: str
    attributes: tuple[tuple[str, tuple[bytes, ...]], ...]


@dataclass(frozen=True, slots=True)
class ModifyRequest:
    dn: str
    changes: tuple[Modification, ...]


@dataclass(frozen=True, slots=True)
class ModifyDNRequest:
    dn: str
    new_rdn: str
    delete_old_rdn: bool
    new_superior: str | None = None
