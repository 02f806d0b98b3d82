"""Values worth computing once and valid while the directory does not change (one generation)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class GenerationMemo(Generic[V]):
    """Remembers values for one generation of the directory state, at most `limit` of them
    (cleared when full: the keys are clients' few repeated requests)."""

    __slots__ = ("_generation", "_limit", "_values")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._generation = -1
        self._values: dict[Hashable, V] = {}

    def get(self, generation: int, key: Hashable) -> V | None:
        """The value remembered for `key`; everything is forgotten when `generation` moved."""
        if generation != self._generation:
            self._values.clear()
            self._generation = generation
        return self._values.get(key)

    def put(self, key: Hashable, value: V) -> None:
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = value
