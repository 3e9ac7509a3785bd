"""The named warehouse reads, marts summaries and the audit store, on tiny DuckDB files with hand-computed answers."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from warehouse import queries
from warehouse.audit_store import append_audit, read_audit
from warehouse.marts import shipment_stats_by_mode

D = pd.Timestamp


def _table(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame, *, dates: tuple[str, ...] = ()) -> None:
    con.register("_src", df)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _src")
    con.unregister("_src")
    for col in dates:  # the DATE columns of the real tables (pandas hands over timestamps)
        con.execute(f"ALTER TABLE {name} ALTER {col} TYPE DATE")


@pytest.fixture()
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    # two series over four days; B sells nothing on day 2 and has no price on day 4
    _table(con, "demand_history", pd.DataFrame({
        "store_id": ["S1"] * 8, "item_id": ["A"] * 4 + ["B"] * 4,
        "dept_id": ["D1"] * 4 + ["D2"] * 4, "cat_id": ["C1"] * 8, "state_id": ["CA"] * 8,
        "date": list(pd.date_range("2016-05-01", periods=4)) * 2,
        "units": [1, 2, 3, 4, 5, 0, 7, 8],
        "sell_price": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, None],
        "units_imputed": [False] * 5 + [True] + [False] * 2,
    }), dates=("date",))
    _table(con, "raw_pos", pd.DataFrame({
        "store_id": ["S1", "S1", "S1"], "item_id": ["A", "B", "A"],
        "date": [D("2016-05-01"), D("2016-05-01"), D("2016-05-03")], "units": [1, 5, 3]}), dates=("date",))
    _table(con, "raw_calendar", pd.DataFrame({
        "date": pd.date_range("2016-04-25", periods=14), "wm_yr_wk": [1] * 7 + [2] * 7}), dates=("date",))
    _table(con, "raw_prices", pd.DataFrame({
        "store_id": ["S1"] * 3, "item_id": ["A", "A", "B"], "wm_yr_wk": [1, 2, 3], "sell_price": [1.0, 2.0, 3.0]}))
    _table(con, "forecast", pd.DataFrame({
        "store_id": ["S1"] * 6, "item_id": ["A", "A", "B", "B", "C", "C"],
        "date": [D("2016-05-05"), D("2016-05-06")] * 3, "yhat": [1.0] * 6,
        "model": ["lightgbm", "lightgbm", "blend", "blend", "lightgbm", "lightgbm"]}))
    yield con
    con.close()


def test_forecast_inputs_bind_the_origin_and_windows(con):
    window = (dt.date(2016, 5, 2), dt.date(2016, 5, 3))
    frames = queries.read_forecast_inputs(con, as_of="2016-05-02", horizon=1, global_model=True, window=window,
                                          price_lookback_days=1)
    assert len(frames["history"]) == 8
    assert frames["n_days"]["n"].tolist() == [2]  # 1 and 2 May
    assert frames["attributes"].sort_values("item_id")["dept_id"].tolist() == ["D1", "D2"]
    # price weeks of 1..3 May (origin 2 May -1 .. +1): weeks 1 and 2, not 3
    assert sorted(frames["prices"]["wm_yr_wk"]) == [1, 2]
    totals = frames["totals"].sort_values("item_id")
    assert totals["window_units"].tolist() == [5, 7] and totals["window_days"].tolist() == [2, 2]
    # no as-of: the origin is the last day of history (4 May), so every day counts
    assert queries.read_forecast_inputs(con, as_of="", horizon=1, global_model=False,
                                        window=window)["n_days"]["n"].tolist() == [4]
    assert set(queries.forecast_input_queries(as_of=None, horizon=1, global_model=False, window=window)) == {
        "history", "n_days"}


def test_backtest_depth_is_the_median_series_not_the_longest(con):
    # C and D start on 3 May, E on 4 May: up to 4 May the depths are A 4, B 4, C 2, D 2, E 1 days
    late = pd.DataFrame({"store_id": "S1", "item_id": ["C", "C", "D", "D", "E"], "dept_id": "D1", "cat_id": "C1",
                         "state_id": "CA", "date": [D("2016-05-03"), D("2016-05-04")] * 2 + [D("2016-05-04")],
                         "units": 1, "sell_price": 1.0, "units_imputed": False})
    con.register("_late", late)
    con.execute("INSERT INTO demand_history BY NAME SELECT * REPLACE (CAST(date AS DATE) AS date) FROM _late")
    window = (dt.date(2016, 5, 2), dt.date(2016, 5, 3))
    n = lambda as_of: queries.read_forecast_inputs(con, as_of=as_of, horizon=1, global_model=False,  # noqa: E731
                                                   window=window)["n_days"]["n"].tolist()
    assert n("") == [2]  # depths 1, 2, 2, 4, 4: median 2, not the longest 4
    # up to 3 May: A, B 3 days, C, D 1 day, E not started: the lower median of 1, 1, 3, 3
    assert n("2016-05-03") == [1]


def test_gate_rows_scope(con):
    rows, scope = queries.gate_rows(con, "raw_pos", ("2016-05-02", "2016-05-03"))
    assert len(rows) == 1 and scope == "2016-05-02..2016-05-03"
    rows, scope = queries.gate_rows(con, "raw_pos")  # every day loaded
    assert len(rows) == 3 and scope == "2016-05-01..2016-05-03"
    # the price weeks of 2..3 May (week 2: 2..8 May), not the whole table
    rows, scope = queries.gate_rows(con, "raw_prices", ("2016-05-02", "2016-05-03"))
    assert rows["wm_yr_wk"].tolist() == [2] and "price weeks" in scope
    assert len(queries.gate_rows(con, "raw_prices")[0]) == 3
    with pytest.raises(ValueError, match="invalid table or column name"):
        queries.gate_rows(con, "raw_pos; DROP TABLE raw_pos")
    # only the columns asked for that the table has
    rows, _ = queries.gate_rows(con, "raw_pos", columns=["item_id", "units", "no_such_column"])
    assert list(rows.columns) == ["item_id", "units"] and len(rows) == 3


def test_pos_span_and_day_range(con):
    assert queries.pos_day_range(con) == ("2016-05-01", "2016-05-03")
    assert queries.pos_span(con, "2016-05-01", "2016-05-02") == queries.PosSpan("2016-05-01", "2016-05-01", 2, 2)
    con.execute("DELETE FROM raw_pos")
    assert queries.pos_day_range(con) == ("1900-01-01", "2999-01-01")


def test_quarantine_counts_and_top_reasons(con):
    assert queries.quarantined_rows(con, "pos") == 0  # no table yet
    _table(con, "quarantine_pos", pd.DataFrame({
        "source_file": ["a.csv"] * 4, "reason": ["units: below 0", "units: below 0", "date: missing", "units: below 0"]}))
    _table(con, "quarantine_prices", pd.DataFrame({"source_file": pd.Series([], dtype=str),
                                                   "reason": pd.Series([], dtype=str)}))
    assert queries.quarantined_rows(con, "pos") == 4
    summaries = queries.quarantine_summaries(con, top=1)
    assert summaries == [queries.QuarantineSummary("pos", "quarantine_pos", 4, (("units: below 0", 3),)),
                         queries.QuarantineSummary("prices", "quarantine_prices", 0, ())]


def test_demand_reads_and_as_of(con):
    assert queries.forecast_as_of(con) == D("2016-05-04")
    until = queries.demand_frame(con, ("item_id", "units"), until="2016-05-02")
    assert until.groupby("item_id")["units"].sum().to_dict() == {"A": 3, "B": 5}
    frame = queries.demand_frame(con)
    assert list(frame.columns) == ["store_id", "item_id", "date", "units"]
    # ids as Arrow-backed text (no Python object per row), days as .df() gives them
    assert frame["item_id"].dtype == pd.ArrowDtype(pa.string()) and frame["date"].dtype == "datetime64[us]"
    assert frame.loc[frame["item_id"] == "B", "units"].tolist() == [5, 0, 7, 8]
    with pytest.raises(ValueError):
        queries.demand_frame(con, ("units) FROM raw_pos --",))


def test_catalogue_items_use_history_before_the_forecast(con):
    # first forecast day 5 May: all four days count. A: 10 units / 4 days * 7; B: 20 / 4 * 7
    items = queries.catalogue_items(con).sort_values("item_id").reset_index(drop=True)
    assert items["weekly_units"].tolist() == pytest.approx([17.5, 35.0])
    assert items["sell_price"].tolist() == pytest.approx([1.5, 3.0])  # medians; B's missing price is skipped


def test_dataset_fingerprint_and_model_mix(con):
    assert queries.dataset_fingerprint(con) == {"series": 2, "rows": 8, "first_date": "2016-05-01",
                                                "last_date": "2016-05-04", "total_units": 30}
    assert queries.forecast_model_mix(con) == pytest.approx({"lightgbm": 2 / 3, "blend": 1 / 3})
    assert list(queries.forecast_model_mix(con)) == ["lightgbm", "blend"]


def test_forecast_model_mix_matches_the_tracking_mix(con):
    from forecasting.tracking import model_mix, model_mix_text

    frame = con.execute("SELECT * FROM forecast").df()
    assert model_mix(frame) == queries.forecast_model_mix(con)
    assert model_mix_text(model_mix(frame)) == "lightgbm 66.7%, blend 33.3%"
    assert model_mix(frame, normalize=False) == {"lightgbm": 2.0, "blend": 1.0}
    assert model_mix_text({"lightgbm": 1.0}) == "lightgbm"


def test_drift_inputs_and_latest_as_of(con):
    _table(con, "forecast_holdout", pd.DataFrame({"date": [D("2016-05-04")], "units": [4], "yhat": [3.5],
                                                  "store_id": ["S1"]}))
    _table(con, "replenishment_proposals", pd.DataFrame({"as_of": [D("2016-05-03"), D("2016-05-04")]}))
    history, holdout = queries.drift_inputs(con)
    assert list(holdout.columns) == ["date", "units", "yhat"] and len(history) == 8
    assert queries.latest_proposal_as_of(con) == "2016-05-04"


def test_shipment_stats_by_mode(con):
    _table(con, "shipment_stats", pd.DataFrame({
        "mode": ["Air", "Air", "Truck"], "n_lines": [10, 30, 5], "late_rate": [0.1, 0.2, 0.5],
        "lead_time_p50": [4.0, 6.0, 10.0], "freight_usd_per_kg": [2.0, 3.0, 1.234]}))
    by_mode = shipment_stats_by_mode(con)
    assert by_mode["mode"].tolist() == ["Air", "Truck"] and by_mode["lines"].tolist() == [40, 5]
    # line-weighted late rate (10 * 0.1 + 30 * 0.2) / 40 = 0.175; medians of the lanes
    assert by_mode["late_rate"].tolist() == pytest.approx([0.175, 0.5])
    assert by_mode["lead_time_p50_days"].tolist() == pytest.approx([5.0, 10.0])
    assert by_mode["freight_usd_per_kg"].tolist() == pytest.approx([2.5, 1.23])


def test_audit_is_appended_never_rewritten(con):
    columns = ["po_id", "status"]
    assert read_audit(con, columns=columns).columns.tolist() == columns
    assert append_audit(con, pd.DataFrame({"po_id": ["P1"], "status": ["needs_approval"]})) == 1
    assert append_audit(con, pd.DataFrame({"po_id": ["P1", "P2"], "status": ["approved", "auto_approved"]})) == 2
    audit = read_audit(con, columns=columns)
    assert audit.values.tolist() == [["P1", "needs_approval"], ["P1", "approved"], ["P2", "auto_approved"]]
    # a failing append (wrong columns) leaves what was recorded
    with pytest.raises(duckdb.Error):
        append_audit(con, pd.DataFrame({"po_id": ["P3"]}))
    assert len(read_audit(con, columns=columns)) == 3


def test_long_history_inputs_cover_history_and_horizon_of_long_series(tmp_path):
    con = duckdb.connect(str(tmp_path / "long.duckdb"))
    # A: 1..4 May (4 days, long at min_days 3); B: 3..4 May (2 days, short)
    _table(con, "demand_history", pd.DataFrame({
        "store_id": ["S1"] * 6, "item_id": ["A"] * 4 + ["B"] * 2, "state_id": ["CA"] * 6,
        "date": list(pd.date_range("2016-05-01", periods=4)) + list(pd.date_range("2016-05-03", periods=2)),
        "units": [1, 2, 3, 4, 5, 6]}), dates=("date",))
    _table(con, "raw_calendar", pd.DataFrame({
        "date": pd.date_range("2016-05-01", periods=6), "snap_CA": [0, 1, 0, 0, 1, 0], "snap_TX": 0, "snap_WI": 0,
        "event_type_1": [None, "Sporting", None, None, None, None],
        "event_type_2": [None] * 6}).astype({"event_type_1": "string", "event_type_2": "string"}), dates=("date",))
    # A costs 1.0 from 1 to 3 May, nothing listed on 4 May, 2.0 from 5 May on
    _table(con, "price_periods", pd.DataFrame({
        "store_id": ["S1", "S1"], "item_id": ["A", "A"], "valid_from": [D("2016-05-01"), D("2016-05-05")],
        "valid_to": [D("2016-05-03"), D("2100-01-01")], "sell_price": [1.0, 2.0]}), dates=("valid_from", "valid_to"))
    _table(con, "raw_promotions", pd.DataFrame({
        "store_id": ["S1"], "item_id": ["A"], "date": [D("2016-05-05")], "on_promotion": [1], "discount_pct": [0.2]}),
        dates=("date",))
    _table(con, "raw_events", pd.DataFrame({
        "date": [D("2016-05-05"), D("2016-05-06")], "event_name": ["Fair", "Other fair"],
        "event_type": ["Local", "Local"], "store_id": ["S1", "S2"]}), dates=("date",))
    _table(con, "store_weather", pd.DataFrame({
        "store_id": ["S1", "S2"], "date": [D("2016-05-05")] * 2, "tmax_f": [70.0, 80.0], "tmin_f": 50.0,
        "prcp_in": 0.0, "snow_in": 0.0, "source": "forecast"}), dates=("date",))
    frames = queries.read_forecast_inputs(con, as_of="2016-05-04", horizon=2, global_model=False,
                                          window=(dt.date(2016, 5, 1), dt.date(2016, 5, 4)), long_history_days=3)
    known = frames["long_known"]
    assert known["item_id"].unique().tolist() == ["A"]
    assert known["date"].dt.strftime("%d").tolist() == ["01", "02", "03", "04", "05", "06"]
    assert known["sell_price"].tolist()[:3] == [1.0, 1.0, 1.0] and pd.isna(known["sell_price"].iloc[3])
    assert known["sell_price"].tolist()[4:] == [2.0, 2.0]
    assert known["snap"].tolist() == [0, 1, 0, 0, 1, 0]
    assert known["on_promotion"].tolist() == [0, 0, 0, 0, 1, 0]
    assert known["discount_pct"].tolist() == [0, 0, 0, 0, 0.2, 0]
    events = frames["long_events"]
    assert list(events.itertuples(index=False, name=None)) == [("S1", D("2016-05-02"), "Sporting"),
                                                               ("S1", D("2016-05-05"), "Local")]
    assert frames["long_weather"][["store_id", "tmax_f"]].values.tolist() == [["S1", 70.0]]
    # an origin one day earlier: A has 3 days (still long) and its inputs end two days after it
    early = queries.read_forecast_inputs(con, as_of="2016-05-03", horizon=2, global_model=False,
                                         window=(dt.date(2016, 5, 1), dt.date(2016, 5, 4)), long_history_days=3)
    assert early["long_known"]["date"].max() == D("2016-05-05")
    off = queries.read_forecast_inputs(con, as_of="2016-05-04", horizon=2, global_model=False,
                                       window=(dt.date(2016, 5, 1), dt.date(2016, 5, 4)))
    assert "long_known" not in off
    con.close()
