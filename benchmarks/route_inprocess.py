"""In-process `route()` timing at 1k, 100k and 1M users (issue 3: <= 2 us median, 1M within 1.2x).

Builds a `RoutingIndex` of N owners from datagen's canonical keys (the index as the directory
holds it, without LDAP or storage), then times `route(index, "+<digits>", site)` for random
numbers the index holds: every call timed alone with perf_counter_ns (the timer's own cost,
measured the same way, is printed and not subtracted), and batches of 100 calls for a mean.

    python benchmarks/route_inprocess.py --sizes 1000 100000 1000000 --lookups 200000
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time

from datagen import AREA, COUNTRY, users

from ixidir.routing import RoutingIndex, SiteSettings, route

BATCH = 100


def build(size: int) -> tuple[RoutingIndex[str], list[str]]:
    index: RoutingIndex[str] = RoutingIndex()
    keys: list[str] = []
    for user in users(size):
        index.replace(user.uid, user.keys)
        keys.extend(user.keys)
    return index, keys


def time_lookups(
    index: RoutingIndex[str], numbers: list[str], site: SiteSettings
) -> tuple[list[int], list[float]]:
    """Per-call ns for each number, and per-call ns averaged over batches of BATCH calls."""
    single = []
    clock = time.perf_counter_ns
    for number in numbers:
        started = clock()
        route(index, number, site)
        single.append(clock() - started)
    batched = []
    for at in range(0, len(numbers) - BATCH + 1, BATCH):
        chunk = numbers[at : at + BATCH]
        started = clock()
        for number in chunk:
            route(index, number, site)
        batched.append((clock() - started) / BATCH)
    return single, batched


def timer_cost(samples: int = 100_000) -> float:
    clock = time.perf_counter_ns
    costs = []
    for _ in range(samples):
        started = clock()
        costs.append(clock() - started)
    return statistics.median(costs)


def measure(size: int, lookups: int, site: SiteSettings) -> tuple[float, float, float]:
    """(median us, p99 us, batch-mean us) of route() on an index of `size` users."""
    index, keys = build(size)
    rng = random.Random(size)
    numbers = [f"+{rng.choice(keys)}" for _ in range(lookups)]
    if any(route(index, n, site) is None for n in numbers[:1000]):
        raise SystemExit("route() missed a number the index holds")
    gc.collect()
    gc.disable()  # a collection pause is the garbage collector's cost, not route()'s
    try:
        single, batched = time_lookups(index, numbers, site)
    finally:
        gc.enable()
    single.sort()
    return (
        statistics.median(single) / 1000,
        single[int(0.99 * len(single))] / 1000,
        statistics.median(batched) / 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    site = SiteSettings(country_code=COUNTRY, area_code=AREA)
    print(f"timer cost (perf_counter_ns pair): {timer_cost():.0f} ns, included below")
    medians = {}
    print(f"{'users':>10} {'median us':>10} {'p99 us':>10} {'batch mean us':>14}")
    for size in args.sizes:
        median, p99, mean = measure(size, args.lookups, site)
        medians[size] = median
        print(f"{size:>10,} {median:10.3f} {p99:10.3f} {mean:14.3f}", flush=True)
    smallest, largest = min(medians), max(medians)
    print(
        f"median at {largest:,} / median at {smallest:,}: "
        f"{medians[largest] / medians[smallest]:.2f}x"
    )


if __name__ == "__main__":
    main()
