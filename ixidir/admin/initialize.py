"""`ixidir init`: a new data directory with its configuration, database and first entries.

The first entries are the suffix, the administrator `cn=admin,<base>`, `ou=people` and the
server-defaults entry `cn=ums-defaults,<base>` (class ixiUmsServerDefaults, SCHEMA.md) that holds
the site settings every node shares.

With a Firebird server (`--storage-dsn`) the first node creates the database there; every later
node joins it: it proves the administrator's password against the stored entry, refuses site
flags that differ from the stored ones, and writes only its own `ixidir.toml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ixidir.admin.certificates import DEFAULT_DAYS, create_certificate
from ixidir.admin.errors import AdminError
from ixidir.admin.runtime import build_directory, open_store, utc_now
from ixidir.config import CONFIG_FILE, EMBEDDED_DATABASE, Config, write_config
from ixidir.directory.directory import Directory
from ixidir.directory.requests import AccessClass, AddRequest, Principal, Scope, SearchRequest
from ixidir.dn import DN
from ixidir.errors import LDAPError
from ixidir.routing.site import ATTR_COUNTRY_CODE
from ixidir.storage import FirebirdEntryStore
from ixidir.storage.database import DatabaseMissing, parse_dsn

# The vendor's kernel locks a voice mailbox after 3 wrong PINs (SCHEMA.md).
DEFAULT_PIN_MAX_FAILURES = 3
DEFAULTS_RDN = "cn=ums-defaults"
PEOPLE_RDN = "ou=people"
# The site flags of `ixidir init`, their defaults and where cn=ums-defaults keeps them.
SITE_DEFAULTS = {"country_code": "49", "area_code": "8142", "timezone": "Europe/Berlin"}
_SITE_ATTRIBUTES = {
    "country_code": ATTR_COUNTRY_CODE,
    "area_code": "ixiSiteAreaCode",
    "timezone": "ixiDailyLimitTimeZone",
}


class InitError(AdminError):
    """`ixidir init` cannot proceed; nothing has been created."""


@dataclass(frozen=True, slots=True)
class Site:
    """The site flags as given; None = not given (a new site takes SITE_DEFAULTS)."""

    country_code: str | None = None
    area_code: str | None = None
    timezone: str | None = None

    def value(self, name: str) -> str:
        given: str | None = getattr(self, name)
        return SITE_DEFAULTS[name] if given is None else given


@dataclass(frozen=True, slots=True)
class ServerStorage:
    """`--storage-dsn HOST:PORT:/abs/path --storage-user U --storage-password-file F`."""

    dsn: str
    user: str
    password_file: Path


def init_dns(base_dn: str) -> list[str]:
    """The entries `ixidir init` makes (a backup of ours holds them too)."""
    return [base_dn, f"cn=admin,{base_dn}", f"{PEOPLE_RDN},{base_dn}", f"{DEFAULTS_RDN},{base_dn}"]


def initialize(
    data_dir: Path,
    *,
    base_dn: str,
    admin_password_file: Path,
    site: Site,
    storage: ServerStorage | None = None,
    certificate: bool = True,
) -> bool:
    """Create DATA/ixidir.toml, the database and the first entries; True when it did. Unless
    `certificate` is false, also a self-signed certificate for StartTLS and LDAPS.

    With `storage` whose database exists already, join it instead (False): nothing is written
    to the database, only DATA/ixidir.toml.
    """
    if (data_dir / CONFIG_FILE).exists() or (data_dir / EMBEDDED_DATABASE).exists():
        raise InitError(f"{data_dir} is already initialized")
    password = _read_password(admin_password_file)
    _check_site(*(site.value(name) for name in SITE_DEFAULTS))
    config = _new_config(str(DN.parse(base_dn)), storage)
    data_dir.mkdir(parents=True, exist_ok=True)
    store, created = _open_or_create(data_dir, config, is_server=storage is not None)
    try:
        directory = build_directory(data_dir, config, store)
        # An empty database is one whose creating init failed before its first entries.
        created = created or directory.load().entries == 0
        if created:
            _add_first_entries(directory, config.base_dn, password, site)
        else:
            _check_joined_site(directory, config.base_dn, password, site)
    finally:
        store.close()
    write_config(data_dir, config)
    if certificate:
        create_certificate(data_dir, [], days=DEFAULT_DAYS, now=utc_now())
    return created


def _open_or_create(
    data_dir: Path, config: Config, *, is_server: bool
) -> tuple[FirebirdEntryStore, bool]:
    """The store and whether it was created: a server database that exists is joined."""
    if is_server:
        try:
            return open_store(data_dir, config), False
        except DatabaseMissing:
            pass
    return open_store(data_dir, config, create=True), True


def _new_config(base_dn: str, storage: ServerStorage | None) -> Config:
    # simple_bind_tls is written explicitly, unlike most defaults: a file without it is from
    # before TLS and keeps clear-text password binds (config.py), so an upgraded site's
    # connector still binds.
    if storage is None:
        return Config(base_dn=base_dn, simple_bind_tls="off-host")
    if not parse_dsn(storage.dsn).is_server:
        raise InitError(f"--storage-dsn {storage.dsn}: expected HOST:PORT:/abs/path")
    if not storage.password_file.is_file():
        raise InitError(f"--storage-password-file {storage.password_file}: no such file")
    if not storage.user:
        raise InitError("--storage-user: a Firebird user name is needed")
    return Config(
        base_dn=base_dn,
        storage_dsn=storage.dsn,
        storage_user=storage.user,
        storage_password_file=str(storage.password_file.resolve()),
        simple_bind_tls="off-host",
    )


def _add_first_entries(directory: Directory, base_dn: str, password: bytes, site: Site) -> None:
    admin = Principal(dn=f"cn=admin,{base_dn}", access=AccessClass.ADMIN)
    entries = first_entries(
        base_dn,
        password,
        country_code=site.value("country_code"),
        area_code=site.value("area_code"),
        timezone=site.value("timezone"),
    )
    directory.add_many(admin, entries)  # one transaction: a failed init leaves no entries


def _check_joined_site(directory: Directory, base_dn: str, password: bytes, site: Site) -> None:
    """A joining node must know the administrator's password and agree on the site flags."""
    try:
        directory.bind(f"cn=admin,{base_dn}", password)
    except LDAPError:
        raise InitError(
            f"cannot join: the database holds no cn=admin,{base_dn} with that password "
            "(another base DN, or the wrong --admin-password-file)"
        ) from None
    admin = Principal(dn=f"cn=admin,{base_dn}", access=AccessClass.ADMIN)
    request = SearchRequest(f"{DEFAULTS_RDN},{base_dn}", Scope.BASE)
    stored = {
        name.lower(): values[0].decode("utf-8", "replace")
        for entry in directory.search(admin, request)
        for name, values in entry.attributes
        if values
    }
    for name, attribute in _SITE_ATTRIBUTES.items():
        given: str | None = getattr(site, name)
        held = stored.get(attribute.lower(), "")
        if given is not None and given != held:
            flag = "--" + name.replace("_", "-")
            raise InitError(
                f"cannot join: {flag} {given} differs from the site's {held or '(none)'} "
                f"({attribute} of {DEFAULTS_RDN},{base_dn}); leave it out or change the site"
            )


def _read_password(path: Path) -> bytes:
    # One trailing newline is not part of the password (`echo secret > file`); ldapsearch -y
    # sends the whole file, so the demo writes its file without one.
    password = path.read_bytes().removesuffix(b"\n").removesuffix(b"\r")
    if not password:
        raise InitError(f"{path}: the administrator password is empty")
    return password


def _check_site(country_code: str, area_code: str, timezone: str) -> None:
    if not country_code.isdigit() or not 1 <= len(country_code) <= 3:
        raise InitError(f"--country-code {country_code!r}: expected 1 to 3 digits, e.g. 49")
    if area_code and not area_code.isdigit():
        raise InitError(f"--area-code {area_code!r}: expected digits without the leading 0")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InitError(f"--timezone {timezone!r}: not an IANA time zone name") from None


def _values(*items: tuple[str, str]) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    grouped: dict[str, list[bytes]] = {}
    for name, value in items:
        grouped.setdefault(name, []).append(value.encode("utf-8"))
    return tuple((name, tuple(values)) for name, values in grouped.items())


def first_entries(
    base_dn: str, admin_password: bytes, *, country_code: str, area_code: str, timezone: str
) -> list[AddRequest]:
    """The suffix, the administrator, ou=people and the server-defaults entry."""
    return [
        AddRequest(base_dn, suffix_attributes(DN.parse(base_dn))),
        AddRequest(
            f"cn=admin,{base_dn}",
            (
                *_values(
                    ("objectClass", "organizationalRole"),
                    ("objectClass", "simpleSecurityObject"),
                    ("cn", "admin"),
                    ("description", "ixidir administrator"),
                ),
                ("userPassword", (admin_password,)),
            ),
        ),
        AddRequest(
            f"{PEOPLE_RDN},{base_dn}",
            _values(("objectClass", "organizationalUnit"), ("ou", "people")),
        ),
        AddRequest(
            f"{DEFAULTS_RDN},{base_dn}",
            _values(
                ("objectClass", "applicationProcess"),
                ("objectClass", "ixiUmsServerDefaults"),
                ("cn", "ums-defaults"),
                ("ixiSiteCountryCode", country_code),
                *((("ixiSiteAreaCode", area_code),) if area_code else ()),
                ("ixiSiteNationalPrefix", "0"),
                ("ixiSiteInternationalPrefix", "00"),
                ("ixiDailyLimitEnabled", "TRUE"),
                ("ixiDailyLimitTimeZone", timezone),
                ("ixiVmPinMaxFailures", str(DEFAULT_PIN_MAX_FAILURES)),
            ),
        ),
    ]


def suffix_attributes(base: DN) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    """The suffix entry's class follows its RDN: dc → dcObject+organization, o, ou."""
    ava = base.rdn.avas[0]
    kind = ava.attr.lower()
    if kind == "dc":
        return _values(
            ("objectClass", "dcObject"),
            ("objectClass", "organization"),
            ("dc", ava.value),
            ("o", ava.value),
        )
    if kind == "o":
        return _values(("objectClass", "organization"), ("o", ava.value))
    if kind == "ou":
        return _values(("objectClass", "organizationalUnit"), ("ou", ava.value))
    raise InitError(f"--base-dn {base}: the suffix must start with dc=, o= or ou=")
