"""Benchmark scripts for supplycast, kept outside the product packages (not installed).

Run each from the repository root; every one prints its figures with the seconds they took::

    python -m benchmarks.m5 [--data ../shared/data/m5] [--with-ets]     # forecast models on M5, WRMSSE
    python -m benchmarks.walmart [--data ../shared/data/walmart_store_sales]  # weekly store sales, WMAE
    python -m benchmarks.scale [--sizes 3k 30k 300k]                     # whole job: seconds, peak memory
    python -m benchmarks.procurement WAREHOUSE [--data DIR] [--as-of D]  # pipeline at an as-of, PO figures
    python -m benchmarks.allocation WAREHOUSE [--time-limit S]           # PO allocation alone

:mod:`benchmarks.weekly`, :mod:`benchmarks.weekly_components` and :mod:`benchmarks.seasonal_svd`
hold the Walmart benchmark's models; :mod:`benchmarks.data` finds the shared data folder.
"""

# the process's memory set up as a run's (numpy's huge pages off before numpy loads, freed memory
# kept: pipelines/_process.py), so the seconds printed here are those a run would spend
import pipelines  # noqa: E402, F401
