"""Median time of the web user list's first page, sorted by display name (issue 15).

In process: the list use-case (ixidir.admin.user_list.UserList) over USERS entries in a real
DIT, the way the web page calls it (page 1, 50 rows). It prints the very first call (every row
made and sorted: once per server), the median of calls with nothing written between them, and
the median of calls each after one user was rewritten (a new directory generation: the rows
are brought up to date). HTTP and the template are not in it.

    python benchmarks/web_list.py 10 20000
    python benchmarks/web_list.py --http 10 20000   # through `ixidir serve` and HTTP
    python benchmarks/web_list.py --http --keep /tmp/ixidir-bench-data 10 100000  # kept folders

With --http it starts a real `ixidir serve` (benchmarks/ixidir_server.py) per size, logs in as
the administrator and reads the server's own time for GET /users?sort=displayName from the
page's Server-Timing header (the request, the use-case on its web thread, the template):
the median of ROUNDS requests, and of ROUNDS requests each after one user was modified over
LDAP.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import ssl
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ldap3
from dataset import ADMIN_DN, ADMIN_PASSWORD, SUFFIX
from ixidir_server import running_ixidir
from processes import exit_on_sigterm

from ixidir.admin.user_list import UserList
from ixidir.directory.dit import DIT, Entry

BASE = "ou=people,dc=example,dc=com"
ROUNDS = 21


def directory_of(users: int) -> Any:
    dit = DIT()
    for n in range(users):
        uid = f"user{n:06d}"
        attributes = {
            "objectClass": (b"top", b"person", b"inetOrgPerson", b"ixiUmsUser"),
            "uid": (uid.encode(),),
            "displayName": (f"Name{(n * 7919) % users:06d} Surname".encode(),),
            "mail": (f"{uid}@example.com".encode(),),
            "facsimileTelephoneNumber": (f"+49 8142 {1000000 + n}".encode(),),
        }
        dit.put(
            Entry(f"uuid-{n}", None, f"uid={uid},{BASE}", BASE, attributes, f"uid={uid},{BASE}")
        )
    state = SimpleNamespace(generation=1, dit=dit)
    return SimpleNamespace(state=state, route=lambda number: None)


def measure(users: int) -> tuple[float, float, float]:
    directory = directory_of(users)
    session: Any = SimpleNamespace(directory=directory)
    listing = UserList()
    started = time.perf_counter()
    listing.page(session, sort="displayName")
    first = time.perf_counter() - started
    quiet, written = [], []
    for round_ in range(ROUNDS):
        started = time.perf_counter()
        listing.page(session, sort="displayName")
        quiet.append(time.perf_counter() - started)
        _rewrite(directory, (round_ * 7919) % users)
        started = time.perf_counter()
        listing.page(session, sort="displayName")
        written.append(time.perf_counter() - started)
    return first, statistics.median(quiet), statistics.median(written)


def _rewrite(directory: Any, n: int) -> None:
    """What a modify does to memory: a new Entry object for the user, a new generation."""
    dn = f"uid=user{n:06d},{BASE}"
    old = directory.state.dit.get(dn)
    attributes = dict(old.attributes)
    attributes["displayName"] = (f"Renamed{n:06d}".encode(),)
    directory.state.dit.put(Entry(old.uuid, None, dn, BASE, attributes, dn))
    directory.state.generation += 1


def measure_http(users: int, data_dir: Path, keep: Path | None = None) -> tuple[float, float]:
    """(median unchanged, median after one LDAP modify) of the server's time, in seconds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        web_port = probe.getsockname()[1]
    serve_args = ["--workers", "1", "--web-listen", f"127.0.0.1:{web_port}"]
    kept = None if keep is None else keep / f"ixidir-{users}"
    with running_ixidir(users, data_dir=data_dir, keep=kept, serve_args=serve_args) as server:
        web = _Web(web_port)
        web.login()
        quiet, written = [], []
        ldap = ldap3.Connection(
            ldap3.Server(f"127.0.0.1:{server.port}"), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True
        )
        for round_ in range(ROUNDS):
            quiet.append(web.server_time("/users?sort=displayName"))
            dn = f"uid=u{round_ % users:07d},ou=people,{SUFFIX}"  # datagen's uids
            ldap.modify(dn, {"displayName": [(ldap3.MODIFY_REPLACE, [f"Renamed {round_}"])]})
            written.append(web.server_time("/users?sort=displayName"))
        ldap.unbind()
    return statistics.median(quiet), statistics.median(written)


class _Web:
    def __init__(self, port: int) -> None:
        self._port = port
        self._cookies: dict[str, str] = {}
        self._context = ssl._create_unverified_context()  # noqa: S323 (its self-signed cert)

    def _request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self._port, context=self._context, timeout=120
        )
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self._cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["content-type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8")
        for line in response.headers.get_all("set-cookie") or []:
            name, _, rest = line.partition("=")
            self._cookies[name] = rest.split(";")[0]
        connection.close()
        return response

    def login(self) -> None:
        page = self._request("GET", "/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        if token is None:
            raise SystemExit("web_list: no login form")
        form = {"csrf": token[1], "user": "admin", "password": ADMIN_PASSWORD}
        if self._request("POST", "/login", form).status != 303:
            raise SystemExit("web_list: the administrator's login was refused")

    def server_time(self, path: str) -> float:
        response = self._request("GET", path)
        timing = response.headers["server-timing"]
        return float(timing.split("dur=")[1]) / 1000


def main() -> None:
    args = sys.argv[1:]
    http_mode = "--http" in args
    keep = None
    if "--keep" in args:  # --keep DIR: the prepared folders of the other benchmarks (DIR/ixidir-N)
        at = args.index("--keep")
        keep = Path(args[at + 1])
        del args[at : at + 2]
    sizes = [int(arg) for arg in args if arg != "--http"] or [10, 20000]
    if http_mode:
        exit_on_sigterm()
        data_dir = keep or Path(tempfile.mkdtemp(prefix="ixidir-bench-web-"))
        try:
            for users in sizes:
                quiet, written = measure_http(users, data_dir, keep)
                print(
                    f"{users:>7} users (HTTP, server time): median {quiet * 1000:.2f} ms "
                    f"unchanged, {written * 1000:.2f} ms after one LDAP modify ({ROUNDS} each)"
                )
        finally:
            if keep is None:
                shutil.rmtree(data_dir, ignore_errors=True)
        return
    for users in sizes:
        first, quiet, written = measure(users)
        print(
            f"{users:>7} users: very first {first * 1000:8.2f} ms; median {quiet * 1000:.3f} ms"
            f" unchanged, {written * 1000:.2f} ms after one write ({ROUNDS} calls each)"
        )


if __name__ == "__main__":
    main()
