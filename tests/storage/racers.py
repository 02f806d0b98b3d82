"""Start worker processes together and collect what each counted (the counter race tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def race(module: str, args: list[str], processes: int) -> list[int]:
    """Run `python -m module *args` `processes` times: each prints `ready`, waits for a line on
    stdin (sent to all once all are ready), then prints its count last."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPOSITORY,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    failed = [
        error for worker, (_, error) in zip(workers, results, strict=True) if worker.returncode
    ]
    assert not failed, "\n".join(failed)  # a worker's traceback says why it failed
    return [int(output.split()[-1]) for output, _ in results]
