"""Listening addresses: parsed with advice, a busy or forbidden port said before the load."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from ixidir.admin.addresses import bind_failure, check_bindable, parse_addresses
from ixidir.admin.errors import AdminError


def test_addresses_parse_and_bad_ones_name_the_source() -> None:
    assert parse_addresses(["127.0.0.1:0", "[::1]:391"], source="--listen") == [
        ("127.0.0.1", 0),
        ("::1", 391),
    ]
    with pytest.raises(AdminError, match=r"--listen '127.0.0.1:99999': port out of range"):
        parse_addresses(["127.0.0.1:99999"], source="--listen")


def test_a_listening_port_is_reported_busy_and_a_free_one_passes() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(AdminError, match=f"127.0.0.1:{port}: the port is in use"):
            check_bindable([("127.0.0.1", port)])
    check_bindable([("127.0.0.1", 0)])


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.EACCES, "CAP_NET_BIND_SERVICE"),
        (errno.EADDRNOTAVAIL, "not one of this machine's"),
        (errno.EMFILE, "Too many open files"),
    ],
)
def test_bind_failures_say_what_to_do(code: int, advice: str) -> None:
    text = bind_failure("::1", 391, OSError(code, os.strerror(code)))
    assert text.startswith("cannot listen on [::1]:391: ")
    assert advice in text
