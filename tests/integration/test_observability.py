"""What an operator sees: the root DSE's counters (fresh on every read, never a cached answer;
for the administrator and service accounts only) and, with log_level = "debug", each search
the answer cache has not seen, with its filter."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import BASE_DN, RunningServer, init_data_dir, start_server, stop_server

# The root DSE shows the counters of the worker that answered (README, known limits): with two,
# the search and the counters read after it may each land on either.
SERVER_WORKERS = 1


def counters(server: RunningServer) -> dict[str, int]:
    done = server.ldap("ldapsearch", "-LLL", "-b", "", "-s", "base", "+")
    assert done.returncode == 0, done.stderr
    return {name: int(value) for name, value in re.findall(r"^(ixi\w+): (\d+)$", done.stdout, re.M)}


def test_routing_searches_show_in_the_root_dse_counters(server: RunningServer) -> None:
    before = counters(server)
    assert {"ixiRoutingLookups", "ixiRoutingHits", "ixiRoutingMisses"} <= set(before)
    assert {"ixiAnswerCacheHits", "ixiAnswerCacheMisses"} <= set(before)
    for number in ("+49 8142 4799999999", "+49 8142 4799999999"):  # nobody's: two misses
        search = ("-LLL", "-b", BASE_DN, f"(facsimileTelephoneNumber={number})", "mail")
        found = server.ldap("ldapsearch", *search)
        assert found.returncode == 0, found.stderr
    after = counters(server)
    # The second, identical search is answered from the cache without a look-up.
    assert after["ixiRoutingMisses"] - before["ixiRoutingMisses"] == 1
    assert after["ixiAnswerCacheHits"] - before["ixiAnswerCacheHits"] >= 1


def test_anonymous_clients_get_the_standard_root_dse_without_counters(
    server: RunningServer,
) -> None:
    done = server.ldap("ldapsearch", "-LLL", "-b", "", "-s", "base", "+", bind=False)
    assert done.returncode == 0, done.stderr
    assert "namingContexts: dc=example,dc=com" in done.stdout
    assert "ixiRouting" not in done.stdout
    assert "ixiAnswerCache" not in done.stdout


def test_debug_logging_shows_each_new_search_with_its_filter(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    init_data_dir(data_dir)
    toml = data_dir / "ixidir.toml"
    text = toml.read_text()
    assert 'log_level = "info"' in text
    toml.write_text(text.replace('log_level = "info"', 'log_level = "debug"'))
    server = start_server(data_dir)
    try:
        search = ("-LLL", "-b", BASE_DN, "(facsimileTelephoneNumber=+49 8142 4799 0815)", "mail")
        assert server.ldap("ldapsearch", *search).returncode == 0
    finally:
        stop_server(server)
    assert server.process.stdout is not None
    logged = server.process.stdout.read()
    assert "(facsimileTelephoneNumber=+49 8142 4799 0815)" in logged
