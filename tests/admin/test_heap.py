"""loading_heap: no collection while loading, survivors frozen afterwards, state restored."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ixidir.admin.heap import loading_heap


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_collector_is_off_inside_and_on_again_after() -> None:
    gc.enable()
    with loading_heap():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_was_loaded_is_frozen() -> None:
    before = gc.get_freeze_count()
    with loading_heap():
        loaded = [{"n": [n]} for n in range(1000)]
    assert gc.get_freeze_count() >= before + 2000
    assert len(loaded) == 1000


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with loading_heap():
        pass
    assert not gc.isenabled()


def test_an_error_while_loading_still_restores_the_collector() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), loading_heap():
        raise RuntimeError("load failed")
    assert gc.isenabled()
