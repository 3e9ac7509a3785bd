"""CONTRACTS §2 end to end: plan at an early as-of, then replay the real sample days after it."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import duckdb
import pandas as pd
import pytest

from pipelines.cli import main
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration


def test_run_at_early_as_of_then_replay(tmp_path, monkeypatch):
    warehouse = tmp_path / "state" / "warehouse.duckdb"
    monkeypatch.setenv("SUPPLYCAST_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SUPPLYCAST_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'state' / 'mlflow.db'}")
    monkeypatch.delenv("SUPPLYCAST_DATA", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with redirect_stdout(io.StringIO()):
        # 14 days of history: the 14-day default backtest holdout is shortened to 7 instead of failing
        assert main(["run", "--as-of", "2016-05-08", "--horizon", "14", "--warehouse", str(warehouse), "--quiet"]) == 0
    actuals = tmp_path / "actuals.parquet"
    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales = sales.assign(date=pd.to_datetime(sales["date"]))
    sales[sales["date"] > pd.Timestamp("2016-05-08")][["item_id", "store_id", "date", "sales"]].to_parquet(actuals)
    with redirect_stdout(io.StringIO()):
        assert main(["replay", "--actuals", str(actuals), "--warehouse", str(warehouse)]) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        first = con.execute("SELECT min(date) FROM forecast").fetchall()[0][0]
        kpis = con.execute("SELECT * FROM replay_kpis").df().set_index("policy")
    finally:
        con.close()
    assert pd.Timestamp(first) == pd.Timestamp("2016-05-09")
    assert set(kpis.index) == {"supplycast", "snaive_base_stock", "oracle"}
    assert kpis["fill_rate"].between(0, 1).all()
    # perfect foresight never needs more stock on hand than the forecast-driven policies
    assert kpis.loc["oracle", "avg_on_hand_units"] <= kpis.loc[["supplycast", "snaive_base_stock"], "avg_on_hand_units"].min()
