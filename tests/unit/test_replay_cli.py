"""``supplycast replay`` end to end on a small warehouse built in code."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipelines.cli import main


def _warehouse(path):
    as_of = pd.Timestamp("2016-05-08")
    days = pd.date_range(as_of + pd.Timedelta(days=1), periods=14)
    demand = np.tile([4.0, 1, 0, 6, 2, 3, 5], 2)
    con = duckdb.connect(str(path))
    tables = {
        "replenishment_proposals": pd.DataFrame({
            "store_id": ["CA_1", "CA_1"], "item_id": ["A", "B"], "as_of": as_of, "on_hand": [10, 3], "on_order": 0,
            "order_qty": [20, 30], "lead_time_days": [2, 3], "lead_time_std_days": [0.5, 1.0], "review_days": 7,
            "service_level": [0.95, 0.9]}),
        "forecast": pd.concat([pd.DataFrame({"store_id": "CA_1", "item_id": i, "date": days, "yhat": demand,
                                             "yhat_q50": demand, "yhat_q90": demand + 2}) for i in "AB"]),
        "demand_history": pd.concat([pd.DataFrame({"store_id": "CA_1", "item_id": i, "units": demand,
                                                   "date": pd.date_range(as_of - pd.Timedelta(days=13), as_of)})
                                     for i in "AB"]),
        "supplier_catalogue": pd.DataFrame({"item_id": ["A", "B"], "unit_cost": [1.5, 3.0]}),
    }
    for name, df in tables.items():
        con.register("_src", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
        con.unregister("_src")
    con.close()
    actuals = pd.concat([pd.DataFrame({"item_id": i, "store_id": "CA_1", "date": days, "sales": demand}) for i in "AB"])
    return actuals


def test_replay_writes_kpis(tmp_path, capsys):
    wh = tmp_path / "wh.duckdb"
    actuals = _warehouse(wh)
    file = tmp_path / "actuals.parquet"
    actuals.to_parquet(file)
    assert main(["replay", "--actuals", str(file), "--warehouse", str(wh)]) == 0
    assert "snaive_base_stock" in capsys.readouterr().out
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


def test_replay_names_the_bad_file(tmp_path, capsys):
    wh = tmp_path / "wh.duckdb"
    _warehouse(wh)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"item_id": ["A"], "date": ["2016-05-09"], "sales": [1]}).to_csv(bad, index=False)
    assert main(["replay", "--actuals", str(bad), "--warehouse", str(wh)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "store_id" in err
