"""The root DSE's counters with ldapsearch: fresh on every read, never a cached answer."""

from __future__ import annotations

import re

from .conftest import BASE_DN, RunningServer


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
