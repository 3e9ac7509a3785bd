"""Small PNG plots for asset metadata, embedded as markdown images the Dagster UI renders inline.

Each plot draws a handful of series or bars whatever the table size (30,490 M5 series included),
so it costs well under a second. Figures are built with ``matplotlib.figure.Figure`` (Agg canvas,
no pyplot global state, nothing left open). A plot is presentation: if its input lacks a column,
the entry says so in text rather than failing the asset that computed the real result.
"""

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from dagster import MetadataValue  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "png_markdown",
    "safe_plot",
    "forecast_vs_actual",
    "worst_forecast_items",
    "supplier_scorecard_plot",
    "po_by_supplier_status",
    "po_status_table",
    "stockout_risk",
    "stockout_risk_plot",
]

_DPI = 80
_STATUS_COLOURS = {"auto_approved": "#4c9a2a", "needs_approval": "#e0a100", "rejected": "#c0392b"}


def png_markdown(fig: Figure, alt: str) -> MetadataValue:
    """Render ``fig`` to PNG and wrap it as a markdown image with a base64 data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return MetadataValue.md(f"![{alt}](data:image/png;base64,{data})")


def safe_plot(build: Callable[..., MetadataValue], *args: Any, **kwargs: Any) -> MetadataValue:
    """Call a plot builder; a missing column or empty input becomes a text note instead of an error."""
    try:
        return build(*args, **kwargs)
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        return MetadataValue.text(f"plot unavailable: {type(exc).__name__}: {exc}")


def _series_error(
    predictions: pd.DataFrame, model: str, id_cols: Sequence[str], target_col: str
) -> pd.DataFrame:
    err = predictions[model] - predictions[target_col]
    frame = predictions[list(id_cols)].assign(
        abs_err=err.abs(), err=err, actual=predictions[target_col], pred=predictions[model]
    )
    return (
        frame.groupby(list(id_cols), observed=True, sort=False)
        .agg(mae=("abs_err", "mean"), bias=("err", "mean"), actual_mean=("actual", "mean"),
             forecast_mean=("pred", "mean"), actual_total=("actual", "sum"))
        .reset_index()
    )


def worst_forecast_items(
    predictions: pd.DataFrame,
    model: str,
    *,
    id_cols: Sequence[str] = ("store_id", "item_id"),
    target_col: str = "units",
    n: int = 10,
) -> pd.DataFrame:
    """The ``n`` series with the largest holdout MAE of ``model``, with bias and mean levels.

    Args:
        predictions: Backtest holdout in long format: id columns, date, actuals and one column per model.
        model: Column holding the deployed model's predictions.
        id_cols: Series identifier columns.
        target_col: Actuals column.
        n: Rows to return.

    Returns:
        id columns, ``mae, bias, actual_mean, forecast_mean``; worst first.
    """
    per_series = _series_error(predictions, model, id_cols, target_col)
    cols = [*id_cols, "mae", "bias", "actual_mean", "forecast_mean"]
    return per_series.nlargest(n, "mae")[cols].reset_index(drop=True)


def forecast_vs_actual(
    predictions: pd.DataFrame,
    model: str,
    *,
    baseline: str | None = "seasonal_naive",
    id_cols: Sequence[str] = ("store_id", "item_id"),
    time_col: str = "date",
    target_col: str = "units",
    n_sample: int = 3,
    n_worst: int = 3,
) -> MetadataValue:
    """Holdout actuals vs the chosen model (and the baseline) for sample and worst series.

    Top row: the ``n_sample`` highest-volume series (what most units ride on). Bottom row: the
    ``n_worst`` other series with the largest holdout MAE.

    Args:
        predictions: Backtest holdout in long format: id columns, date, actuals and one column per model.
        model: Column of the deployed model.
        baseline: Column of the baseline drawn dashed, or None.
        id_cols: Series identifier columns.
        time_col: Date column.
        target_col: Actuals column.
        n_sample: Highest-volume series to draw.
        n_worst: Worst-MAE series to draw.

    Returns:
        A markdown image.
    """
    if predictions.empty:
        raise ValueError("no backtest predictions to plot")
    per_series = _series_error(predictions, model, id_cols, target_col)
    sample = per_series.nlargest(n_sample, "actual_total")
    # worst among the rest, so the bottom row adds series rather than repeating the top one
    worst = per_series.drop(index=sample.index).nlargest(n_worst, "mae")
    rows = [("high volume", sample), ("worst MAE", worst)]
    width = max(n_sample, n_worst)
    fig = Figure(figsize=(4 * width, 5.6))
    axes = np.atleast_2d(fig.subplots(2, width, squeeze=False))
    keys = list(id_cols)
    # one indexed lookup instead of a boolean mask per panel
    indexed = predictions.set_index(keys).sort_index()
    for r, (label, picks) in enumerate(rows):
        for c in range(width):
            ax = axes[r, c]
            if c >= len(picks):
                ax.set_visible(False)
                continue
            pick = picks.iloc[c]
            key = tuple(pick[k] for k in keys)
            s = indexed.loc[key if len(keys) > 1 else key[0]].sort_values(time_col)
            ax.plot(s[time_col], s[target_col], "o-", color="black", lw=1.2, ms=3, label="actual")
            ax.plot(s[time_col], s[model], "-", color="#1f77b4", lw=1.8, label=model)
            if baseline and baseline in s.columns and baseline != model:
                ax.plot(s[time_col], s[baseline], "--", color="#999999", lw=1.0, label=baseline)
            ax.set_title(f"{label}: {' / '.join(str(k) for k in key)}\nMAE {pick['mae']:.2f}", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.tick_params(axis="x", rotation=45)
            ax.set_ylim(bottom=0)
            if c == 0:
                ax.set_ylabel(target_col)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Backtest holdout: actual vs {model}", fontsize=11)
    fig.tight_layout()
    return png_markdown(fig, f"forecast vs actual ({model})")



def _finish_stacked_bars(fig: Any, ax: Any, *, xlabel: str, title: str, alt: str) -> MetadataValue:
    """Label a stacked horizontal bar chart, put its legend under the axes and embed it."""
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.6 / fig.get_figheight()), ncol=3, frameon=False)
    fig.tight_layout()
    return png_markdown(fig, alt)

def supplier_scorecard_plot(
    scores: pd.DataFrame,
    weights: dict[str, float],
    *,
    label_cols: Sequence[str] = ("supplier_id",),
    top: int = 15,
) -> MetadataValue:
    """Stacked horizontal bars of the weighted risk, cost and carbon penalties, best lane on top.

    Args:
        scores: ``supplier_scores`` table (``risk_score, cost_score, carbon_score, total_score``).
        weights: ``{"risk": w, "cost": w, "carbon": w}`` used for ``total_score``.
        label_cols: Columns naming a lane on the bar axis (those present are used).
        top: Best lanes to draw.

    Returns:
        A markdown image.
    """
    if scores.empty:
        raise ValueError("no supplier scores to plot")
    best = scores.nsmallest(top, "total_score").iloc[::-1]
    present = [c for c in label_cols if c in best.columns]
    labels = best[present].astype(str).agg(" / ".join, axis=1) if present else best.index.astype(str)
    fig = Figure(figsize=(8, 0.32 * len(best) + 1.4))
    ax = fig.subplots()
    left = np.zeros(len(best))
    # total_score uses the weights normalised to sum to 1
    norm = sum(weights.values()) or 1.0
    for part, colour in (("risk", "#c0392b"), ("cost", "#2874a6"), ("carbon", "#5d6d7e")):
        w = float(weights.get(part, 0.0)) / norm
        values = best[f"{part}_score"].to_numpy(dtype=float) * w
        ax.barh(labels, values, left=left, color=colour, label=f"{part} x {w:.2f}")
        left += values
    return _finish_stacked_bars(fig, ax, xlabel="weighted penalty (lower is better)",
                                title=f"Supplier scorecard: {len(best)} best of {len(scores)} lanes",
                                alt="supplier scorecard")


def po_status_table(
    orders: pd.DataFrame, *, supplier_col: str = "supplier_id", value_col: str = "order_value", top: int = 12
) -> pd.DataFrame:
    """Order value (USD) per supplier and status, biggest suppliers first, with a lines count.

    Args:
        orders: ``purchase_order_proposals`` lines (``status`` and the value column).
        supplier_col: Supplier column.
        value_col: Line value column.
        top: Suppliers to keep.

    Returns:
        One row per supplier: one value column per status, ``total_usd`` and ``lines``.
    """
    pivot = orders.pivot_table(index=supplier_col, columns="status", values=value_col, aggfunc="sum", fill_value=0.0)
    for status in _STATUS_COLOURS:
        if status not in pivot.columns:
            pivot[status] = 0.0
    pivot = pivot[[*_STATUS_COLOURS, *[c for c in pivot.columns if c not in _STATUS_COLOURS]]]
    pivot["total_usd"] = pivot.sum(axis=1)
    pivot["lines"] = orders.groupby(supplier_col).size().reindex(pivot.index).to_numpy()
    pivot.columns.name = None
    return pivot.nlargest(top, "total_usd").round(2).reset_index()


def po_by_supplier_status(
    orders: pd.DataFrame, *, supplier_col: str = "supplier_id", value_col: str = "order_value", top: int = 12
) -> MetadataValue:
    """Stacked bars: proposed order value per supplier, split by approval status.

    Args:
        orders: ``purchase_order_proposals`` lines.
        supplier_col: Supplier column.
        value_col: Line value column.
        top: Suppliers to draw (largest total value).

    Returns:
        A markdown image.
    """
    if orders.empty:
        raise ValueError("no purchase-order lines to plot")
    table = po_status_table(orders, supplier_col=supplier_col, value_col=value_col, top=top).iloc[::-1]
    statuses = [c for c in table.columns if c not in (supplier_col, "total_usd", "lines")]
    fig = Figure(figsize=(8, 0.35 * len(table) + 1.4))
    ax = fig.subplots()
    left = np.zeros(len(table))
    for status in statuses:
        values = table[status].to_numpy(dtype=float)
        ax.barh(table[supplier_col].astype(str), values, left=left, color=_STATUS_COLOURS.get(status, "#888888"),
                label=status)
        left += values
    return _finish_stacked_bars(fig, ax, xlabel="order value, USD (goods + freight)",
                                title=f"Proposed orders by supplier and status (top {len(table)})",
                                alt="purchase orders by supplier and status")


def stockout_risk(
    proposals: pd.DataFrame, *, id_cols: Sequence[str] = ("store_id", "item_id"), top: int = 10
) -> pd.DataFrame:
    """Items most at risk of running out before a new order can arrive.

    Days of cover = on hand / mean daily forecast demand over the lead time. An item is at risk
    when its cover is shorter than its lead time: it runs dry before an order placed today lands.
    Items are ranked by the expected units short over the lead time.

    Args:
        proposals: ``replenishment_proposals`` (``on_hand, on_order, reorder_point, order_qty,
            demand_lead_time, lead_time_days``).
        id_cols: Series identifier columns.
        top: Rows to return (shortest cover relative to lead time first).

    Returns:
        id columns, ``on_hand, reorder_point, order_qty, daily_demand, days_of_cover,
        lead_time_days, short_days`` (lead time minus cover; > 0 means a likely stock-out) and
        ``expected_short_units`` (lead-time demand not covered by stock on hand and on order), the
        ranking key.
    """
    lead = proposals["lead_time_days"].astype(float).clip(lower=1)
    daily = proposals["demand_lead_time"].astype(float) / lead
    cover = np.where(daily > 0, proposals["on_hand"].astype(float) / daily.where(daily > 0, 1.0), np.inf)
    out = proposals[[*id_cols, "on_hand", "reorder_point", "order_qty"]].assign(
        daily_demand=daily.round(2), days_of_cover=np.round(cover, 1), lead_time_days=lead,
    )
    out["short_days"] = (out["lead_time_days"] - out["days_of_cover"]).round(1)
    # units the lead-time demand exceeds what is on hand and on order: how big the likely gap is
    short = proposals["demand_lead_time"].astype(float) - proposals["on_hand"] - proposals["on_order"]
    out["expected_short_units"] = short.clip(lower=0).round(1)
    ranked = out[np.isfinite(out["days_of_cover"])].sort_values(
        ["expected_short_units", "short_days"], ascending=False, kind="stable"
    )
    return ranked.head(top).reset_index(drop=True)


def stockout_risk_plot(
    proposals: pd.DataFrame, *, id_cols: Sequence[str] = ("store_id", "item_id"), top: int = 15
) -> MetadataValue:
    """Days of cover vs lead time for the items most at risk of a stock-out.

    Args:
        proposals: ``replenishment_proposals`` table.
        id_cols: Series identifier columns.
        top: Items to draw.

    Returns:
        A markdown image.
    """
    risk = stockout_risk(proposals, id_cols=id_cols, top=top)
    if risk.empty:
        raise ValueError("no items with demand to plot")
    risk = risk.iloc[::-1]
    share = float((proposals["on_hand"] < proposals["demand_lead_time"]).mean())
    labels = risk[list(id_cols)].astype(str).agg(" / ".join, axis=1)
    fig = Figure(figsize=(8, 0.32 * len(risk) + 1.6))
    ax = fig.subplots()
    colours = np.where(risk["short_days"] > 0, "#c0392b", "#4c9a2a")
    ax.barh(labels, risk["days_of_cover"], color=colours, label="days of cover (on hand / daily demand)")
    ax.scatter(risk["lead_time_days"], labels, marker="|", s=220, color="black", label="lead time, days")
    ax.set_xlabel("days")
    ax.set_title(f"Stock-out risk: {share:.0%} of {len(proposals):,} items cover less than their lead time", fontsize=10)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.6 / fig.get_figheight()), ncol=3, frameon=False)
    fig.tight_layout()
    return png_markdown(fig, "stock-out risk by item")
