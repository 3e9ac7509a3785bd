"""``supplycast replay`` end to end: on a small warehouse built in code, and after a backdated ``supplycast run``
(the shared run of ``conftest.py``: plan at an early as-of, then replay the real sample days after it)."""

from __future__ import annotations

import io
import json
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


def _after_as_of(cli_run, tmp_path):
    """A copy of the shared run's warehouse (which stays as the run left it for the other tests) and the
    sample's real sales after its as-of date."""
    warehouse = shutil.copy(cli_run["warehouse"], tmp_path / "wh.duckdb")
    actuals = tmp_path / "actuals.parquet"
    sales = pd.read_parquet(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet")
    sales = sales.assign(date=pd.to_datetime(sales["date"]))
    sales[sales["date"] > pd.Timestamp(cli_run["as_of"])][["item_id", "store_id", "date", "sales"]].to_parquet(actuals)
    return warehouse, actuals


def test_run_at_early_as_of_then_replay(cli_run, tmp_path):
    warehouse, actuals = _after_as_of(cli_run, tmp_path)
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


def test_frontier_after_early_as_of(cli_run, tmp_path):
    warehouse, actuals = _after_as_of(cli_run, tmp_path)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["replay", "--actuals", str(actuals), "--warehouse", str(warehouse), "--frontier",
                     "--levels", "0.8,0.95,0.99"]) == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        frontier = con.execute("SELECT * FROM replay_frontier").df()
    finally:
        con.close()
    assert {"policy", "service_level", "fill_rate", "fill_rate_after_first_arrival", "avg_on_hand_units",
            "total_cost", "as_of", "actuals_file", "seed"} <= set(frontier.columns)
    swept = frontier[frontier["policy"] != "oracle"].sort_values(["policy", "service_level"])
    assert list(zip(swept["policy"], swept["service_level"], strict=True)) == [
        (p, v) for p in ("snaive_base_stock", "supplycast") for v in (0.8, 0.95, 0.99)]
    assert frontier["policy"].value_counts()["oracle"] == 1
    assert (pd.to_datetime(frontier["as_of"]) == pd.Timestamp(cli_run["as_of"])).all()
    assert (frontier["actuals_file"] == str(actuals)).all() and (frontier["seed"] == 2016).all()
    assert frontier["fill_rate"].between(0, 1).all()
    # a higher target never holds less stock for the same policy on the same days
    for _, pts in swept.groupby("policy"):
        assert pts["avg_on_hand_units"].is_monotonic_increasing
    plot = tmp_path / "wh_replay_frontier.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = out.getvalue()
    assert "on-hand ratio at matched fill (all days)" in text and str(plot) in text
    # the printed ratio is supplycast's stock over the interpolated seasonal-naive stock at its fill
    ratios = text.split("on-hand ratio at matched fill (all days)")[1].split("on-hand ratio")[0]
    header, *rows = [line.split() for line in ratios.strip().splitlines()[1:]]
    assert header == ["service_level", "fill_rate", "on_hand", "baseline_on_hand", "on_hand_ratio"]
    assert [float(r[0]) for r in rows] == [0.8, 0.95, 0.99]
    for r in rows:
        if r[4] != "-":
            assert float(r[4]) == pytest.approx(float(r[2]) / float(r[3]), abs=2e-3)


def test_frontier_json_and_bad_levels(tmp_path, capsys, replay_warehouse):
    wh = tmp_path / "wh.duckdb"
    file = tmp_path / "actuals.parquet"
    replay_warehouse(wh).to_parquet(file)
    plot = tmp_path / "plots" / "frontier.png"
    assert main(["replay", "--actuals", str(file), "--warehouse", str(wh), "--frontier", "--json",
                 "--service-levels", "0.9,0.99", "--plot", str(plot)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(r["policy"], r["service_level"]) for r in doc["frontier"]] == [
        ("supplycast", 0.9), ("snaive_base_stock", 0.9), ("supplycast", 0.99), ("snaive_base_stock", 0.99),
        ("oracle", None)]
    assert set(doc["on_hand_ratio_at_matched_fill"]) == {"all_days", "after_first_arrival"}
    assert [r["service_level"] for r in doc["on_hand_ratio_at_matched_fill"]["all_days"]] == [0.9, 0.99]
    assert doc["plot"] == str(plot) and plot.exists()
    # a level outside [0.5, 1) is refused before anything runs; --plot alone needs --frontier
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", "--actuals", str(file), "--warehouse", str(wh), "--frontier", "--levels", "0.9,1"])
    assert exit_info.value.code == 2 and "[0.5, 1)" in capsys.readouterr().err
    assert main(["replay", "--actuals", str(file), "--warehouse", str(wh), "--plot", str(plot)]) == 2
    assert "--frontier" in capsys.readouterr().err
