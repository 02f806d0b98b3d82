"""Tests for ixidir.config: where the data directory is, loading, validation, writing."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.config import (
    DEFAULT_WORKERS,
    FOLLOW_DEFAULT,
    KEY_HELP,
    Config,
    ConfigError,
    data_dir_from,
    format_config,
    load_config,
    resolve_path,
    set_config_strings,
    split_address,
    write_config,
)


def write_toml(data_dir: Path, text: str) -> Path:
    path = data_dir / "ixidir.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_data_dir_prefers_argument_then_environment_then_default() -> None:
    env = {"IXIDIR_DATA": "/srv/ixidir"}
    assert data_dir_from("/data", environ=env) == Path("/data")
    assert data_dir_from(None, environ=env) == Path("/srv/ixidir")
    assert data_dir_from(None, environ={}) == Path("ixidir-data")
    assert data_dir_from(None, environ={"IXIDIR_DATA": ""}) == Path("ixidir-data")


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    write_toml(tmp_path, 'base_dn = "dc=example,dc=com"\n')
    config = load_config(tmp_path)
    assert config == Config(base_dn="dc=example,dc=com")
    assert config.listen == ("0.0.0.0:391",)
    assert config.storage_dsn is None
    assert config.anonymous_read is False
    assert config.password_scheme == "PBKDF2-SHA512"
    assert config.max_pdu_size == 4 * 1024 * 1024
    assert config.routing_attributes == (
        "facsimileTelephoneNumber",
        "ixiVoiceNumber",
        "ixiSmsNumber",
    )
    assert "entryUUID" in config.indexed_attributes


def test_every_key_is_read(tmp_path: Path) -> None:
    text = """
base_dn = "o=ixi"
listen = ["127.0.0.1:3891", "[::1]:3891"]
listen_ldaps = ["0.0.0.0:636"]
storage_dsn = "db1:3050//srv/ixidir.fdb"
storage_user = "IXIDIR"
storage_password_file = "fb-password"
anonymous_read = true
service_accounts = ["cn=connector,o=ixi"]
password_scheme = "PBKDF2-SHA256"
indexed_attributes = ["cn"]
routing_attributes = ["facsimileTelephoneNumber"]
max_pdu_size = 65536
workers = 2
size_limit = 500
time_limit = 60
max_connections = 100
max_connections_per_address = 10
idle_timeout = 300
max_pending_requests = 8
anonymous_max_pdu_size = 4096
audit_log = "/var/log/ixidir/audit.ldif"
tls_certificate = "cert.pem"
tls_key = "key.pem"
simple_bind_tls = "always"
log_level = "debug"
snapshot_every_changes = 0
snapshot_every_minutes = 5
metrics_listen = "[::1]:9391"
"""
    write_toml(tmp_path, text)
    config = load_config(tmp_path)
    assert config.listen == ("127.0.0.1:3891", "[::1]:3891")
    assert config.service_accounts == ("cn=connector,o=ixi",)
    assert (config.anonymous_read, config.size_limit, config.tls_key) == (True, 500, "key.pem")
    assert config.workers == 2
    assert (config.time_limit, config.max_connections, config.idle_timeout) == (60, 100, 300)
    assert (config.max_pending_requests, config.anonymous_max_pdu_size) == (8, 4096)
    assert config.audit_log == "/var/log/ixidir/audit.ldif"
    assert (config.listen_ldaps, config.simple_bind_tls) == (("0.0.0.0:636",), "always")
    assert (config.snapshot_every_changes, config.snapshot_every_minutes) == (0, 5)
    assert config.metrics_listen == "[::1]:9391"
    assert {item.name for item in fields(Config)} == set(tomllib.loads(text))


def test_metrics_listen_defaults_to_loopback_and_an_empty_string_switches_it_off(
    tmp_path: Path,
) -> None:
    write_toml(tmp_path, 'base_dn = "o=ixi"\n')
    assert load_config(tmp_path).metrics_listen == "127.0.0.1:9391"
    write_toml(tmp_path, 'base_dn = "o=ixi"\nmetrics_listen = ""\n')
    assert load_config(tmp_path).metrics_listen == ""
    write_toml(tmp_path, 'base_dn = "o=ixi"\nmetrics_listen = "9391"\n')
    with pytest.raises(ConfigError, match="'metrics_listen': '9391' is not HOST:PORT"):
        load_config(tmp_path)


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'base_dn = "o=ixi"\nlisten_port = 391\n')
    with pytest.raises(ConfigError, match="unknown key 'listen_port'") as info:
        load_config(tmp_path)
    assert str(info.value).startswith(str(path))
    assert info.value.key == "listen_port"


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('listen = "0.0.0.0:391"', "listen", "a list of strings"),
        ("listen = [391]", "listen", "a list of strings"),
        ("anonymous_read = 1", "anonymous_read", "true or false"),
        ("max_pdu_size = true", "max_pdu_size", "an integer"),
        ('size_limit = "10"', "size_limit", "an integer"),
        ("storage_dsn = 5", "storage_dsn", "a string"),
    ],
)
def test_wrong_type_names_key_and_expected_type(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    path = write_toml(tmp_path, f'base_dn = "o=ixi"\n{line}\n')
    with pytest.raises(ConfigError, match=f"'{key}' must be {expected}") as info:
        load_config(tmp_path)
    assert (info.value.key, info.value.path) == (key, path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("log_level = 'info'", "base_dn"),
        ('base_dn = "not a dn"', "base_dn"),
        ('base_dn = ""', "base_dn"),
        ('base_dn = "o=ixi"\nlisten = []', "listen"),
        ('base_dn = "o=ixi"\nlisten = ["localhost"]', "listen"),
        ('base_dn = "o=ixi"\nlisten = ["localhost:70000"]', "listen"),
        ('base_dn = "o=ixi"\nservice_accounts = ["connector"]', "service_accounts"),
        ('base_dn = "o=ixi"\nindexed_attributes = ["c n"]', "indexed_attributes"),
        ('base_dn = "o=ixi"\nmax_pdu_size = 0', "max_pdu_size"),
        ('base_dn = "o=ixi"\nsize_limit = -1', "size_limit"),
        ('base_dn = "o=ixi"\ntls_certificate = "c.pem"', "tls_key"),
        ('base_dn = "o=ixi"\nlisten_ldaps = ["0.0.0.0:636"]', "listen_ldaps"),
        ('base_dn = "o=ixi"\nsimple_bind_tls = "sometimes"', "simple_bind_tls"),
        ('base_dn = "o=ixi"\nlog_level = "verbose"', "log_level"),
    ],
)
def test_invalid_values_name_the_key_and_the_file(tmp_path: Path, text: str, key: str) -> None:
    path = write_toml(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert (info.value.key, info.value.path) == (key, path)
    assert key in str(info.value)


def test_missing_file_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ixidir init"):
        load_config(tmp_path)


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    write_toml(tmp_path, "base_dn = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("address", "parts"),
    [("192.0.2.1:391", ("192.0.2.1", 391)), ("[::1]:0", ("::1", 0)), (":391", ("", 391))],
)
def test_split_address_reads_host_and_port(address: str, parts: tuple[str, int]) -> None:
    assert split_address(address) == parts


def test_relative_paths_are_relative_to_the_data_directory() -> None:
    assert resolve_path(Path("/data"), "key.pem") == Path("/data/key.pem")
    assert resolve_path(Path("/data"), "/etc/ssl/key.pem") == Path("/etc/ssl/key.pem")


def test_written_file_documents_every_key_and_loads_back(tmp_path: Path) -> None:
    config = Config(base_dn="dc=example,dc=com")
    path = write_config(tmp_path, config)
    text = path.read_text(encoding="utf-8")
    assert set(KEY_HELP) == {item.name for item in fields(Config)}
    assert all(f"# {help_text}" in text for help_text in KEY_HELP.values())
    assert load_config(tmp_path) == config
    assert [p.name for p in tmp_path.iterdir()] == ["ixidir.toml"]


optional_text = st.none() | st.text()
configs = st.builds(
    Config,
    base_dn=st.just("dc=example,dc=com"),
    listen=st.lists(st.sampled_from(["0.0.0.0:391", "[::]:636", "h:1"]), min_size=1).map(tuple),
    storage_dsn=optional_text,
    storage_user=optional_text,
    storage_password_file=optional_text,
    anonymous_read=st.booleans(),
    password_scheme=st.text(),
    indexed_attributes=st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9-]*", fullmatch=True)).map(tuple),
    max_pdu_size=st.integers(min_value=1, max_value=2**62),
    size_limit=st.integers(min_value=0, max_value=2**62),
)


@given(configs, st.text())
def test_any_config_formats_to_toml_that_reads_back(config: Config, certificate: str) -> None:
    config = replace(config, tls_certificate=certificate, tls_key=certificate + "\n\"'\\")
    assert tomllib.loads(format_config(config)) == {
        item.name: list(value) if isinstance(value, tuple) else value
        for item in fields(config)
        if (value := getattr(config, item.name)) is not None
        and not (item.name in FOLLOW_DEFAULT and value == item.default)
    }


def test_resource_limits_default_to_slapds_where_it_has_one(tmp_path: Path) -> None:
    """An absent key takes the default (README "Resource limits"): slapd's sizelimit 500,
    timelimit 3600 s and sockbuf_max_incoming 256 KiB; `ixidir init` leaves them commented."""
    write_config(tmp_path, Config(base_dn="dc=example,dc=com"))
    text = (tmp_path / "ixidir.toml").read_text()
    assert "# size_limit = 500\n" in text
    assert "# idle_timeout = 3600\n" in text
    config = load_config(tmp_path)
    assert (config.size_limit, config.time_limit) == (500, 3600)
    assert (config.max_connections, config.max_connections_per_address) == (4096, 256)
    assert (config.idle_timeout, config.max_pending_requests) == (3600, 64)
    assert config.anonymous_max_pdu_size == 256 * 1024
    assert config.audit_log is None


@pytest.mark.parametrize(
    "line",
    ["time_limit = -1", "max_connections = -1", "idle_timeout = -5", "max_pending_requests = 0",
     "anonymous_max_pdu_size = 0", "max_connections_per_address = -1"],
)  # fmt: skip
def test_negative_resource_limits_are_refused(tmp_path: Path, line: str) -> None:
    write_toml(tmp_path, f'base_dn = "o=ixi"\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.key == line.split(" ", 1)[0]


def test_workers_at_the_default_are_left_to_the_code(tmp_path: Path) -> None:
    """A directory written with the default worker count follows a later default; another
    count stays written."""
    write_config(tmp_path, Config(base_dn="dc=example,dc=com"))
    assert f"# workers = {DEFAULT_WORKERS}" in (tmp_path / "ixidir.toml").read_text()
    assert load_config(tmp_path).workers == DEFAULT_WORKERS
    write_config(tmp_path, Config(base_dn="dc=example,dc=com", workers=DEFAULT_WORKERS + 1))
    assert f"\nworkers = {DEFAULT_WORKERS + 1}\n" in (tmp_path / "ixidir.toml").read_text()
    assert load_config(tmp_path).workers == DEFAULT_WORKERS + 1


def test_a_file_without_simple_bind_tls_is_from_before_tls(tmp_path: Path) -> None:
    write_toml(tmp_path, 'base_dn = "o=ixi"\n')
    assert load_config(tmp_path).simple_bind_tls is None  # `ixidir serve` treats it as never


def test_setting_keys_keeps_the_other_lines(tmp_path: Path) -> None:
    write_config(tmp_path, Config(base_dn="o=ixi"))
    toml = tmp_path / "ixidir.toml"
    toml.write_text(toml.read_text() + "# the administrator's own note\n")
    config = set_config_strings(tmp_path, {"tls_certificate": "c.pem", "tls_key": "k.pem"})
    text = toml.read_text()
    assert (config.tls_certificate, config.tls_key) == ("c.pem", "k.pem")
    assert 'tls_certificate = "c.pem"' in text
    assert '# tls_certificate = ""' not in text  # the commented placeholder was replaced
    assert "# the administrator's own note" in text
    assert load_config(tmp_path) == config


def test_setting_keys_refuses_a_result_that_does_not_load(tmp_path: Path) -> None:
    write_config(tmp_path, Config(base_dn="o=ixi"))
    before = (tmp_path / "ixidir.toml").read_text()
    with pytest.raises(ConfigError, match="go together"):
        set_config_strings(tmp_path, {"tls_certificate": "c.pem"})
    assert (tmp_path / "ixidir.toml").read_text() == before


@pytest.mark.parametrize(("value", "addresses"), [('"0.0.0.0:636"', ("0.0.0.0:636",)), ('""', ())])
def test_listen_ldaps_takes_one_address_as_a_string(
    tmp_path: Path, value: str, addresses: tuple[str, ...]
) -> None:
    text = f'base_dn = "o=ixi"\ntls_certificate = "c"\ntls_key = "k"\nlisten_ldaps = {value}\n'
    write_toml(tmp_path, text)
    assert load_config(tmp_path).listen_ldaps == addresses
