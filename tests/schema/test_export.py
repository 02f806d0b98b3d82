"""Exports checked by the real OpenLDAP tools (slaptest, slapadd) from Debian's slapd."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ixidir.schema import Schema
from ixidir.schema.export import export_slapd_core_patch

SLAPTEST = "/usr/sbin/slaptest"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA_DIR = Path("/etc/ldap/schema")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def slapd_conf(tmp_path: Path, core: Path, ixi: Path, *, index_fax: bool = False) -> Path:
    (tmp_path / "db").mkdir()
    lines = [
        f"include {core}",
        f"include {SCHEMA_DIR / 'cosine.schema'}",
        f"include {SCHEMA_DIR / 'inetorgperson.schema'}",
        f"include {ixi}",
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        "database mdb",
        'suffix "dc=example,dc=com"',
        f"directory {tmp_path / 'db'}",
        "index ixiCanonicalNumber eq",
        "index ixiVoiceNumber eq,sub",
    ]
    if index_fax:
        lines.append("index facsimileTelephoneNumber eq,sub")
    conf = tmp_path / "slapd.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def test_exported_schema_file_passes_slaptest(schema: Schema, tmp_path: Path) -> None:
    ixi = tmp_path / "ixi.schema"
    ixi.write_text(schema.export_openldap_schema())
    result = run(SLAPTEST, "-u", "-f", str(slapd_conf(tmp_path, SCHEMA_DIR / "core.schema", ixi)))
    assert result.returncode == 0, result.stderr


def test_export_uses_the_schema_md_oid_macros(schema: Schema) -> None:
    text = schema.export_openldap_schema()
    assert "objectIdentifier ixidirRoot 2.25.36358030867219218258049950064569224190" in text
    assert "attributetype ( ixiAT:2.6 NAME 'ixiFaxDailyLimitMode'" in text
    assert "objectclass ( ixiOC:1 NAME 'ixiUmsUser'" in text
    assert "2.5.4.23" not in text.split("\n\n", 1)[1]  # only the header mentions the fax type


def test_patched_core_lets_slapd_index_the_fax_number(schema: Schema, tmp_path: Path) -> None:
    core = tmp_path / "core.schema"
    core.write_text(export_slapd_core_patch((SCHEMA_DIR / "core.schema").read_text()))
    ixi = tmp_path / "ixi.schema"
    ixi.write_text(schema.export_openldap_schema())
    conf = slapd_conf(tmp_path, core, ixi, index_fax=True)
    result = run(SLAPTEST, "-u", "-f", str(conf))
    assert result.returncode == 0, result.stderr


def test_stock_core_refuses_a_fax_index(schema: Schema, tmp_path: Path) -> None:
    """The reason for the patch: stock core.schema gives the fax type no matching rule."""
    ixi = tmp_path / "ixi.schema"
    ixi.write_text(schema.export_openldap_schema())
    conf = slapd_conf(tmp_path, SCHEMA_DIR / "core.schema", ixi, index_fax=True)
    result = run(SLAPTEST, "-u", "-f", str(conf))
    assert result.returncode != 0
    assert "facsimileTelephoneNumber" in result.stderr


def test_core_patch_rewrites_only_the_fax_definition() -> None:
    original = (SCHEMA_DIR / "core.schema").read_text()
    patched = export_slapd_core_patch(original)
    assert "EQUALITY telephoneNumberMatch\n\tSUBSTR telephoneNumberSubstringsMatch" in patched
    assert "SYNTAX 1.3.6.1.4.1.1466.115.121.1.50{32} )" in patched
    assert patched.count("attributetype") == original.count("attributetype")
    with pytest.raises(ValueError, match=r"2\.5\.4\.23"):
        export_slapd_core_patch("attributetype ( 2.5.4.3 NAME 'cn' SUP name )\n")


def test_cn_config_ldif_loads_with_slapadd(schema: Schema, tmp_path: Path) -> None:
    parts = [
        "dn: cn=config\nobjectClass: olcGlobal\ncn: config\n",
        "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n",
        *((SCHEMA_DIR / f"{n}.ldif").read_text() for n in ("core", "cosine", "inetorgperson")),
        schema.export_cn_config_ldif(),
        "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\n"
        "olcDatabase: {0}config\n",
    ]
    ldif = tmp_path / "config.ldif"
    ldif.write_text("\n".join(parts))
    config_dir = tmp_path / "slapd.d"
    config_dir.mkdir()
    added = run(SLAPADD, "-n0", "-F", str(config_dir), "-l", str(ldif))
    assert added.returncode == 0, added.stderr
    tested = run(SLAPTEST, "-u", "-F", str(config_dir))
    assert tested.returncode == 0, tested.stderr
    assert (config_dir / "cn=config" / "cn=schema" / "cn={3}ixi.ldif").exists()


def test_cn_config_ldif_numbers_its_values(schema: Schema) -> None:
    ldif = schema.export_cn_config_ldif()
    assert ldif.startswith("dn: cn=ixi,cn=schema,cn=config\n")
    assert "olcObjectIdentifier: {1}ixiAT ixidirRoot:1" in ldif
    assert "olcObjectClasses: {0}( ixiOC:1 NAME 'ixiUmsUser'" in ldif
