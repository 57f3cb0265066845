"""Independent blocks of work on a few threads.

The bootstrap's blocks of replicates (``analysis.engine``) write disjoint rows of their
outputs and do the same arithmetic whatever thread runs them, so the results are
bit-identical to a serial run; the heavy parts (sparse products, numpy reductions)
release the GIL, so two threads use two cores. BLAS stays single-threaded inside
(``threadpoolctl``, set by the caller).

Thread count: the ``threads`` argument, else the ``OVERSIGHT_THREADS`` environment
variable, else ``os.cpu_count()``; 1 runs everything in the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

ENV_VAR = "OVERSIGHT_THREADS"
T = TypeVar("T")


def thread_count(requested: int | None = None) -> int:
    """``requested``, else ``$OVERSIGHT_THREADS``, else the CPU count; at least 1."""
    if requested is None:
        env = os.environ.get(ENV_VAR, "").strip()
        requested = int(env) if env else (os.cpu_count() or 1)
    return max(1, requested)


def run_each(fn: Callable[[T], object], items: Sequence[T], threads: int | None = None) -> None:
    """Call ``fn`` on every item, on up to ``thread_count(threads)`` threads (errors re-raised)."""
    n = min(thread_count(threads), len(items))
    if n <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(max_workers=n) as pool:
        for _ in pool.map(fn, items):
            pass
