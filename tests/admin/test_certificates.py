"""`ixidir cert create/import/show`: what is written, and what an import refuses."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ixidir.admin.certificates import (
    CERTIFICATE_FILE,
    KEY_FILE,
    CertificateSummary,
    create_certificate,
    create_self_signed,
    import_certificate,
    show_certificate,
)
from ixidir.admin.errors import AdminError
from ixidir.config import Config, ConfigError, load_config, write_config
from ixidir.server.tls import ServerTLS

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
Key = rsa.RSAPrivateKey


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    write_config(data, Config(base_dn="dc=example,dc=com"))
    return data


def pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(item.public_bytes(serialization.Encoding.PEM) for item in certificates)


def key_pem(key: Key, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def issued(
    name: str, issuer: tuple[x509.Certificate, Key] | None, *, ca: bool = False
) -> tuple[x509.Certificate, Key]:
    """A certificate for `name` (a SAN unless `ca`), signed by `issuer` (self when None)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_name, signer_key = (subject, key) if issuer is None else (issuer[0].subject, issuer[1])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    return builder.sign(signer_key, hashes.SHA256()), key


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def import_pem(
    data_dir: Path,
    certificate: x509.Certificate,
    key: Key,
    *,
    chain: tuple[x509.Certificate, ...] = (),
    hostnames: tuple[str, ...] = (),
    now: datetime = NOW,
    password: bytes | None = None,
) -> tuple[CertificateSummary, list[str]]:
    """`ixidir cert import` of these objects, written to files beside the data directory."""
    folder = data_dir.parent
    return import_certificate(
        data_dir,
        write(folder / "c.pem", pem(certificate)),
        write(folder / "k.pem", key_pem(key, password)),
        chain_file=write(folder / "chain.pem", pem(*chain)) if chain else None,
        hostnames=hostnames,
        now=now,
    )


def test_create_writes_a_self_signed_certificate_with_every_name(data_dir: Path) -> None:
    names = ["ldap.example.com", "192.0.2.7", "::1"]
    summary = create_certificate(data_dir, names, days=30, now=NOW)
    assert summary.names == ("ldap.example.com", "192.0.2.7", "::1")
    assert summary.subject == summary.issuer == "CN=ldap.example.com"
    assert summary.not_after == NOW + timedelta(days=30)
    key_mode = stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode)
    assert key_mode == 0o600
    config = load_config(data_dir)
    assert (config.tls_certificate, config.tls_key) == (CERTIFICATE_FILE, KEY_FILE)
    ServerTLS(data_dir / CERTIFICATE_FILE, data_dir / KEY_FILE)  # the server can use it
    shown, path = show_certificate(data_dir)
    assert (shown, path) == (summary, data_dir / CERTIFICATE_FILE)
    assert len(summary.sha256.split(":")) == 32


def test_create_refuses_a_name_that_is_neither_host_nor_address(data_dir: Path) -> None:
    with pytest.raises(AdminError, match="not a host name"):
        create_certificate(data_dir, ["two words"], days=30, now=NOW)


def test_show_without_a_certificate_says_how_to_make_one(data_dir: Path) -> None:
    with pytest.raises(AdminError, match="ixidir cert create"):
        show_certificate(data_dir)


def test_import_copies_certificate_chain_and_key(data_dir: Path) -> None:
    root = issued("Example Root", None, ca=True)
    intermediate = issued("Example Intermediate", root, ca=True)
    leaf, key = issued("ldap.example.com", intermediate)
    chain = (intermediate[0], root[0])
    summary, warnings = import_pem(
        data_dir, leaf, key, chain=chain, hostnames=("ldap.example.com",)
    )
    assert warnings == []
    assert summary.chain_length == 2
    assert (data_dir / CERTIFICATE_FILE).read_bytes() == pem(leaf, intermediate[0], root[0])
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600


def test_import_refuses_a_key_of_another_certificate(data_dir: Path) -> None:
    leaf, _ = issued("ldap.example.com", None)
    _, other_key = issued("other.example.com", None)
    with pytest.raises(AdminError, match="does not belong"):
        import_pem(data_dir, leaf, other_key)
    assert load_config(data_dir).tls_certificate is None  # nothing configured


@pytest.mark.parametrize(
    ("now", "reason"),
    [(NOW + timedelta(days=400), "expired on"), (NOW - timedelta(days=30), "not valid before")],
)
def test_import_refuses_a_certificate_out_of_its_dates(
    data_dir: Path, now: datetime, reason: str
) -> None:
    leaf, key = issued("ldap.example.com", None)
    with pytest.raises(AdminError, match=reason):
        import_pem(data_dir, leaf, key, now=now)


def test_import_checks_the_names_clients_use(data_dir: Path) -> None:
    leaf, key = issued("ldap.example.com", None)
    with pytest.raises(AdminError, match=r"not valid for ums\.example\.com"):
        import_pem(data_dir, leaf, key, hostnames=("ums.example.com",))
    # Without --hostname, a certificate that does not name this machine is only a warning.
    _, warnings = import_pem(data_dir, leaf, key)
    assert len(warnings) == 1
    assert "ldap.example.com" in warnings[0]


def test_import_refuses_a_certificate_without_subject_alt_names(data_dir: Path) -> None:
    ca, key = issued("ldap.example.com", None, ca=True)  # a CN only
    with pytest.raises(AdminError, match="subjectAltName"):
        import_pem(data_dir, ca, key)


def test_import_refuses_a_chain_out_of_order(data_dir: Path) -> None:
    root = issued("Example Root", None, ca=True)
    intermediate = issued("Example Intermediate", root, ca=True)
    leaf, key = issued("ldap.example.com", intermediate)
    with pytest.raises(AdminError, match="did not issue"):
        import_pem(data_dir, leaf, key, chain=(root[0], intermediate[0]))


def test_import_refuses_an_encrypted_key_and_says_what_to_do(data_dir: Path) -> None:
    leaf, key = issued("ldap.example.com", None)
    with pytest.raises(AdminError, match="without a passphrase"):
        import_pem(data_dir, leaf, key, password=b"secret")


def test_self_signed_certificate_is_a_server_certificate() -> None:
    certificate, _ = create_self_signed(["ldap.example.com"], days=1, now=NOW)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is False
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage.value


def test_cert_commands_need_an_initialized_data_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ixidir init"):
        create_certificate(tmp_path, ["ldap.example.com"], days=30, now=NOW)
    assert not (tmp_path / "tls").exists()
