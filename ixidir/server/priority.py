"""Background work yields the cores to the threads that answer clients (Linux SCHED_IDLE).

On a two-core machine the routing look-ups of the Messaging Connector share the cores with the
server's own background work: a Firebird commit (~1.2 ms of CPU for one modify, in the engine,
the kernel and the driver), the changelog follower, the audit log, a snapshot being written.
The scheduler lets such a burst finish its slice before a look-up that just woke may run, and
the look-up waits. `benchmarks/interference.py` measured it on a process that has nothing to do
with either server: 20 Firebird modifies a second in a database of their own took slapd's
routing p99.9 from 0.34 to 1.17 ms (ixidir's alike); the same work under SCHED_IDLE, which
gives way to any other thread at once, left it at 0.40-0.65 ms, and 1.3 ms bursts of plain
CPU went from 1.47 ms to no change at all.

Only threads whose work can wait are lowered: those that commit (entries, daily counts, bind
failures), follow and prune the changelog, write the audit log, and a snapshot's child. Not the
reactor, and not the hash pool (a bind waits for its hash). A lowered thread still gets the
cores whenever nothing else wants them, so a write is not delayed on a machine that is not
busy; on one that is, writes wait for routing, which is the order this product wants.

The GIL: a lowered thread that holds it when it is preempted holds up the reactor until it runs
again, which it does as soon as the reactor blocks on that lock (its core is then free). The
mix measured better with it, not worse (issue 11's note).
"""

from __future__ import annotations

import os
import threading

_state = threading.local()


def lower_this_thread() -> bool:
    """Give the calling thread (or process, in a child) the SCHED_IDLE policy, once; False
    where the system has no such policy or refuses (then it keeps its priority)."""
    if getattr(_state, "lowered", None) is not None:
        return bool(_state.lowered)
    lowered = False
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is not None:
        try:
            os.sched_setscheduler(0, policy, os.sched_param(0))  # 0: this thread (Linux)
            lowered = True
        except OSError:
            lowered = False
    _state.lowered = lowered
    return lowered


def is_lowered() -> bool:
    """Whether the calling thread runs with SCHED_IDLE (tests)."""
    policy = getattr(os, "SCHED_IDLE", None)
    return policy is not None and os.sched_getscheduler(0) == policy
