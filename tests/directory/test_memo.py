"""GenerationMemo: remembered for one generation of the directory, bounded."""

from __future__ import annotations

from ixidir.directory.memo import GenerationMemo


def test_values_are_forgotten_when_the_generation_moves() -> None:
    memo: GenerationMemo[str] = GenerationMemo(limit=10)
    assert memo.get(1, "a") is None
    memo.put("a", "plan")
    assert memo.get(1, "a") == "plan"
    assert memo.get(2, "a") is None


def test_a_full_memo_starts_over() -> None:
    memo: GenerationMemo[int] = GenerationMemo(limit=2)
    memo.get(0, "a")
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("c", 3)
    assert (memo.get(0, "a"), memo.get(0, "c")) == (None, 3)
