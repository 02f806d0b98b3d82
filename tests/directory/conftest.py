"""Directory fixtures: a real Directory over the in-memory EntryStore (tree in `tree.py`)."""

from __future__ import annotations

import pytest

from ixidir.directory.directory import Directory

from .memory_store import MemoryEntryStore
from .tree import make_directory, populate


@pytest.fixture
def store() -> MemoryEntryStore:
    return MemoryEntryStore()


@pytest.fixture
def empty_directory(store: MemoryEntryStore) -> Directory:
    return make_directory(store)


@pytest.fixture
def directory(empty_directory: Directory) -> Directory:
    populate(empty_directory)
    return empty_directory
