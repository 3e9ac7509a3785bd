"""Helpers shared by the benchmark scripts: timing, printing, scoring, fitting ours."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd

from forecasting.calibration import coverage_by_group
from forecasting.covariates import Covariates
from forecasting.long_history import LongHistoryForecaster

__all__ = ["Timer", "Tee", "pinball", "coverage_table", "header", "fit_predict", "valid_predictions", "ROLES",
           "mixed_depths"]

# Depth of each role in the mixed-depth runs (None: the whole history).
ROLES: dict[str, int | None] = {"long": None, "28_days": 28, "new_14_days": 14}


class Timer:
    """Seconds per named step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t = perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + perf_counter() - t


class Tee:
    """Print to stdout and, when a path is given, to a results file."""

    def __init__(self, path: Path | None) -> None:
        self.lines: list[str] = []
        self.path = path

    def __call__(self, *parts: object) -> None:
        text = " ".join(str(p) for p in parts)
        print(text, flush=True)
        self.lines.append(text)

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("\n".join(self.lines) + "\n")


def header(tee: Tee, title: str, argv: Sequence[str]) -> None:
    """Title, UTC date and the command line."""
    tee(title)
    tee(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: python -m {' '.join(argv)}")
    tee("machine: 2 cores shared with other jobs (loaded); seconds are wall time of this run")


def pinball(y: np.ndarray, q: np.ndarray, level: float) -> float:
    """Mean pinball loss of quantile forecasts ``q`` at ``level``."""
    d = np.asarray(y, dtype=np.float64) - np.asarray(q, dtype=np.float64)
    return float(np.mean(np.maximum(level * d, (level - 1) * d)))


def coverage_table(runs: Mapping[str, pd.DataFrame], groups: Iterable[str] | None = None) -> pd.DataFrame:
    """Coverage of ``[q10, q90]`` and of ``q90`` per run and history-length group.

    Args:
        runs: Run name -> forecast frame with ``y, yhat_q10, yhat_q90, group``.
        groups: Groups to keep (default: all).

    Returns:
        One row per run and group: ``run, group, cells, q10_q90, q90, q10_q90_ok, q90_ok``
        (ok: within 3 and 2 points of 80 % and 90 %).
    """
    rows = []
    for name, fc in runs.items():
        cov = coverage_by_group(fc["y"].to_numpy()[:, None],
                                {0.1: fc["yhat_q10"].to_numpy()[:, None], 0.9: fc["yhat_q90"].to_numpy()[:, None]},
                                fc["group"].to_numpy())
        for g, c in cov.items():
            if groups is not None and g not in groups:
                continue
            rows.append({"run": name, "group": g, "cells": c["n"], "q10_q90": c["interval"], "q90": c["upper"],
                         "q10_q90_ok": abs(c["interval"] - 0.80) <= 0.03, "q90_ok": abs(c["upper"] - 0.90) <= 0.02})
    return pd.DataFrame(rows)


def fit_predict(fc: LongHistoryForecaster, df: pd.DataFrame, cov: Covariates, timer: Timer,
                name: str) -> tuple[pd.DataFrame, LongHistoryForecaster]:
    """Fit a copy of ``fc`` on ``df`` and forecast, timed as ``name``."""
    fc = replace(fc)
    with timer(name):
        out = fc.fit(df, covariates=cov).predict()
    return out, fc


def valid_predictions(fc: LongHistoryForecaster, group: str = "long") -> pd.DataFrame:
    """A fitted forecaster's calibration-window forecasts of one group, under the real ids."""
    p = fc.calibration_["predictions"]
    p = p[(p["group"] == group) & (p["window"] == 1)].copy()
    p["unique_id"] = p["unique_id"].str.split("\x1f").str[0]
    return p


def mixed_depths(fc: LongHistoryForecaster, hist: pd.DataFrame, cov: Covariates, *, key: str, timer: Timer,
                 name: str = "ours_mixed") -> pd.DataFrame:
    """Three fits on one panel that mixes depths, rotating which keys are long, 28 days or new.

    The keys (e.g. items) are split into three sets by their sorted position; in rotation
    ``r`` set ``i`` takes role ``(i + r) % 3`` of :data:`ROLES`, its series cut to that many
    days before the origin. Every series is forecast once in every role, always beside
    series of the other two depths, as a catalogue with long-selling and new items has it.

    Returns:
        The three forecasts stacked, with ``role``.
    """
    keys = np.sort(hist[key].astype(str).unique())
    part = hist[key].astype(str).map({k: i % 3 for i, k in enumerate(keys)}).to_numpy()
    names = np.array(list(ROLES), dtype=object)
    days = np.array([np.inf if d is None else d for d in ROLES.values()])
    age = (hist["ds"].max() - hist["ds"]).dt.days.to_numpy()
    outs = []
    for r in range(3):
        role = (part + r) % 3
        keep = age < days[role]
        df = hist[keep]
        out, _ = fit_predict(fc, df, cov, timer, name)
        roles = pd.Series(names[role[keep]], index=df["unique_id"].to_numpy())
        roles = roles[~roles.index.duplicated()]
        outs.append(out.assign(role=roles.reindex(out["unique_id"]).to_numpy(), rotation=r))
    return pd.concat(outs, ignore_index=True)


def depth_coverage(forecasts: Mapping[str, pd.DataFrame], mixed: pd.DataFrame, sales: pd.DataFrame) -> pd.DataFrame:
    """:func:`coverage_table` of the runs at one depth each (``ours``, ``ours_28_days``,
    ``ours_new_14_days`` of ``forecasts``) and of the mixed-depth panel, against ``sales``
    (``unique_id, ds, y``)."""
    actual = sales[["unique_id", "ds", "y"]]
    runs = {name: forecasts[name].merge(actual, on=["unique_id", "ds"])
            for name in ("ours", "ours_28_days", "ours_new_14_days")}
    runs["ours_mixed"] = mixed.merge(actual, on=["unique_id", "ds"])
    return coverage_table(runs)
