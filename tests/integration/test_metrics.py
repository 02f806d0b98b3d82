"""Prometheus metrics of a real `ixidir serve` with two workers, scraped over HTTP (issue 14).

The scrape is parsed with prometheus_client's own text parser, and real LDAP traffic (ldap3,
ldapsearch, ldapmodify) must move the figures. Workers publish their counters once a second,
so each check waits for the value it expects (`eventually`) instead of sleeping a fixed time.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable, Iterator

import ldap3
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    RunningServer,
    init_data_dir,
    metrics_url,
    start_server,
    stop_server,
)
from .test_limits import RESERVE, decode, request_value
from .test_status import status

FAX = 0
USER = f"uid=jmueller,ou=people,{BASE_DN}"  # demo: fax +49 8142 4799-123, fax limit 50
ROUTED = "(facsimileTelephoneNumber=+4981424799123)"
UNROUTED = "(facsimileTelephoneNumber=+4981420000000)"
WAIT_SECONDS = 20.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    data_dir = tmp_path_factory.mktemp("metrics") / "data"
    init_data_dir(data_dir)
    server = start_server(data_dir, workers=2)
    url = metrics_url(server)
    yield server, url
    stop_server(server)


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode("utf-8")
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every worker (and any label not given) of the samples named `name`."""
    wanted = set(labels.items())
    return sum(
        value for (found, have), value in samples.items() if found == name and wanted <= have
    )


def per_worker(samples: Samples, name: str) -> dict[str, float]:
    return {
        dict(labels)["worker"]: value
        for (found, labels), value in samples.items()
        if found == name and "worker" in dict(labels)
    }


def eventually(url: str, check: Callable[[Samples], bool]) -> Samples:
    """The first scrape for which `check` holds (workers publish once a second)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        samples = scrape(url)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def connect(
    server: RunningServer, dn: str = ADMIN_DN, password: str = ADMIN_PASSWORD
) -> ldap3.Connection:
    target = ldap3.Server(server.host, port=server.port, get_info=ldap3.NONE)
    return ldap3.Connection(target, dn, password, auto_bind=False, raise_exceptions=False)


def test_one_scrape_shows_both_workers(node: tuple[RunningServer, str]) -> None:
    _, url = node
    samples = eventually(url, lambda s: total(s, "ixidir_workers") == 2)
    assert total(samples, "ixidir_workers") == 2
    assert set(per_worker(samples, "ixidir_connections")) == {"0", "1"}
    assert set(per_worker(samples, "ixidir_changelog_applied_sequence")) == {"0", "1"}
    assert ("ixidir_snapshot_age_seconds", frozenset()) in samples


def test_searches_count_by_result_and_routing_hits_and_misses(
    node: tuple[RunningServer, str],
) -> None:
    server, url = node
    before = scrape(url)
    searches = "ixidir_ldap_operations_total"
    connections = 12  # SO_REUSEPORT spreads them over the workers
    for _ in range(connections):
        connection = connect(server)
        assert connection.bind()
        assert connection.search(f"ou=people,{BASE_DN}", ROUTED, attributes=["mail"])
        assert connection.search(f"ou=people,{BASE_DN}", ROUTED, attributes=["mail"])  # cached
        connection.search(f"ou=people,{BASE_DN}", UNROUTED, attributes=["mail"])
        connection.search(f"ou=nowhere,{BASE_DN}", "(uid=x)")
        connection.unbind()

    def moved(name: str, samples: Samples, **labels: str) -> float:
        return total(samples, name, **labels) - total(before, name, **labels)

    success = {"operation": "search", "result": "success"}
    after = eventually(
        url,
        lambda s: (
            moved("ixidir_connections_accepted_total", s) == connections
            and moved(searches, s, operation="search", result="noSuchObject") == connections
            and total(s, "ixidir_connections") == 0
        ),
    )
    assert moved(searches, after, **success) == 3 * connections
    assert moved(searches, after, operation="search", result="noSuchObject") == connections
    assert moved(searches, after, operation="bind", result="success") == connections
    assert moved("ixidir_ldap_operation_seconds_count", after, operation="search") == (
        4 * connections
    )
    assert total(after, "ixidir_connections") == 0
    served = {
        worker: count - per_worker(before, "ixidir_connections_accepted_total")[worker]
        for worker, count in per_worker(after, "ixidir_connections_accepted_total").items()
    }
    assert sum(served.values()) == connections
    assert all(count > 0 for count in served.values()), served  # both workers answered
    # A worker looks each number up once (one found, one not); its answer cache answers every
    # repeat of the three searches: 3 misses per worker, the rest hits.
    assert moved("ixidir_routing_hits_total", after) == len(served)
    assert moved("ixidir_routing_misses_total", after) == len(served)
    assert moved("ixidir_routing_lookups_total", after) == 2 * len(served)
    assert moved("ixidir_answer_cache_misses_total", after) == 3 * len(served)
    assert moved("ixidir_answer_cache_hits_total", after) == 4 * connections - 3 * len(served)


def test_failed_binds_are_counted(node: tuple[RunningServer, str]) -> None:
    server, url = node
    before = total(scrape(url), "ixidir_binds_failed_total")
    wrong = server.ldap("ldapsearch", "-b", "", "-s", "base", bind=False)
    assert wrong.returncode == 0  # an anonymous bind: no failure
    refused = connect(server, USER, "not-the-password")
    assert not refused.bind()
    assert refused.result["result"] == 49
    after = eventually(url, lambda s: total(s, "ixidir_binds_failed_total") == before + 1)
    assert total(after, "ixidir_binds_failed_total") == before + 1
    assert total(after, "ixidir_ldap_operations_total", result="invalidCredentials") >= 1
    assert total(after, "ixidir_bind_lockouts_total") == 0  # the lockout (issue 12) counts here


def test_reservations_granted_and_refused_per_service(node: tuple[RunningServer, str]) -> None:
    server, url = node
    connection = connect(server)
    assert connection.bind()
    connection.extended(RESERVE, request_value(USER, FAX))
    assert decode(connection.result["responseValue"])[0] == 1  # granted
    connection.extended(RESERVE, request_value(USER, FAX, count=50))
    assert decode(connection.result["responseValue"])[0] == 0  # over the fax limit of 50
    connection.unbind()

    def reservations(samples: Samples, outcome: str) -> float:
        return total(samples, "ixidir_reservations_total", service="fax", outcome=outcome)

    after = eventually(
        url, lambda s: reservations(s, "granted") == 1 and reservations(s, "refused") == 1
    )
    assert (reservations(after, "granted"), reservations(after, "refused")) == (1, 1)
    assert total(after, "ixidir_reservations_total", service="sms") == 0
    assert total(after, "ixidir_firebird_commit_seconds_count", store="counters") >= 1


def test_a_write_moves_the_changelog_and_the_commit_latency(
    node: tuple[RunningServer, str],
) -> None:
    server, url = node
    before = scrape(url)
    sequence = total(before, "ixidir_changelog_sequence")
    modify = f"dn: {USER}\nchangetype: modify\nreplace: l\nl: Gilching\n"
    server.ldap("ldapmodify", stdin=modify, check=True)
    after = eventually(
        url,
        lambda s: (
            total(s, "ixidir_changelog_sequence") == sequence + 1
            and set(per_worker(s, "ixidir_changelog_applied_sequence").values()) == {sequence + 1}
        ),
    )
    assert total(after, "ixidir_changelog_sequence") == sequence + 1
    assert set(per_worker(after, "ixidir_changelog_lag").values()) == {0}
    commits = "ixidir_firebird_commit_seconds_count"
    assert total(after, commits, store="entries") == total(before, commits, store="entries") + 1
    assert total(after, "ixidir_ldap_operations_total", operation="modify", result="success") == 1


def test_the_root_dse_counters_are_those_of_the_worker_that_answers(
    node: tuple[RunningServer, str],
) -> None:
    server, url = node
    connection = connect(server)
    assert connection.bind()
    connection.search(f"ou=people,{BASE_DN}", ROUTED, attributes=["mail"])
    assert connection.search("", "(objectClass=*)", ldap3.BASE, attributes=["+", "*"])
    shown = connection.entries[0].entry_attributes_as_dict
    connection.unbind()
    lookups = int(shown["ixiRoutingLookups"][0])
    hits = int(shown["ixiRoutingHits"][0])
    # No other routing search runs now: the worker that answered publishes these values.
    samples = eventually(
        url, lambda s: lookups in per_worker(s, "ixidir_routing_lookups_total").values()
    )
    workers = per_worker(samples, "ixidir_routing_lookups_total")
    answering = [worker for worker, value in workers.items() if value == lookups]
    assert answering, (lookups, workers)
    assert per_worker(samples, "ixidir_routing_hits_total")[answering[0]] == hits


def test_a_busy_metrics_address_is_said_and_ldap_is_served_all_the_same(
    node: tuple[RunningServer, str],
) -> None:
    first, url = node
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server(first.data_dir, "--metrics-listen", f"127.0.0.1:{port}", workers=1)
        try:
            assert f"metrics not served: cannot listen on 127.0.0.1:{port}" in server.startup_log
            assert status(server)[0] == 0  # the LDAP side answers
            # A second server on the same data directory leaves the first one's files alone.
            assert total(scrape(url), "ixidir_workers") == 2
        finally:
            stop_server(server)
