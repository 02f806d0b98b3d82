"""`ixidir init`: a new data directory with its configuration, database and first entries.

The first entries are the suffix, the administrator `cn=admin,<base>`, `ou=people` and the
server-defaults entry `cn=ums-defaults,<base>` (class ixiUmsServerDefaults, SCHEMA.md) that holds
the site settings every node shares.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ixidir.admin.certificates import DEFAULT_DAYS, create_certificate
from ixidir.admin.errors import AdminError
from ixidir.admin.runtime import build_directory, open_store, utc_now
from ixidir.config import CONFIG_FILE, EMBEDDED_DATABASE, Config, write_config
from ixidir.directory.requests import AccessClass, AddRequest, Principal
from ixidir.dn import DN

# The vendor's kernel locks a voice mailbox after 3 wrong PINs (SCHEMA.md).
DEFAULT_PIN_MAX_FAILURES = 3
DEFAULTS_RDN = "cn=ums-defaults"
PEOPLE_RDN = "ou=people"


class InitError(AdminError):
    """`ixidir init` cannot proceed; nothing has been created."""


def initialize(
    data_dir: Path,
    *,
    base_dn: str,
    admin_password_file: Path,
    country_code: str,
    area_code: str,
    timezone: str,
    certificate: bool = True,
) -> None:
    """Create DATA/ixidir.toml, the embedded database and the first entries, and (unless
    `certificate` is false) a self-signed certificate for StartTLS and LDAPS."""
    if (data_dir / CONFIG_FILE).exists() or (data_dir / EMBEDDED_DATABASE).exists():
        raise InitError(f"{data_dir} is already initialized")
    password = _read_password(admin_password_file)
    _check_site(country_code, area_code, timezone)
    # Written explicitly, unlike most defaults: a file without it is from before TLS and keeps
    # clear-text password binds (config.py), so an upgraded site's connector still binds.
    config = Config(base_dn=str(DN.parse(base_dn)), simple_bind_tls="off-host")
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(data_dir, config, create=True)
    try:
        directory = build_directory(data_dir, config, store)
        directory.load()
        admin = Principal(dn=f"cn=admin,{config.base_dn}", access=AccessClass.ADMIN)
        entries = first_entries(
            config.base_dn,
            password,
            country_code=country_code,
            area_code=area_code,
            timezone=timezone,
        )
        directory.add_many(admin, entries)  # one transaction: a failed init leaves no entries
    finally:
        store.close()
    write_config(data_dir, config)
    if certificate:
        create_certificate(data_dir, [], days=DEFAULT_DAYS, now=utc_now())


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
