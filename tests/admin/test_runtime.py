"""settings_from: every directory setting of ixidir.toml reaches the directory."""

from __future__ import annotations

from ixidir.admin.runtime import settings_from
from ixidir.config import Config


def test_configured_routing_and_indexed_attributes_reach_the_directory() -> None:
    config = Config(
        base_dn="dc=example,dc=com",
        routing_attributes=("facsimileTelephoneNumber",),
        indexed_attributes=("uid", "mail"),
        anonymous_read=True,
    )
    settings = settings_from(config)
    assert settings.routing_attributes == ("facsimileTelephoneNumber",)
    assert settings.indexed_attributes == ("uid", "mail")
    assert settings.anonymous_read is True
