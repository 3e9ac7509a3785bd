"""Metadata helpers shared by the asset modules: row counts and small markdown tables."""


from typing import Any

import pandas as pd
from dagster import MetadataValue

__all__ = ["table_metadata", "markdown_table", "OWNERS", "WRITER_POOL"]

OWNERS = ["team:supplycast"]
# Every step that opens the DuckDB file takes this pool: a second process cannot open the file
# while another writes it, so with the instance's pool limit at 1 they run one at a time.
WRITER_POOL = "duckdb_writer"


def markdown_table(df: pd.DataFrame, max_rows: int = 10, floatfmt: str = ".3g") -> MetadataValue:
    """A small markdown table for the Dagster UI."""
    return MetadataValue.md(df.head(max_rows).to_markdown(index=False, floatfmt=floatfmt))


def table_metadata(rows: int, **extra: Any) -> dict[str, Any]:
    """``dagster/row_count`` (shown in the UI's asset overview) plus any extra entries."""
    meta: dict[str, Any] = {"dagster/row_count": MetadataValue.int(int(rows))}
    for key, value in extra.items():
        if isinstance(value, pd.DataFrame):
            meta[key] = markdown_table(value)
        elif isinstance(value, float):
            meta[key] = MetadataValue.float(value)
        else:
            meta[key] = value
    return meta
