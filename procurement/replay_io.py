"""Read the stored proposals from the warehouse, replay them, write ``replay_kpis`` (and, sweeping the
service level, ``replay_frontier`` with its plot)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from procurement.catalogue import LEAD_TIME_COMPRESSION
from procurement.policy import SPREAD_COLUMNS
from procurement.replay import (
    DEFAULT_LEVELS,
    DEFAULT_REPLAY,
    ActualsError,
    ReplayParams,
    load_actuals,
    replay,
    replay_frontier,
)
from procurement.risk import lane_lead_times
from warehouse.db import connect, read_table, replace_table, table_exists
from warehouse.replay_store import write_replay_frontier

__all__ = ["run_replay", "replay_warehouse", "run_frontier", "plot_frontier", "kpi_tables", "KPI_COLUMNS"]

# The headline KPIs, in the order the CLI prints them and the Dagster UI shows them.
KPI_COLUMNS = ("policy", "fill_rate", "avg_on_hand_units", "on_hand_vs_baseline", "stockout_units", "holding_cost",
               "stockout_cost", "ordering_cost", "total_cost")

_NEEDED = ("replenishment_proposals", "forecast", "demand_history", "supplier_catalogue")


def run_replay(warehouse: Path, actuals_path: Path, *, params: ReplayParams = DEFAULT_REPLAY) -> pd.DataFrame:
    """Replay against ``actuals_path`` and write ``replay_kpis``, ``replay_daily`` and quarantined rows.

    Raises:
        ActualsError: the file or a needed warehouse table is missing or unusable.
    """
    with _existing_warehouse(warehouse) as con:
        return replay_warehouse(con, actuals_path, params=params, warehouse_name=f"warehouse {warehouse}")


@contextmanager
def _existing_warehouse(warehouse: Path) -> Iterator[Any]:
    """A connection to the warehouse of an earlier run (a missing file is the user's error, not a new warehouse)."""
    if not Path(warehouse).exists():
        raise ActualsError(f"warehouse {warehouse} does not exist; run `supplycast run` first")
    con = connect(warehouse)
    try:
        yield con
    finally:
        con.close()


def replay_warehouse(con: Any, actuals_path: Path, *, params: ReplayParams = DEFAULT_REPLAY,
                     warehouse_name: str = "the warehouse") -> pd.DataFrame:
    """:func:`run_replay` on an open DuckDB connection (the Dagster asset passes its resource's).

    Returns:
        The ``replay_kpis`` rows written (one per policy).

    Raises:
        ActualsError: the file or a needed warehouse table is missing or unusable.
    """
    inputs, quarantined = _replay_inputs(con, actuals_path, warehouse_name)
    kpis, daily = replay(**inputs, params=params)
    kpis["actuals_file"] = str(actuals_path)
    kpis["quarantined_rows"] = len(quarantined)
    replace_table(con, "replay_kpis", kpis)
    replace_table(con, "replay_daily", daily)
    if len(quarantined):
        replace_table(con, "quarantine_replay_actuals", quarantined)
    return kpis


def run_frontier(warehouse: Path, actuals_path: Path, *, levels: tuple[float, ...] = DEFAULT_LEVELS,
                 params: ReplayParams = DEFAULT_REPLAY, plot: Path | None = None) -> tuple[pd.DataFrame, Path]:
    """Sweep the service level (:func:`procurement.replay.replay_frontier`), write ``replay_frontier``
    and its plot.

    Args:
        warehouse: DuckDB file of a ``supplycast run``.
        actuals_path: Real demand after the as-of date.
        levels: Service levels to sweep.
        params: Seed and cost parameters.
        plot: PNG to write (default: ``<warehouse stem>_replay_frontier.png`` beside the warehouse).

    Returns:
        ``(frontier, plot_path)``.

    Raises:
        ActualsError: the file or a needed warehouse table is missing or unusable.
    """
    with _existing_warehouse(warehouse) as con:
        inputs, quarantined = _replay_inputs(con, actuals_path, f"warehouse {warehouse}")
        frontier = replay_frontier(**inputs, levels=levels, params=params)
        write_replay_frontier(con, frontier, as_of=frontier["as_of"].iloc[0], actuals_file=str(actuals_path),
                              seed=params.seed)
        if len(quarantined):
            replace_table(con, "quarantine_replay_actuals", quarantined)
    path = Path(plot) if plot is not None else Path(warehouse).with_name(f"{Path(warehouse).stem}_replay_frontier.png")
    return frontier, plot_frontier(frontier, path)


def plot_frontier(frontier: pd.DataFrame, path: Path) -> Path:
    """Fill rate against average units on hand, one line per policy (its points labelled with their
    service level) and the oracle as one point; written as PNG to ``path``.

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for policy, style in (("supplycast", "o-"), ("snaive_base_stock", "s--")):
        pts = frontier[frontier["policy"] == policy].sort_values("service_level")
        ax.plot(pts["avg_on_hand_units"], pts["fill_rate"], style, label=policy)
        for _, p in pts.iterrows():  # the ~7 levels of one policy
            ax.annotate(f"{p['service_level']:g}", (p["avg_on_hand_units"], p["fill_rate"]), fontsize=7,
                        textcoords="offset points", xytext=(4, -8))
    oracle = frontier[frontier["policy"] == "oracle"]
    ax.plot(oracle["avg_on_hand_units"], oracle["fill_rate"], "k*", markersize=10, label="oracle")
    first = frontier.iloc[0]
    ax.set_xlabel("average units on hand (all series)")
    ax.set_ylabel("fill rate")
    ax.set_title(f"Replay frontier: as-of {pd.Timestamp(first['as_of']):%Y-%m-%d}, "
                 f"{pd.Timestamp(first['first_day']):%Y-%m-%d}..{pd.Timestamp(first['last_day']):%Y-%m-%d}, "
                 f"{int(first['series']):,} series", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    return path


def _replay_inputs(con: Any, actuals_path: Path, warehouse_name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """The stored plan and the actuals, as keyword arguments of :func:`procurement.replay.replay`,
    and the quarantined actuals rows."""
    actuals, quarantined = load_actuals(actuals_path)
    missing = [t for t in _NEEDED if not table_exists(con, t)]
    if missing:
        raise ActualsError(f"{warehouse_name} lacks table(s) {missing}; run `supplycast run` first")
    proposals = con.execute("SELECT * FROM replenishment_proposals").df()
    present = set(con.execute("SELECT * FROM forecast LIMIT 0").df().columns)
    spread = "".join(f", {c}" for c in SPREAD_COLUMNS if c in present and c not in ("yhat_q50", "yhat_q90"))
    forecast = con.execute(f"SELECT store_id, item_id, date, yhat, yhat_q50, yhat_q90{spread} FROM forecast").df()
    history = con.execute("SELECT store_id, item_id, date, units FROM demand_history").df()
    cost = con.execute("SELECT item_id, min(unit_cost) AS unit_cost FROM supplier_catalogue GROUP BY 1").df()
    supply = None
    if table_exists(con, "purchase_order_proposals"):
        # per store x item: units the stored POs order and the supplier carrying most of them
        supply = con.execute("""
            SELECT p.ship_to AS store_id, p.item_id, sum(p.qty) AS po_qty,
                   arg_max(p.supplier_id, p.qty) AS supplier_id,
                   arg_max(p.lead_time_days, p.qty) AS lead_time_days,
                   arg_max(c.lead_time_std_days, p.qty) AS lead_time_std_days,
                   arg_max(c.pack_size, p.qty) AS pack_size, arg_max(c.moq, p.qty) AS moq
            FROM purchase_order_proposals p
            JOIN supplier_catalogue c USING (supplier_id, item_id)
            WHERE p.status <> 'rejected'
            GROUP BY 1, 2
        """).df()
    known = actuals.merge(proposals[["store_id", "item_id"]], on=["store_id", "item_id"])
    if known.empty:
        raise ActualsError(f"actuals file {actuals_path}: none of its {len(actuals):,} rows matches a store x item "
                           "of replenishment_proposals")
    return ({"proposals": proposals, "forecast": forecast, "history": history, "actuals": known,
             "unit_cost": cost.set_index("item_id")["unit_cost"], "supply": supply,
             "lead_time_samples": _lane_lead_time_samples(con)}, quarantined)


def _lane_lead_time_samples(con: Any) -> pd.DataFrame | None:
    """Every real lead time of each scored lane (``supplier_id, lead_time_days``), on the catalogue's
    compressed day scale, under the id of each catalogue supplier calibrated on it; None when the
    shipments or the scores are not in the warehouse."""
    if not (table_exists(con, "raw_shipments") and table_exists(con, "supplier_scores")):
        return None
    lanes = con.execute("SELECT supplier_id, vendor, mode FROM supplier_scores").df()
    lines = lane_lead_times(read_table(con, "raw_shipments")).merge(lanes, on=["vendor", "mode"])
    catalogue_cols = (con.execute("SELECT * FROM supplier_catalogue LIMIT 0").df().columns
                      if table_exists(con, "supplier_catalogue") else [])
    if "calibrated_on_lane" in catalogue_cols:
        # a synthetic supplier draws the real lead times of the lane it is calibrated on
        own = con.execute("SELECT DISTINCT supplier_id, calibrated_on_lane FROM supplier_catalogue").df()
        lines = lines.rename(columns={"supplier_id": "calibrated_on_lane"}).merge(own, on="calibrated_on_lane")
    return pd.DataFrame({"supplier_id": lines["supplier_id"],
                         "lead_time_days": lines["lead_days"] / LEAD_TIME_COMPRESSION})


def kpi_tables(kpis: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The headline KPIs over all days, and the same KPIs over each series' days after the first
    possible arrival (the ``*_after_arrival`` columns under their plain names).

    Args:
        kpis: Rows of ``replay_kpis``.

    Returns:
        ``(all_days, after_first_arrival)``, one row per policy each.
    """
    after = {f"{c}_after_arrival": c for c in KPI_COLUMNS[1:] if f"{c}_after_arrival" in kpis}
    return kpis[list(KPI_COLUMNS)], kpis[["policy", *after]].rename(columns=after)
