"""Dagster definitions, resources, jobs, schedules and the ``supplycast`` command line."""

import os

# numpy asks the kernel for transparent huge pages for every array of 4 MB or more. On the
# Firecracker VMs measured here (free guest memory handed back to the host) the first touch of
# such an array costs about 25 ms per 2 MB page: a fresh 136 MB array took 1.1-4.4 s to fill
# against 0.15 s in 4 KB pages, and a full-M5 run 79-83 s against 73-76 s (docs/benchmarks.md).
# numpy reads this once, at its import, which this package's modules all come before; set
# NUMPY_MADVISE_HUGEPAGE=1 to keep numpy's default on a machine where huge pages pay.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
