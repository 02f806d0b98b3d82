"""Two nodes outlive a restart of their Firebird server: once it is back, writes, daily-limit
reservations and following the other node work again without restarting the nodes (an
operation caught by the restart is answered unavailable, 52, and may be sent again).

The Firebird server is this module's own: restarting the session's would break other tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import private_firebird
import pytest
from private_firebird import PrivateFirebird

from .conftest import RunningServer
from .nodes import serving_site
from .test_limits import LIMITED, LIMITED_LDIF, RESERVE, SMS, decode, extended, request_value
from .test_limits import connect as connect_admin
from .test_persistence import PEOPLE, person, wait_for_entry

UNAVAILABLE = 52
RETRY_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrivateFirebird, list[RunningServer]]]:
    tmp_path = tmp_path_factory.mktemp("restart")
    limited = tmp_path / "limited.ldif"
    limited.write_text(LIMITED_LDIF)
    with (
        private_firebird.running(tmp_path / "firebird") as server,
        serving_site(server, tmp_path, server.dsn_for("site.fdb"), limited) as site,
    ):
        yield server, site.servers


def _until_done(attempt: Callable[[], int]) -> int:
    """Send `attempt` again while it is answered unavailable (bounded); its last result."""
    deadline = time.monotonic() + RETRY_TIMEOUT
    result = attempt()
    while result == UNAVAILABLE and time.monotonic() < deadline:
        time.sleep(0.2)
        result = attempt()
    return result


def test_nodes_write_reserve_and_follow_again_after_the_firebird_server_restarted(
    nodes: tuple[PrivateFirebird, list[RunningServer]],
) -> None:
    server, (first, second) = nodes
    assert first.ldap("ldapmodify", stdin=person("before-restart")).returncode == 0
    server.restart()
    writer = connect_admin(first)

    def add() -> int:
        writer.add(f"uid=after-restart,{PEOPLE}", ["inetOrgPerson"], {"cn": "a", "sn": "b"})
        return int(writer.result["result"])

    assert _until_done(add) == 0
    reader = connect_admin(second)
    assert wait_for_entry(reader, f"uid=after-restart,{PEOPLE}") is not None

    def reserve() -> int:
        code, value = extended(reader, RESERVE, request_value(LIMITED, SMS))
        if code == 0:
            assert value is not None
            assert decode(value)[0] == 1  # granted
        return code

    assert _until_done(reserve) == 0
    # ...and node a follows node b again.
    assert (
        _until_done(
            lambda: second.ldap("ldapmodify", stdin=person("from-b")).returncode and UNAVAILABLE
        )
        == 0
    )
    assert wait_for_entry(writer, f"uid=from-b,{PEOPLE}") is not None
    writer.unbind()
    reader.unbind()
