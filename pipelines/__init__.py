"""Dagster definitions, resources, jobs, schedules and the ``supplycast`` command line.

Importing this package sets the process's memory up for a run (:mod:`pipelines._process`): numpy's
huge pages off (before numpy loads) and freed memory kept for reuse. Every process that runs the
pipeline imports it first: ``supplycast``, and Dagster's run workers loading the Definitions.
"""

from pipelines._process import keep_freed_memory, numpy_without_huge_pages

numpy_without_huge_pages()
keep_freed_memory()
