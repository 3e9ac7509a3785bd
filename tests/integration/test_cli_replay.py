"""``supplycast replay`` end to end: on a small warehouse built in code, and after a backdated ``supplycast run``
(the shared run of ``conftest.py``: plan at an early as-of, then replay the real sample days after it)."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout

import duckdb
import pandas as pd
import pytest

from pipelines.cli import main
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration


def test_replay_writes_kpis(tmp_path, capsys, replay_warehouse):
    wh = tmp_path / "wh.duckdb"
    actuals = replay_warehouse(wh)
    file = tmp_path / "actuals.parquet"
    actuals.to_parquet(file)
    assert main(["replay", "--actuals", str(file), "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    all_days, after = out.split("after the first possible arrival:")
    # both printed tables carry the headline KPIs in the order the Dagster asset shows them
    for table in (all_days, after):
        header = table.strip().splitlines()[0].split()
        assert header[:4] == ["policy", "fill_rate", "avg_on_hand_units", "on_hand_vs_baseline"]
        assert {"oracle", "snaive_base_stock", "supplycast"} <= set(table.split())
    con = duckdb.connect(str(wh), read_only=True)
    kpis = con.execute("SELECT * FROM replay_kpis ORDER BY policy").df()
    con.close()
    assert list(kpis["policy"]) == ["oracle", "snaive_base_stock", "supplycast"]
    assert {"fill_rate", "avg_on_hand_units", "stockout_units", "holding_cost", "stockout_cost", "ordering_cost",
            "total_cost"} <= set(kpis.columns)
    assert kpis["fill_rate"].between(0, 1).all() and (kpis["demand_units"] == actuals["sales"].sum()).all()
    # a second replay with the same seed gives the same figures
    assert main(["replay", "--actuals", str(file), "--warehouse", str(wh)]) == 0
    con = duckdb.connect(str(wh), read_only=True)
    again = con.execute("SELECT * FROM replay_kpis ORDER BY policy").df()
    con.close()
    pd.testing.assert_frame_equal(kpis, again)


def test_replay_names_the_bad_file(tmp_path, capsys, replay_warehouse):
    wh = tmp_path / "wh.duckdb"
    replay_warehouse(wh)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"item_id": ["A"], "date": ["2016-05-09"], "sales": [1]}).to_csv(bad, index=False)
    assert main(["replay", "--actuals", str(bad), "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "store_id" in err


def test_run_at_early_as_of_then_replay(cli_run, tmp_path):
    # a copy: the shared run's warehouse stays as the run left it for the other tests
    warehouse = shutil.copy(cli_run["warehouse"], tmp_path / "wh.duckdb")
    actuals = tmp_path / "actuals.parquet"
    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales = sales.assign(date=pd.to_datetime(sales["date"]))
    sales[sales["date"] > pd.Timestamp(cli_run["as_of"])][["item_id", "store_id", "date", "sales"]].to_parquet(actuals)
    with redirect_stdout(io.StringIO()):
        assert main(["replay", "--actuals", str(actuals), "--warehouse", str(warehouse)]) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        first = con.execute("SELECT min(date) FROM forecast").fetchall()[0][0]
        kpis = con.execute("SELECT * FROM replay_kpis").df().set_index("policy")
    finally:
        con.close()
    # 14 days of history before the as-of: the 14-day default backtest holdout was shortened, not failed
    assert cli_run["code"] == 0
    assert pd.Timestamp(first) == pd.Timestamp("2016-05-09")
    assert set(kpis.index) == {"supplycast", "snaive_base_stock", "oracle"}
    assert kpis["fill_rate"].between(0, 1).all()
    # perfect foresight never needs more stock on hand than the forecast-driven policies
    assert kpis.loc["oracle", "avg_on_hand_units"] <= kpis.loc[["supplycast", "snaive_base_stock"], "avg_on_hand_units"].min()
