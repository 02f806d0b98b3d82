"""The compact table the comparison scripts print: slapd, ixidir, their ratio, and PASS/MISS.

A row may carry a target, on the ratio ixidir/slapd (`Target.ratio`) or on ixidir's own figure
(`Target.own`, e.g. "p99 under the storm / quiet p99"), with a bound that is an upper or a lower
limit. Rows without a target are context.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    bound: float
    at_most: bool  # True: the figure must be <= bound; False: >= bound
    on_ratio: bool  # True: ixidir/slapd; False: ixidir's figure itself

    @classmethod
    def ratio(cls, bound: float, *, at_most: bool) -> Target:
        return cls(bound, at_most, on_ratio=True)

    @classmethod
    def own(cls, bound: float, *, at_most: bool) -> Target:
        return cls(bound, at_most, on_ratio=False)

    def describe(self) -> str:
        sign = "<=" if self.at_most else ">="
        return f"{'ratio' if self.on_ratio else 'ixidir'} {sign} {self.bound:g}"

    def verdict(self, slapd: float | None, ixidir: float | None) -> str:
        figure = ratio(slapd, ixidir) if self.on_ratio else ixidir
        if figure is None or math.isnan(figure):
            return "n/a"
        met = figure <= self.bound if self.at_most else figure >= self.bound
        return "PASS" if met else "MISS"


Pair = tuple[float | None, float | None]  # (slapd's figure, ixidir's figure)


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    slapd: float | None
    ixidir: float | None
    target: Target | None = None


def ratio(slapd: float | None, ixidir: float | None) -> float | None:
    if slapd is None or ixidir is None or slapd == 0:
        return None
    return ixidir / slapd


def median(values: Sequence[float | None]) -> float | None:
    """The median of the figures a server gave over the rounds (None if it gave none)."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else None


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def print_table(title: str, rows: Sequence[Row]) -> int:
    """Print the table; returns how many targets were missed."""
    width = max(len(row.label) for row in rows)
    print(f"\n{title}")
    print(f"{'':{width}} {'slapd':>10} {'ixidir':>10} {'ixi/slapd':>10}  target")
    missed = 0
    for row in rows:
        quotient = ratio(row.slapd, row.ixidir)
        shown = "-" if quotient is None else f"{quotient:.2f}x"
        line = f"{row.label:{width}} {_number(row.slapd):>10} {_number(row.ixidir):>10} {shown:>10}"
        if row.target is not None:
            verdict = row.target.verdict(row.slapd, row.ixidir)
            missed += verdict == "MISS"
            line += f"  {row.target.describe():<14} {verdict}"
        print(line)
    return missed
