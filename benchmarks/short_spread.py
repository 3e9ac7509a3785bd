"""Which daily spread plans a short series best: safety stock at matched fill, on validation origins.

    python -m benchmarks.short_spread [--history 14] [--protect 14] [--out FILE]

A full-M5 run plans 30,210 series from 14 days of history; its backtest deploys seasonal naive
for them, so the plan and the seasonal-naive base stock of ``supplycast replay --frontier`` share
the mean and differ in the spread. This script compares spreads on data the replay does not use:
the 280 long M5 series before 2016-04-25 and the bakery before 2019-03-06 (both test windows and
the frontier's replay windows come after). At every origin (weekly, the last two years before
that day) each series is cut to its last ``--history`` days, its mean over the next ``--protect``
days is seasonal naive (the last week repeated), and each estimator gives a variance for that
period. A base-stock level ``S = ceil(mean + z * sd)`` is then swept over ``z``: fill
``1 - sum(max(D - S, 0)) / sum(D)`` and stock ``sum(max(S - D, 0))`` (left at the end of the
period) over all series and origins, ``D`` the real demand. Printed per estimator: the stock at
the fill seasonal naive's weekly differences reach at service levels 0.80-0.995, as a ratio to
that policy's stock (below 1: the same fill for less stock).

Estimators (``m`` the daily seasonal-naive mean, ``d`` a negative-binomial dispersion):

* ``weekly_diff``: ``supplycast replay``'s seasonal-naive base stock, the variance of the series'
  own week-on-week differences per day.
* ``pipeline_q``: the spread of the forecast's own quantiles, ``forecasting.quantiles.estimate_dispersion`` (half the series'
  own 14 days, half the pooled median), the variance read off the q10-q90 interval of the
  integer negative-binomial quantiles (``procurement.policy.forecast_variance``).
* ``pipeline_nb``: the same dispersion, the variance ``m + d m^2`` itself.
* ``pipeline_level``: the same dispersion at the series' mean level over its history instead of the
  day's mean.
* ``weekly_nb_p7``: ``d`` from the week-on-week differences (shrunk with 7 pseudo-observations) at
  the day's mean.
* ``level_pN``: :func:`forecasting.quantiles.level_variance` (what the plan uses for series the
  long-history model does not forecast; N = 7 there): that ``d`` at the series' mean level.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd
from scipy.stats import norm

from benchmarks._common import Tee, header
from benchmarks._data import load_bakery, load_m5_long
from forecasting.quantiles import estimate_dispersion, level_variance, negbin_quantiles
from procurement.policy import forecast_variance

SERVICE_LEVELS = (0.80, 0.85, 0.90, 0.95, 0.975, 0.99, 0.995)
# the first day the data sets' held-out windows start (test windows, frontier replays)
FIRST_UNUSED = {"m5_280": pd.Timestamp("2016-04-25"), "bakery": pd.Timestamp("2019-03-06")}
Z_GRID = np.linspace(0.0, 4.0, 161)


def _panel(sales: pd.DataFrame) -> tuple[np.ndarray, pd.DatetimeIndex]:
    wide = sales.pivot(index="unique_id", columns="ds", values="y").sort_index(axis=1)
    days = pd.date_range(wide.columns.min(), wide.columns.max(), freq="D")
    return wide.reindex(columns=days).to_numpy(dtype=np.float64), days


def _weekly_dispersion(hist: np.ndarray, prior_obs: float) -> np.ndarray:
    """The dispersion :func:`forecasting.quantiles.level_variance` uses (``d = (v - m) / m^2`` of its variance)."""
    m = np.nanmean(hist, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, (_level_variance(hist, prior_obs) - m) / m**2, 0.0)


def _pipeline_dispersion(hist: np.ndarray) -> np.ndarray:
    n_series, n_days = hist.shape
    long = pd.DataFrame({"unique_id": np.repeat(np.arange(n_series), n_days), "y": hist.ravel()}).dropna()
    return estimate_dispersion(long).reindex(np.arange(n_series)).fillna(0.0).to_numpy()


def _nb_var(mean: np.ndarray, disp: np.ndarray) -> np.ndarray:
    return mean + disp[:, None] * mean**2


def _quantile_var(mean: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """The planner's reading (:func:`procurement.policy.forecast_variance`) of the integer negative-binomial
    q10 and q90 around ``mean``."""
    q = negbin_quantiles(np.round(mean, 2), np.broadcast_to(disp[:, None], mean.shape), [0.1, 0.9])
    frame = pd.DataFrame({"yhat_q10": q[0.1].ravel(), "yhat_q90": q[0.9].ravel()})
    return forecast_variance(frame).to_numpy().reshape(mean.shape)


def _level_variance(hist: np.ndarray, prior_obs: float) -> np.ndarray:
    """:func:`forecasting.quantiles.level_variance` of each row of ``hist`` (the whole window)."""
    n_series, n_days = hist.shape
    long = pd.DataFrame({"unique_id": np.repeat(np.arange(n_series), n_days),
                         "ds": np.tile(pd.date_range("2000-01-01", periods=n_days).to_numpy(), n_series),
                         "y": hist.ravel()})
    var = level_variance(long, days=n_days, prior_obs=prior_obs)
    return var.reindex(np.arange(n_series)).fillna(0.0).to_numpy()


def _estimators(prior_obs: Sequence[float]) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Name -> f(history, daily mean over the period) -> variance of the period's demand per series."""
    def weekly_diff(hist, mean):
        err = hist[:, 7:] - hist[:, :-7]
        n = np.isfinite(err).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.where(n > 1, np.nanstd(np.where(n[:, None] > 1, err, 0.0), axis=1, ddof=1), 0.0)
        return np.nan_to_num(sd) ** 2 * mean.shape[1]

    flat = lambda h, m: np.broadcast_to(np.nanmean(h, axis=1)[:, None], m.shape)  # noqa: E731
    out: dict[str, Callable] = {
        "weekly_diff": weekly_diff,
        "pipeline_q": lambda h, m: _quantile_var(m, _pipeline_dispersion(h)).sum(axis=1),
        "pipeline_nb": lambda h, m: _nb_var(m, _pipeline_dispersion(h)).sum(axis=1),
        "pipeline_level": lambda h, m: _nb_var(flat(h, m), _pipeline_dispersion(h)).sum(axis=1),
        "weekly_nb_p7": lambda h, m: _nb_var(m, _weekly_dispersion(h, 7.0)).sum(axis=1),
    }
    for p in prior_obs:
        out[f"level_p{p:g}"] = lambda h, m, p=p: _level_variance(h, p) * m.shape[1]
    return out


def curves(y: np.ndarray, days: pd.DatetimeIndex, stop: pd.Timestamp, *, history: int, protect: int,
           estimators: dict[str, Callable], weeks: int = 104, mean: str = "snaive") -> dict[str, np.ndarray]:
    """Per estimator, ``(fill, stock)`` over :data:`Z_GRID`, summed over every series and origin.

    ``mean``: ``snaive`` (the last week repeated) or ``weekday_mean`` (each weekday's mean over the
    whole weeks of the history, a smoother forecast)."""
    mean_kind = mean
    last = days.get_loc(stop - pd.Timedelta(days=1)) - protect  # last origin's column
    origins = [last - 7 * k for k in range(weeks) if last - 7 * k - history >= 0]
    short = {name: np.zeros(Z_GRID.size) for name in estimators}
    left = {name: np.zeros(Z_GRID.size) for name in estimators}
    total = 0.0
    for o in origins:
        hist = y[:, o - history + 1:o + 1]
        demand = y[:, o + 1:o + 1 + protect]
        keep = np.isfinite(hist).all(axis=1) & np.isfinite(demand).all(axis=1)
        hist, demand = hist[keep], demand[keep].sum(axis=1)
        week = hist[:, -7:] if mean_kind == "snaive" else hist[:, -(history // 7) * 7:].reshape(
            len(hist), -1, 7).mean(axis=1)
        mean = np.tile(week, (1, protect // 7 + 1))[:, :protect]
        mu = mean.sum(axis=1)
        total += demand.sum()
        for name, f in estimators.items():
            sd = np.sqrt(np.clip(f(hist, mean), 0.0, None))
            level = np.ceil(mu[None, :] + Z_GRID[:, None] * sd[None, :])
            short[name] += np.clip(demand[None, :] - level, 0, None).sum(axis=1)
            left[name] += np.clip(level - demand[None, :], 0, None).sum(axis=1)
    return {name: np.column_stack([1 - short[name] / total, left[name]]) for name in estimators}


def matched(curve: dict[str, np.ndarray], *, reference: str = "weekly_diff") -> pd.DataFrame:
    """Stock of each estimator at the fill the reference reaches at :data:`SERVICE_LEVELS`, over the reference's."""
    ref = curve[reference]
    rows = []
    for level in SERVICE_LEVELS:
        z = norm.ppf(level)
        fill = float(np.interp(z, Z_GRID, ref[:, 0]))
        stock = float(np.interp(z, Z_GRID, ref[:, 1]))
        row = {"service_level": level, "fill": round(fill, 4)}
        for name, c in curve.items():
            inside = c[:, 0].min() <= fill <= c[:, 0].max()
            # fill rises with z: interpolate the stock at the reference's fill
            other = float(np.interp(fill, c[:, 0], c[:, 1])) if inside else np.nan
            row[name] = round(other / stock, 3) if stock > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, default=14, help="days of history per series (default 14)")
    parser.add_argument("--protect", type=int, default=14, help="days the level covers (default 14)")
    parser.add_argument("--priors", default="0,7,28", help="pseudo-observations of the pooled dispersion")
    parser.add_argument("--weeks", type=int, default=104, help="weekly origins per data set (default 104)")
    parser.add_argument("--mean", choices=["snaive", "weekday_mean"], default="snaive",
                        help="the plan's mean (default snaive, what a 14-day run deploys)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.history < 14 or args.protect < 1 or args.weeks < 1:
        parser.error("--history must be at least 14 days (two weeks for the week-on-week spread), "
                     "--protect and --weeks at least 1")
    tee = Tee(args.out)
    header(tee, "Spread of short series: stock at matched fill on validation origins", sys.argv)
    estimators = _estimators([float(p) for p in args.priors.split(",")])
    data = {"m5_280": lambda: load_m5_long().sales, "bakery": lambda: load_bakery().sales}
    for name, load in data.items():
        started = perf_counter()
        y, days = _panel(load())
        curve = curves(y, days, FIRST_UNUSED[name], history=args.history, protect=args.protect,
                       estimators=estimators, weeks=args.weeks, mean=args.mean)
        tee(f"\n{name}: {y.shape[0]} series, history {args.history} days, protection {args.protect} days, "
            f"mean {args.mean}, origins before {FIRST_UNUSED[name].date()} ({perf_counter() - started:.1f} s)")
        tee("stock at weekly_diff's fill, as a ratio to weekly_diff's stock (below 1: less stock):")
        tee(matched(curve).to_string(index=False))
    tee.save()


if __name__ == "__main__":
    main()
