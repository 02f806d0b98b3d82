"""What issue 12's bind guard costs the routing, measured in one run: an ixidir-only phase with
the account lockout and the address throttle off in `cn=ums-defaults` (ixiBindMaxFailures and
ixiBindAddressFailures 0; restored after the phase) beside the same phase with them on.

Issue 12's target: the request-path benchmarks show at most 10 % regression; here, ixidir's
routing p99 with the throttles on at most 1.10x that with them off. p99.9 is shown without a
target: a 10 s phase gives it ~75 samples, and its on/off ratio moved between 0.7 and 1.9,
either way, from round to round, while both phases do nearly the same work (with the node's
listing a bind of someone without counts reads no counts either way; benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import ldap3
from background import Phase
from dataset import ADMIN_DN, ADMIN_PASSWORD, SUFFIX
from loadgen import LoadResult
from report import Row, Target
from servers import routing_figures, routing_rows

GUARD_TARGET = 1.10
DEFAULTS = f"cn=ums-defaults,{SUFFIX}"
THROTTLES_OFF = {"ixiBindMaxFailures": "0", "ixiBindAddressFailures": "0"}


def throttles_off_in(unguarded: str) -> Callable[[str, int], AbstractContextManager[None]]:
    """For servers.alternate: wraps each ixidir phase, switching the throttles off for the
    phase named `unguarded` only."""

    @contextmanager
    def around(name: str, port: int) -> Iterator[None]:
        if name != unguarded:
            yield
            return
        with _throttles_off(port):
            yield

    return around


@contextmanager
def _throttles_off(port: int) -> Iterator[None]:
    server = ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE)
    with ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True) as admin:
        admin.search(DEFAULTS, "(objectClass=*)", ldap3.BASE, attributes=list(THROTTLES_OFF))
        found = admin.response[0]["attributes"]
        before = {name: [str(v) for v in found.get(name, [])] for name in THROTTLES_OFF}
        _replace(admin, {name: [value] for name, value in THROTTLES_OFF.items()})
        try:
            yield
        finally:
            _replace(admin, before)


def _replace(admin: ldap3.Connection, values: dict[str, list[str]]) -> None:
    """Replace (an empty list: remove) the settings on cn=ums-defaults."""
    changes = {name: [(ldap3.MODIFY_REPLACE, value)] for name, value in values.items()}
    if not admin.modify(DEFAULTS, changes):
        raise RuntimeError(f"changing {DEFAULTS}: {admin.result}")


def guard_rows(done: Sequence[Phase], guarded: str, unguarded: str) -> list[Row]:
    """The unguarded phase's routing rows, then ixidir's routing p99 (against GUARD_TARGET)
    and p99.9 with the throttles off (in the slapd column) and on (in the ixidir column)."""
    target = Target.ratio(GUARD_TARGET, at_most=True)
    rows = []
    tails: tuple[tuple[str, Callable[[LoadResult], float], Target | None], ...] = (
        ("p99", lambda r: r.p99_ms, target),
        ("p99.9", lambda r: r.p999_ms, None),
    )
    for label, of, held_to in tails:
        off = routing_figures(done, unguarded, of)[1]
        on = routing_figures(done, guarded, of)[1]
        rows.append(
            Row(f"ixidir {guarded} routing {label} ms, throttles off | on", off, on, held_to)
        )
    return [*routing_rows(done, unguarded), *rows]
