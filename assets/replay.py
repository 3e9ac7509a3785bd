"""Replay asset: the stored plan against real demand after the as-of date (``replay_kpis``).

The same replay as ``supplycast replay --actuals FILE`` (CONTRACTS §2), launchable from the UI.
It needs a file of real demand after the as-of date, which a scheduled refresh does not have, so
the asset is left out of ``daily_refresh`` (``supplycast run`` is unchanged) and runs in the
``procurement_replay`` job; without an actuals file (config or ``$SUPPLYCAST_REPLAY_ACTUALS``) the
step succeeds without materialising and logs why.
"""

import os
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, markdown_table, table_metadata
from procurement.replay import ReplayParams
from procurement.replay_io import kpi_tables, replay_warehouse

__all__ = ["replay_kpis", "ReplayConfig", "REPLAY_ASSETS", "ACTUALS_ENV"]

ACTUALS_ENV = "SUPPLYCAST_REPLAY_ACTUALS"


class ReplayConfig(Config):
    actuals_path: str = Field("", description="POS file of real demand after the as-of date (parquet or CSV; "
                                              "canonical store_id, item_id, date, units or M5 long item_id, store_id, "
                                              f"date, sales). Empty = ${ACTUALS_ENV}; neither set = skip the replay")
    seed: int = Field(2016, description="Seed of the lead-time draws (the same for the three policies)")


@asset(group_name="procurement", owners=OWNERS, pool=WRITER_POOL, kinds={"duckdb", "pandas"},
       deps=["replenishment_proposals", "purchase_order_proposals", "forecast", "demand_history", "supplier_catalogue"],
       output_required=False,
       description="Day-by-day replay of the stored plan against real demand after the as-of date: supplycast vs a "
                   "seasonal-naive base-stock policy vs a perfect-foresight oracle (fill rate, on-hand, costs; all days "
                   "and after the first possible arrival). Needs an actuals file (config actuals_path or "
                   f"${ACTUALS_ENV}); skipped without one.")
def replay_kpis(context: AssetExecutionContext, config: ReplayConfig, duckdb: DuckDBResource):
    path = config.actuals_path or os.environ.get(ACTUALS_ENV, "")
    if not path:
        context.log.info(f"replay_kpis skipped: no actuals file (set config actuals_path or ${ACTUALS_ENV})")
        return
    with duckdb.get_connection() as con:
        kpis = replay_warehouse(con, Path(path), params=ReplayParams(seed=config.seed))
    all_days, after = kpi_tables(kpis)
    first = kpis.iloc[0]
    yield MaterializeResult(
        metadata=table_metadata(
            len(kpis), actuals_file=str(path), as_of=str(pd.Timestamp(first["as_of"]).date()),
            first_day=str(pd.Timestamp(first["first_day"]).date()), last_day=str(pd.Timestamp(first["last_day"]).date()),
            series=int(first["series"]), seed=int(config.seed), quarantined_rows=int(first["quarantined_rows"]),
            kpis_all_days=markdown_table(all_days),
            kpis_after_first_arrival=markdown_table(after),
            supplycast_fill_rate=float(kpis.set_index("policy").loc["supplycast", "fill_rate"]),
            supplycast_on_hand_vs_baseline=float(kpis.set_index("policy").loc["supplycast", "on_hand_vs_baseline"]),
        )
    )


REPLAY_ASSETS = [replay_kpis]
