"""The server's TLS certificate: make a self-signed one, import one, describe the one in use.

Both end in the same two files, `DATA/tls/certificate.pem` (the certificate, then its chain)
and `DATA/tls/key.pem` (mode 0600), named by `tls_certificate`/`tls_key` in ixidir.toml; a
running server takes a new one for new connections on SIGHUP.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from service_identity import VerificationError
from service_identity.cryptography import (
    verify_certificate_hostname,
    verify_certificate_ip_address,
)

from ixidir.admin.errors import AdminError
from ixidir.config import load_config, resolve_path, set_config_strings
from ixidir.server.tls import TLSConfigurationError, keys_match, load_options, read_certificates

CERTIFICATE_FILE = "tls/certificate.pem"  # relative to the data directory, as in ixidir.toml
KEY_FILE = "tls/key.pem"
# Apple's clients refuse server certificates valid for longer (HT210176), and the log warns
# 30 days before the end, so a site renews in time.
DEFAULT_DAYS = 825
WARN_DAYS = 30
# RSA, not ECDSA: every LDAP client a UMS site has (Windows connectors included) accepts it.
RSA_BITS = 2048
_BACKDATE = timedelta(minutes=5)  # clients whose clocks run a little behind accept it at once


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """What `ixidir cert show` prints, and the names a certificate is valid for."""

    subject: str
    issuer: str
    names: tuple[str, ...]
    sha256: str
    not_before: datetime
    not_after: datetime
    chain_length: int


def default_names() -> list[str]:
    """The names clients on this machine or the network may use: the FQDN, the host name,
    localhost and the loopback addresses."""
    return _unique([socket.getfqdn(), socket.gethostname(), "localhost", "127.0.0.1", "::1"])


def create_self_signed(
    names: Sequence[str], *, days: int, now: datetime
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A self-signed server certificate for `names` (host names and IP addresses, all as
    subjectAltNames: RFC 6125 clients look only there); the first name is also the CN."""
    if not names:
        raise AdminError("a certificate needs at least one host name or address")
    if days < 1:
        raise AdminError(f"--days {days}: must be at least 1")
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_server_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def create_certificate(
    data_dir: Path, names: Sequence[str], *, days: int, now: datetime
) -> CertificateSummary:
    """`ixidir cert create`: write a new self-signed certificate and configure it."""
    load_config(data_dir)  # an initialized data directory, before any file is written
    certificate, key = create_self_signed(_unique(names) or default_names(), days=days, now=now)
    _install(data_dir, [certificate], key)
    return summarize([certificate])


def import_certificate(
    data_dir: Path,
    certificate_file: Path,
    key_file: Path,
    *,
    chain_file: Path | None,
    hostnames: Sequence[str],
    now: datetime,
) -> tuple[CertificateSummary, list[str]]:
    """`ixidir cert import`: check the key, the dates, the names and the chain, then copy
    the files into the data directory and configure them. Returns warnings to print."""
    load_config(data_dir)  # an initialized data directory, before anything is checked
    certificates = _read(certificate_file)
    if chain_file is not None:
        certificates += _read(chain_file)
    key = _read_key(key_file)
    if not keys_match(certificates[0], key):
        raise AdminError(f"{key_file}: this key does not belong to the certificate")
    check_dates(certificates[0], now)
    _check_chain(certificates)
    summary = summarize(certificates)
    warnings = check_names(certificates[0], summary, hostnames=hostnames)
    if summary.not_after - now < timedelta(days=WARN_DAYS):
        warnings.append(f"the certificate expires on {summary.not_after:%Y-%m-%d}")
    _install(data_dir, certificates, key)
    return summary, warnings


def show_certificate(data_dir: Path) -> tuple[CertificateSummary, Path]:
    """The configured certificate, for `ixidir cert show`."""
    config = load_config(data_dir)
    if config.tls_certificate is None:
        raise AdminError("no certificate configured; make one with 'ixidir cert create'")
    path = resolve_path(data_dir, config.tls_certificate)
    return summarize(_read(path)), path


def check_dates(certificate: x509.Certificate, now: datetime) -> None:
    """A certificate that is not valid yet or any more is refused by every client."""
    if now < certificate.not_valid_before_utc:
        start = certificate.not_valid_before_utc
        raise AdminError(f"the certificate is not valid before {start:%Y-%m-%d %H:%M} UTC")
    if now > certificate.not_valid_after_utc:
        raise AdminError(f"the certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}")


def check_names(
    certificate: x509.Certificate, summary: CertificateSummary, *, hostnames: Sequence[str]
) -> list[str]:
    """Every `--hostname` must be one the certificate is valid for; without any, a
    certificate that does not name this machine is accepted with a warning."""
    if not summary.names:
        raise AdminError(
            "the certificate has no subjectAltName; clients check names only there (RFC 6125)"
        )
    wanted = list(hostnames) or [socket.getfqdn()]
    missing = [name for name in wanted if not names_host(certificate, name)]
    if not missing:
        return []
    known = ", ".join(summary.names)
    if hostnames:
        raise AdminError(f"the certificate is not valid for {', '.join(missing)} (only {known})")
    return [f"the certificate does not name this machine ({missing[0]}); clients must use {known}"]


def names_host(certificate: x509.Certificate, name: str) -> bool:
    """What a client checks (RFC 6125): the name or address is among the subjectAltNames."""
    try:
        if _is_address(name):
            verify_certificate_ip_address(certificate, name)
        else:
            verify_certificate_hostname(certificate, name)
    except (VerificationError, ValueError):
        return False
    return True


def summarize(certificates: Sequence[x509.Certificate]) -> CertificateSummary:
    certificate = certificates[0]
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    return CertificateSummary(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        names=tuple(_san_names(certificate)),
        sha256=fingerprint,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        chain_length=len(certificates) - 1,
    )


def _install(
    data_dir: Path, certificates: Sequence[x509.Certificate], key: PrivateKeyTypes
) -> None:
    """Write both files (the key 0600, each replaced atomically) and name them in ixidir.toml."""
    folder = data_dir / Path(CERTIFICATE_FILE).parent
    folder.mkdir(mode=0o700, exist_ok=True)
    pem = b"".join(item.public_bytes(serialization.Encoding.PEM) for item in certificates)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(data_dir / KEY_FILE, key_pem)
    _write_private(data_dir / CERTIFICATE_FILE, pem, mode=0o644)
    try:  # the server must be able to use what we configure
        load_options(data_dir / CERTIFICATE_FILE, data_dir / KEY_FILE)
    except TLSConfigurationError as error:
        raise AdminError(str(error)) from None
    set_config_strings(data_dir, {"tls_certificate": CERTIFICATE_FILE, "tls_key": KEY_FILE})


def _write_private(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    # Created with its final mode: the key is never readable by others, not even briefly.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), mode)  # whatever the umask
        file.write(data)
    os.replace(temporary, path)


def _read(path: Path) -> list[x509.Certificate]:
    try:
        return read_certificates(path)
    except TLSConfigurationError as error:
        raise AdminError(str(error)) from None


def _read_key(path: Path) -> PrivateKeyTypes:
    data = path.read_bytes()
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise AdminError(
            f"{path}: the key is encrypted; ixidir needs it without a passphrase "
            "(openssl pkey -in KEY -out KEY.plain), kept readable only by ixidir"
        ) from None
    except ValueError:
        raise AdminError(f"{path}: not a PEM private key") from None


def _check_chain(certificates: Sequence[x509.Certificate]) -> None:
    """Each certificate is signed by the next one (the order clients expect to receive)."""
    for number, (child, issuer) in enumerate(itertools.pairwise(certificates)):
        try:
            child.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise AdminError(
                f"chain certificate {number + 1} ({issuer.subject.rfc4514_string()}) did not "
                f"issue {child.subject.rfc4514_string()}; give the chain in order, issuer last"
            ) from None


def _general_names(names: Iterable[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in names:
        if _is_address(name):
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        elif name and all(part for part in name.split(".")) and " " not in name:
            result.append(x509.DNSName(name.lower()))
        else:
            raise AdminError(f"--hostname {name!r}: not a host name or IP address")
    return result


def _server_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_encipherment=True,  # RSA key exchange, for old clients
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _san_names(certificate: x509.Certificate) -> list[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    dns = extension.value.get_values_for_type(x509.DNSName)
    addresses = extension.value.get_values_for_type(x509.IPAddress)
    return [*dns, *(str(address) for address in addresses)]


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return list(seen.values())
