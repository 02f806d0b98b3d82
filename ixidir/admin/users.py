"""User management use-cases (vendor manual §4 to §4.4): add, list, show, set, delete, templates.

Everything goes through the Directory facade as the administrator, so schema checks, the ixi
rules and "one number, one user" apply exactly as they do over LDAP; their refusals come back
as AdminError naming the user and the attribute.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ParamSpec, Protocol, TypeVar

from ixidir.admin.auditing import record
from ixidir.admin.errors import AdminError
from ixidir.admin.templates import (
    DEFAULT_DISPLAY_NAME,
    DEFAULT_UID,
    Templates,
    check,
    render_display_name,
    render_mail,
    render_uid,
)
from ixidir.directory.dit import Entry
from ixidir.directory.filter import And, Equality, Filter, Or
from ixidir.directory.requests import (
    AddRequest,
    Modification,
    ModifyRequest,
    ModOp,
    Principal,
    Scope,
    SearchRequest,
    SearchResultEntry,
)
from ixidir.directory.state import DirectoryState
from ixidir.errors import LDAPError, UndefinedAttributeType
from ixidir.schema import AttributeType, Schema
from ixidir.server.audit import AuditLog, Deletion, Origin

PEOPLE_RDN = "ou=people"
DEFAULTS_RDN = "cn=ums-defaults"
USER_CLASSES = ("top", "person", "organizationalPerson", "inetOrgPerson", "ixiUmsUser")
ORG_CLASS = "ixiOrgPerson"  # company, department (ixi.schema)
TEMPLATE_ATTRS = {"display_name": "ixiDisplayNameTemplate", "mail": "ixiMailTemplate"}
TEMPLATE_ATTRS["uid"] = "ixiUidTemplate"
# Never shown by `user show` (DESIGN.md "Secrets"); the PIN is also never set through `user
# set`, so it always passes the PIN rules of `ixidir voicemail`.
SECRETS = frozenset({"userPassword", "ixiVmPin"})
OWN_COMMAND = frozenset({"ixiVmPin"})
# Numbers the manual (§4.3, §4.4.2.4) wants in international form: `+CC ...`.
INTERNATIONAL = frozenset(
    {"facsimileTelephoneNumber", "telephoneNumber", "mobile", "ixiVoiceNumber", "ixiSmsNumber"}
)
# Manual §4.3: "Characters like ( ) / - are NOT read out"; spaces are common too.
_INTERNATIONAL_NUMBER = re.compile(r"\+[ ()/-]*[1-9](?:[ ()/-]*[0-9])+[ ()/-]*")
_BOOLEANS = {"true": b"TRUE", "false": b"FALSE"}
# Beyond this many collisions (jmueller, jmueller2, ...) something else is wrong.
MAX_UID_SUFFIX = 1000
DEFAULT_COLUMNS = ("uid", "displayName", "mail", "facsimileTelephoneNumber")
NO_MAIL_TEMPLATE = (
    "no mail template is set: give --mail, or set one with "
    "`ixidir user templates --mail '{givenName}.{sn}@example.com'`"
)
_P = ParamSpec("_P")
_R = TypeVar("_R")
_ANY_USER = Or(tuple(Equality("objectClass", name.encode()) for name in USER_CLASSES[1:]))


class Facade(Protocol):
    """The directory calls the use-cases make: the Directory itself for the commands, a bridge
    that runs each call on the event loop for the web UI (ixidir.web.bridge)."""

    @property
    def state(self) -> DirectoryState: ...

    def search(
        self, principal: Principal, request: SearchRequest
    ) -> Iterator[SearchResultEntry]: ...

    def add(self, principal: Principal, request: AddRequest) -> None: ...

    def modify(self, principal: Principal, request: ModifyRequest) -> None: ...

    def delete(self, principal: Principal, dn: str) -> None: ...

    def route(self, number: str) -> Entry | None: ...

    def reset_voicemail(
        self,
        principal: Principal,
        user_dn: str,
        *,
        new_pin: bool,
        unlock: bool,
        resend_welcome: bool,
    ) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Session:
    """Where and as whom the use-cases act: the directory, the admin, our base DN."""

    directory: Facade
    principal: Principal
    base_dn: str
    audit: AuditLog | None = None  # changes are logged here once committed
    origin: Origin | None = None  # who the audit log names; None: this command process

    @property
    def schema(self) -> Schema:
        return self.directory.state.schema

    @property
    def people_dn(self) -> str:
        return f"{PEOPLE_RDN},{self.base_dn}"

    @property
    def defaults_dn(self) -> str:
        return f"{DEFAULTS_RDN},{self.base_dn}"


@dataclass(frozen=True, slots=True)
class NewUser:
    """What `user add` was given; `settings` are further `ATTR=VALUE` assignments."""

    given_name: str
    surname: str
    mail: str | None = None
    fax: tuple[str, ...] = ()
    phone: str | None = None
    mobile: str | None = None
    company: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    department: str | None = None
    office: str | None = None
    settings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class User:
    """One user as read: DN and attributes by primary name (secrets left out)."""

    dn: str
    attributes: dict[str, tuple[str, ...]]

    def first(self, name: str) -> str:
        values = self.attributes.get(name)
        return values[0] if values else ""

    @property
    def display_name(self) -> str:
        return self.first("displayName") or self.first("cn")


# --- templates ---
def read_templates(session: Session) -> Templates:
    """The templates on the server-defaults entry; absent ones are the defaults."""
    entry = _read_entry(session, session.defaults_dn)
    found = {key: _first(entry, attr) for key, attr in TEMPLATE_ATTRS.items()}
    return Templates(
        display_name=found["display_name"] or DEFAULT_DISPLAY_NAME,
        mail=found["mail"] or None,
        uid=found["uid"] or DEFAULT_UID,
    )


def set_templates(session: Session, changes: Mapping[str, str]) -> None:
    """Store templates (keys of TEMPLATE_ATTRS); an empty value returns to the default."""
    modifications = []
    for key, text in changes.items():
        attr = TEMPLATE_ATTRS[key]
        if text:
            check(attr, text)
        values = (text.encode("utf-8"),) if text else ()
        modifications.append(Modification(ModOp.REPLACE, attr, values))
    request = ModifyRequest(session.defaults_dn, tuple(modifications))
    _call(f"cannot change the templates on {session.defaults_dn}", session.directory.modify,
          session.principal, request)  # fmt: skip
    record(session.audit, session.principal, request, origin=session.origin)


# --- add ---
def add_user(session: Session, new: NewUser) -> User:
    """Create the user under ou=people: uid unique, cn = uid, names and mail from templates."""
    templates = read_templates(session)
    attrs = _initial_attributes(new)
    for name, values in parse_assignments(session.schema, new.settings).items():
        if values:
            attrs[name] = [value.decode("utf-8") for value in values]
    if attrs.get("company") or attrs.get("department"):
        attrs["objectClass"].append(ORG_CLASS)
    check_numbers(attrs)
    fields = _template_values(session.schema, attrs)
    if not attrs.get("uid"):
        attrs["uid"] = [free_uid(session, render_uid(templates.uid, fields))]
    uid = attrs["uid"][0]
    fields["uid"] = uid
    attrs.setdefault("cn", [uid])
    if not attrs.get("displayName"):
        attrs["displayName"] = [render_display_name(templates.display_name, fields)]
    if not attrs.get("mail"):
        if templates.mail is None:
            raise AdminError(NO_MAIL_TEMPLATE)
        attrs["mail"] = [render_mail(templates.mail, fields)]
    _check_mail_free(session, attrs["mail"][0])
    dn = f"uid={_escape(uid)},{session.people_dn}"
    request = AddRequest(dn, tuple((k, tuple(v.encode() for v in vs)) for k, vs in attrs.items()))
    _call(f"cannot add {dn}", session.directory.add, session.principal, request)
    record(session.audit, session.principal, request, origin=session.origin)
    return find_user(session, uid)


def _check_mail_free(session: Session, mail: str) -> None:
    """Mail delivers the user's faxes and voice mails: two users sharing one would mix them
    (a template gives namesakes the same address, so say how to choose another)."""
    holders = _search(session, Equality("mail", mail.encode("utf-8")), attributes=("1.1",))
    if holders:
        raise AdminError(
            f"mail {mail} already belongs to {holders[0].dn}; give another one with --mail"
        )


def _initial_attributes(new: NewUser) -> dict[str, list[str]]:
    given = {
        "givenName": new.given_name, "sn": new.surname, "mail": new.mail,
        "telephoneNumber": new.phone, "mobile": new.mobile, "company": new.company,
        "street": new.street, "postalCode": new.postal_code, "l": new.city,
        "department": new.department, "physicalDeliveryOfficeName": new.office,
    }  # fmt: skip
    attrs: dict[str, list[str]] = {"objectClass": list(USER_CLASSES)}
    attrs.update({name: [value] for name, value in given.items() if value})
    if new.fax:
        attrs["facsimileTelephoneNumber"] = list(new.fax)
    for name in ("givenName", "sn"):
        if not attrs.get(name, [""])[0].strip():
            raise AdminError(f"{name}: a new user needs a given name and a surname")
    return attrs


def _template_values(schema: Schema, attrs: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """First values by every name of their type, lower case (`{surname}` works like `{sn}`)."""
    fields: dict[str, str] = {}
    for name, values in attrs.items():
        if values:
            for alias in schema.attribute(name).names:
                fields[alias.lower()] = values[0]
    return fields


def free_uid(session: Session, wanted: str) -> str:
    """`wanted`, or with the first free numeric suffix (jmueller, jmueller2, jmueller3...)."""
    for number in range(1, MAX_UID_SUFFIX + 1):
        candidate = wanted if number == 1 else f"{wanted}{number}"
        if not _search(session, Equality("uid", candidate.encode()), attributes=("1.1",)):
            return candidate
    raise AdminError(f"uid {wanted!r}: no free numeric suffix up to {MAX_UID_SUFFIX}")


def check_numbers(attrs: Mapping[str, Sequence[str]]) -> None:
    """Telephone numbers in international form (`+49 8142 4799123`), stored as entered."""
    for name in sorted(INTERNATIONAL & attrs.keys()):
        for number in attrs[name]:
            if not _INTERNATIONAL_NUMBER.fullmatch(number.strip()):
                raise AdminError(
                    f"{name}: {number!r} is not in international form: start with + and the "
                    "country code, e.g. +49 8142 4799123 (spaces and ( ) / - are allowed)"
                )


# --- read ---
def list_users(session: Session, *, search: str | None = None) -> list[User]:
    """Every user (person or ixiUmsUser entry); `search` matches anywhere in the display name,
    ignoring case (manual §4.1: "It is searched in the entire name")."""
    users = [_user(session, entry) for entry in _search(session, _ANY_USER)]
    if search:
        wanted = search.casefold()
        users = [user for user in users if wanted in user.display_name.casefold()]
    return sorted(users, key=lambda user: (user.display_name.casefold(), user.dn))


def find_user(session: Session, uid: str) -> User:
    """The one user with this uid; AdminError when there is none or more than one."""
    found = _search(session, And((_ANY_USER, Equality("uid", uid.encode()))))
    if not found:
        raise AdminError(f"no user with uid {uid!r}")
    if len(found) > 1:
        raise AdminError(f"uid {uid!r} is ambiguous: " + "; ".join(e.dn for e in found))
    return _user(session, found[0])


def resolve_columns(schema: Schema, names: Iterable[str]) -> list[str]:
    """Column names as primary attribute names; an unknown one is an error naming it."""
    return [_attribute(schema, name.strip()).name for name in names if name.strip()]


# --- set, delete ---
def set_user(session: Session, uid: str, assignments: Sequence[str]) -> User:
    """Replace each named attribute by the given values (`ATTR=` removes it), in one modify."""
    if not assignments:
        raise AdminError("nothing to set: give ATTR=VALUE (ATTR= removes the attribute)")
    user = find_user(session, uid)
    parsed = parse_assignments(session.schema, assignments)
    check_numbers({name: [v.decode() for v in values] for name, values in parsed.items()})
    changes = tuple(Modification(ModOp.REPLACE, name, values) for name, values in parsed.items())
    request = ModifyRequest(user.dn, changes)
    _call(f"cannot change {user.dn}", session.directory.modify, session.principal, request)
    record(session.audit, session.principal, request, origin=session.origin)
    return find_user(session, uid)


def delete_user(session: Session, uid: str) -> str:
    user = find_user(session, uid)
    _call(f"cannot delete {user.dn}", session.directory.delete, session.principal, user.dn)
    record(session.audit, session.principal, Deletion(user.dn), origin=session.origin)
    return user.dn


def parse_assignments(schema: Schema, items: Iterable[str]) -> dict[str, tuple[bytes, ...]]:
    """`ATTR=VALUE` items by primary name; a repeated ATTR gives several values, `ATTR=` none.
    Booleans are accepted in any case (`true` → TRUE, RFC 4517 §3.3.3)."""
    parsed: dict[str, list[bytes]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise AdminError(f"{item!r}: expected ATTR=VALUE (ATTR= removes the attribute)")
        at = _attribute(schema, name.strip())
        if at.name in OWN_COMMAND:
            raise AdminError(f"{at.name}: set by `ixidir voicemail`, which checks the PIN rules")
        if at.no_user_modification:
            raise AdminError(f"{at.name}: kept by the server, not set by hand")
        values = parsed.setdefault(at.name, [])
        if value:
            values.append(_value(at, value))
    return {name: tuple(values) for name, values in parsed.items()}


def _value(at: AttributeType, value: str) -> bytes:
    if at.syntax.oid.endswith(".7"):  # Boolean
        return _BOOLEANS.get(value.lower(), value.encode())
    return value.encode("utf-8")


def _attribute(schema: Schema, name: str) -> AttributeType:
    try:
        return schema.attribute(name)
    except UndefinedAttributeType:
        raise AdminError(f"{name}: no such attribute in the schema") from None


# --- the directory ---
def _search(
    session: Session, query: Filter, *, attributes: tuple[str, ...] = ()
) -> list[SearchResultEntry]:
    request = SearchRequest(session.base_dn, Scope.SUB, query, attributes=attributes)
    return list(_call("cannot search", _collect, session, request))


def _collect(session: Session, request: SearchRequest) -> Iterator[SearchResultEntry]:
    return iter(list(session.directory.search(session.principal, request)))


def _read_entry(session: Session, dn: str) -> SearchResultEntry | None:
    request = SearchRequest(dn, Scope.BASE)
    try:
        return next(iter(session.directory.search(session.principal, request)), None)
    except LDAPError:
        return None


def _first(entry: SearchResultEntry | None, attr: str) -> str:
    if entry is None:
        return ""
    for name, values in entry.attributes:
        if name.lower() == attr.lower() and values:
            return values[0].decode("utf-8", "replace")
    return ""


def _user(session: Session, entry: SearchResultEntry) -> User:
    attrs: dict[str, tuple[str, ...]] = {}
    for name, values in entry.attributes:
        primary = session.schema.attribute(name).name
        if primary not in SECRETS:
            attrs[primary] = tuple(v.decode("utf-8", "replace") for v in values)
    return User(entry.dn, attrs)


def _call(context: str, function: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Run a directory call; its LDAPError becomes an AdminError saying what was refused."""
    try:
        return function(*args, **kwargs)
    except LDAPError as error:
        raise AdminError(f"{context}: {describe(error)}") from None


def describe(error: LDAPError) -> str:
    """The directory's reason (it names the attribute or the holder) and the LDAP result."""
    return f"{error.message} ({error.result_code.rfc_name})"


def _escape(value: str) -> str:
    """RFC 4514 §2.4 escaping for an RDN value (uids are plain, but be safe)."""
    escaped = re.sub(r'([,+"\\<>;=])', r"\\\1", value)
    return "\\" + escaped if escaped.startswith(("#", " ")) else escaped
