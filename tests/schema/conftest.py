"""Shared fixtures: the packaged schema, loaded once."""

from __future__ import annotations

import pytest

from ixidir.schema import Schema, load_default_schema


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_default_schema()
