"""Process-wide memory settings of every process that runs supplycast's Definitions.

The machines measured here are Firecracker VMs whose free memory goes back to the host: a page
the process has not touched lately costs a fault on the host too, and numpy's huge pages cost
about 25 ms per 2 MB page on first touch (docs/benchmarks.md, "Fresh memory on these machines").
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["keep_freed_memory", "numpy_without_huge_pages"]

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def numpy_without_huge_pages() -> None:
    """Turn numpy's transparent huge pages off, unless ``NUMPY_MADVISE_HUGEPAGE`` is already set.

    numpy reads the variable once, at its import: call this before numpy loads. A fresh 136 MB
    array took 1.1-4.4 s to fill in huge pages against 0.15 s in 4 KB pages, a full-M5 run 79-83 s
    against 73-76 s; ``NUMPY_MADVISE_HUGEPAGE=1`` keeps numpy's default on a machine where they pay.
    """
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for this process's next allocations, for its lifetime.

    glibc hands every freed block of 128 KB-32 MB and more back to the kernel, and the next array
    of that size faults its pages in again. With no block mmap'd on its own and the heap's top
    never trimmed, a freed array's pages are reused as they are: a full-M5 run's ``forecast`` step
    came within 1.18x of its library calls against 1.21-1.26x without (huge pages off in both),
    at 2.68-2.87 GB peak against 2.64-2.75 GB. Returns False where the C library has no
    ``mallopt`` (not glibc).
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
