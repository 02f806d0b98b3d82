"""The web UI's one start-up rule: plain HTTP only on loopback."""

from __future__ import annotations

import pytest

from ixidir.admin.errors import AdminError
from ixidir.admin.web_serving import check_web_address, is_loopback


def test_plain_http_only_on_loopback() -> None:
    for address in ("127.0.0.1:8391", "[::1]:0", "localhost:8391", "127.0.0.2:80"):
        check_web_address(address, None, source="--web-listen")
    with pytest.raises(AdminError, match=r"only over HTTPS.*tls_certificate"):
        check_web_address("0.0.0.0:8391", None, source="'web_listen' in ixidir.toml")
    with pytest.raises(AdminError, match="not HOST:PORT"):
        check_web_address("8391", None, source="--web-listen")
    assert not is_loopback("192.0.2.1")
    assert not is_loopback("example.com")
