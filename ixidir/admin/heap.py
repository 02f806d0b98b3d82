"""The garbage collector around loading the directory: off while it loads, then frozen.

Measured at 100,000 users (`benchmarks/startup.py`): the load allocates ~3.8 million objects
that live as long as the process. With the collector on, its generation-2 passes over them made
the load take 17.2 s instead of 11.9 s, and one full collection afterwards paused the process
for 1.9 s, a stall every client of a serving process would see. `gc.freeze()` moves the loaded
objects to the permanent generation, which later collections skip (0.1 ms).
An import holds every entry of its file until it ends, so it runs with the collector off too
(20,000 users: 15 % less CPU).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading_heap() -> Iterator[None]:
    """Collect nothing while the block runs; afterwards freeze what survived and collect on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
