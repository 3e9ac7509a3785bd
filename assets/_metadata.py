"""Metadata helpers shared by the asset modules: row counts, numbers rounded for people, small markdown tables."""


import math
from typing import Any

import pandas as pd
from dagster import MetadataValue

from warehouse.loader import LoadReport

__all__ = ["table_metadata", "markdown_table", "for_people", "quarantine_metadata", "OWNERS", "WRITER_POOL"]

OWNERS = ["team:supplycast"]
# Every step that opens the DuckDB file takes this pool: a second process cannot open the file
# while another writes it, so with the instance's pool limit at 1 they run one at a time.
WRITER_POOL = "duckdb_writer"

# Names of money figures, shown to the cent, unless the name says it is a ratio of them.
_MONEY_MARKERS = ("usd", "cost", "value", "price")
_RATIO_MARKERS = ("ratio", "share", "rate", "psi_", "mase", "score", "percent")


def _is_money(name: str) -> bool:
    lowered = name.lower()
    return any(m in lowered for m in _MONEY_MARKERS) and not any(m in lowered for m in _RATIO_MARKERS)


def for_people(value: float, name: str = "") -> float:
    """``value`` rounded for reading: money (a name with usd/cost/value/price) to 2 decimals, figures
    of 1 or more to 3 decimals, smaller ones to 3 significant digits (0.000123, not 0.0)."""
    if not math.isfinite(value):
        return value
    if _is_money(name):
        return round(value, 2)
    if abs(value) >= 1 or value == 0:
        return round(value, 3)
    return float(f"{value:.3g}")


def _people_frame(df: pd.DataFrame) -> pd.DataFrame:
    # floats become text here: tabulate would print its own 6 significant digits of a parsed number
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            money = _is_money(str(col))
            out[col] = out[col].map(lambda v, c=str(col), m=money: "" if pd.isna(v) else (
                f"{v:,.2f}" if m else str(for_people(float(v), c))))
    return out


def markdown_table(df: pd.DataFrame, max_rows: int = 10) -> MetadataValue:
    """A small markdown table for the Dagster UI, numbers rounded by :func:`for_people`."""
    shown = _people_frame(df.head(max_rows))
    return MetadataValue.md(shown.to_markdown(index=False, disable_numparse=True, missingval=""))


def table_metadata(rows: int, **extra: Any) -> dict[str, Any]:
    """``dagster/row_count`` (shown in the UI's asset overview) plus any extra entries.

    Frames become markdown tables and floats are rounded by :func:`for_people` using their name.
    """
    meta: dict[str, Any] = {"dagster/row_count": MetadataValue.int(int(rows))}
    for key, value in extra.items():
        if isinstance(value, pd.DataFrame):
            meta[key] = markdown_table(value)
        elif isinstance(value, float):
            meta[key] = MetadataValue.float(for_people(value, key))
        else:
            meta[key] = value
    return meta


def quarantine_metadata(report: LoadReport, *, prefix: str = "", top: int = 5) -> dict[str, Any]:
    """What a load quarantined: row count, share of rows read, the commonest reasons, and where to look.

    Args:
        report: The load's report.
        prefix: Key prefix, for a second feed loaded by the same asset.
        top: Reasons shown.
    """
    table = f"quarantine_{report.feed}"
    meta: dict[str, Any] = {
        f"{prefix}rows_quarantined": MetadataValue.int(report.rows_quarantined),
        f"{prefix}bad_share": MetadataValue.float(for_people(report.bad_share)),
        f"{prefix}quarantine_table": MetadataValue.text(
            f"{table} ({report.rows_quarantined:,} rows of this load)" if report.rows_quarantined
            else f"{table} (empty)"),
    }
    if report.reasons:
        reasons = (pd.DataFrame(report.reasons, columns=["file", "reason", "rows"])
                   .assign(file=lambda d: d["file"].map(lambda f: f.rsplit("/", 1)[-1]))
                   .groupby("reason", as_index=False)
                   .agg(rows=("rows", "sum"), files=("file", lambda s: ", ".join(sorted(set(s)))))
                   .sort_values(["rows", "reason"], ascending=[False, True]))
        meta[f"{prefix}quarantine_top_reasons"] = markdown_table(reasons, max_rows=top)
    return meta
