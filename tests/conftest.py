"""Shared test settings: hypothesis profiles (no deadline: test machines are shared) and the
session's private Firebird server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import private_firebird
import pytest
from hypothesis import settings
from private_firebird import PrivateFirebird

settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def firebird_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateFirebird]:
    """One private Firebird server for the whole session (tests/private_firebird.py); each test
    uses its own database file on it."""
    with private_firebird.running(tmp_path_factory.mktemp("firebird-server")) as server:
        yield server
