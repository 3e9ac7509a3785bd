"""M5 WRMSSE: weighted root mean squared scaled error over the 12-level sales hierarchy.

Follows the M5 competition guide (Makridakis et al., 2022): every bottom series
(item x store) is summed into 42,840 series at 12 levels; each gets its RMSSE (root of
the forecast MSE divided by the in-sample mean squared first difference, computed over
the training history after dropping leading zeros); each level's RMSSEs are weighted by
the series' share of dollar sales over the last 28 training days (weights sum to 1 per
level); the 12 level scores are averaged with equal weight.

The aggregation uses one sparse summing matrix ``S`` (aggregate series x bottom series),
so scoring 30,490 series x 28 days is a single sparse-dense product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "M5_LEVELS",
    "HIERARCHY_COLS",
    "WRMSSEResult",
    "summing_matrix",
    "rmsse_scales",
    "load_m5_weights",
    "load_m5_scales",
    "m5_weights",
    "wrmsse",
]

HIERARCHY_COLS: tuple[str, ...] = ("item_id", "dept_id", "cat_id", "store_id", "state_id")

# Level -> grouping columns, in the order the official weights file names its keys
# (Agg_Level_1, Agg_Level_2). Level 1 (total) groups by nothing.
M5_LEVELS: dict[int, tuple[str, ...]] = {
    1: (),
    2: ("state_id",),
    3: ("store_id",),
    4: ("cat_id",),
    5: ("dept_id",),
    6: ("state_id", "cat_id"),
    7: ("state_id", "dept_id"),
    8: ("store_id", "cat_id"),
    9: ("store_id", "dept_id"),
    10: ("item_id",),
    11: ("state_id", "item_id"),
    12: ("item_id", "store_id"),
}

_TOTAL_KEY = "Total"
_NONE = "X"


@dataclass(frozen=True)
class WRMSSEResult:
    """Score and its breakdown.

    Attributes:
        score: WRMSSE, the mean of the 12 level scores.
        per_level: One row per level: ``level, n_series, weight_sum, wrmsse``.
        per_series: One row per aggregate series: ``level, key, weight, scale, rmsse``.
    """

    score: float
    per_level: pd.DataFrame
    per_series: pd.DataFrame


def _level_key(frame: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    if not cols:
        return pd.Series(_TOTAL_KEY, index=frame.index, dtype=object)
    key = frame[cols[0]].astype(str)
    for c in cols[1:]:
        key = key + "|" + frame[c].astype(str)
    return key


def summing_matrix(
    series: pd.DataFrame, *, levels: dict[int, tuple[str, ...]] = M5_LEVELS
) -> tuple[sparse.csr_matrix, pd.DataFrame]:
    """Sparse 0/1 matrix summing bottom series into every aggregate series.

    Args:
        series: One row per bottom series, in the row order of the value matrices
            that will be aggregated, with the hierarchy columns used by ``levels``.
        levels: Level number -> grouping columns.

    Returns:
        ``S`` of shape (n_aggregates, n_series) and a frame ``level, key`` naming each
        row of ``S``; ``key`` joins the grouping values with ``|`` (``Total`` for level 1).
    """
    rows, cols, labels = [], [], []
    offset = 0
    n = len(series)
    for level, by in levels.items():
        codes, uniques = pd.factorize(_level_key(series, by), sort=True)
        rows.append(codes + offset)
        cols.append(np.arange(n))
        labels.append(pd.DataFrame({"level": level, "key": np.asarray(uniques, dtype=object)}))
        offset += len(uniques)
    data = np.ones(n * len(levels))
    s = sparse.csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(offset, n))
    return s, pd.concat(labels, ignore_index=True)


def load_m5_weights(path: str | Path) -> pd.DataFrame:
    """Official M5 weights (``weights_evaluation``) as ``level, key, weight``.

    The file names levels ``Level1..Level12`` and keys ``Agg_Level_1, Agg_Level_2``
    ('X' = none) in the column order of :data:`M5_LEVELS`, e.g. level 11 is
    (state, item) and level 12 is (item, store).

    Args:
        path: Parquet or CSV file with ``Level_id, Agg_Level_1, Agg_Level_2, weight``.

    Returns:
        42,840 rows for the full M5 hierarchy.
    """
    path = Path(path)
    raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = {"Level_id", "Agg_Level_1", "Agg_Level_2", "weight"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)} ({len(raw)} rows)")
    level = raw["Level_id"].astype(str).str.removeprefix("Level").astype(int)
    a1, a2 = raw["Agg_Level_1"].astype(str), raw["Agg_Level_2"].astype(str)
    key = np.where(a2 == _NONE, a1, a1 + "|" + a2)
    return pd.DataFrame({"level": level, "key": key, "weight": raw["weight"].astype(float)})


def load_m5_scales(path: str | Path) -> pd.DataFrame:
    """RMSSE denominators (``rmsse_scale_d1_d1913``) as ``level, key, scale``.

    This file orders keys differently from the weights file: level 11 is
    (item, state) and level 12 is the M5 row id ``<item>_<store>_evaluation``; both
    are rewritten to the :data:`M5_LEVELS` order.

    Args:
        path: Parquet with ``level, agg_level_1, agg_level_2, scale_mse_d1_d1913``.

    Returns:
        One row per aggregate series.
    """
    path = Path(path)
    raw = pd.read_parquet(path)
    missing = {"level", "agg_level_1", "agg_level_2", "scale_mse_d1_d1913"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)} ({len(raw)} rows)")
    level = raw["level"].astype(int).to_numpy()
    a1, a2 = raw["agg_level_1"].astype(str), raw["agg_level_2"].astype(str)
    key = np.where(a2 == _NONE, a1, a1 + "|" + a2).astype(object)
    l11 = level == 11
    key[l11] = (a2[l11] + "|" + a1[l11]).to_numpy()
    l12 = level == 12
    # "<item>_<store>_evaluation", store = last two tokens (e.g. CA_1).
    parts = a1[l12].str.removesuffix("_evaluation").str.rsplit("_", n=2)
    key[l12] = (parts.str[0] + "|" + parts.str[1] + "_" + parts.str[2]).to_numpy()
    return pd.DataFrame({"level": level, "key": key, "scale": raw["scale_mse_d1_d1913"].astype(float)})


def m5_weights(series: pd.DataFrame, dollar_sales: np.ndarray) -> pd.DataFrame:
    """M5 weights from bottom-level dollar sales: each aggregate's share within its level.

    Args:
        series: One row per bottom series with the hierarchy columns.
        dollar_sales: Units x price summed over the weighting window, per bottom series.

    Returns:
        ``level, key, weight``; weights sum to 1 within every level.
    """
    s, labels = summing_matrix(series)
    agg = s @ np.asarray(dollar_sales, dtype=np.float64)
    totals = labels.assign(v=agg).groupby("level")["v"].transform("sum").to_numpy()
    return labels.assign(weight=np.divide(agg, totals, out=np.zeros_like(agg), where=totals > 0))


def rmsse_scales(series: pd.DataFrame, history: np.ndarray) -> pd.DataFrame:
    """RMSSE denominators from a training history, as M5 defines them.

    For every aggregate series: the mean squared first difference of its history after
    dropping the leading zeros (days before the series started selling).

    Args:
        series: One row per bottom series with the hierarchy columns.
        history: Training values, shape (n_series, n_days), oldest day first.

    Returns:
        ``level, key, scale``; NaN where fewer than two days remain.
    """
    s, labels = summing_matrix(series)
    agg = np.asarray(s @ np.asarray(history, dtype=np.float64))
    started = np.maximum.accumulate(agg != 0, axis=1)
    sq = np.square(np.diff(agg, axis=1))
    # A difference counts once the series has started on its earlier day.
    valid = started[:, :-1]
    n = valid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, (sq * valid).sum(axis=1) / n, np.nan)
    return labels.assign(scale=scale)


def wrmsse(
    series: pd.DataFrame,
    actual: np.ndarray,
    forecast: np.ndarray,
    *,
    weights: pd.DataFrame,
    scales: pd.DataFrame,
) -> WRMSSEResult:
    """WRMSSE of a forecast matrix against actuals.

    Args:
        series: One row per bottom series (row order of ``actual``), hierarchy columns.
        actual: Actual values, shape (n_series, horizon).
        forecast: Forecasts, same shape.
        weights: ``level, key, weight`` (see :func:`load_m5_weights`, :func:`m5_weights`).
        scales: ``level, key, scale``: in-sample mean squared first difference.

    Returns:
        The score with per-level and per-series breakdowns. Aggregate series absent from
        ``weights`` weigh 0; a positive weight with a missing or zero scale is an error.
    """
    y = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if y.shape != f.shape or y.ndim != 2 or y.shape[0] != len(series):
        raise ValueError(f"actual {y.shape} and forecast {f.shape} must both be (n_series={len(series)}, horizon)")
    if not np.isfinite(f).all():
        raise ValueError(f"forecast has {int((~np.isfinite(f)).sum())} non-finite value(s)")
    s, labels = summing_matrix(series)
    mse = np.asarray(np.square(s @ (f - y)).mean(axis=1)).ravel()
    table = labels.assign(mse=mse)
    table = table.merge(weights[["level", "key", "weight"]], on=["level", "key"], how="left")
    table = table.merge(scales[["level", "key", "scale"]], on=["level", "key"], how="left")
    table["weight"] = table["weight"].fillna(0.0)
    bad = (table["weight"] > 0) & ~(table["scale"] > 0)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} weighted series have no positive scale, e.g. {table.loc[bad].head(3).to_dict('records')}")
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rmsse"] = np.where(table["weight"] > 0, np.sqrt(table["mse"] / table["scale"]), 0.0)
    table["contribution"] = table["weight"] * table["rmsse"]
    per_level = (
        table.groupby("level")
        .agg(n_series=("key", "size"), weight_sum=("weight", "sum"), wrmsse=("contribution", "sum"))
        .reset_index()
    )
    score = float(per_level["wrmsse"].sum() / len(M5_LEVELS))
    return WRMSSEResult(score=score, per_level=per_level, per_series=table.drop(columns="contribution"))
