"""In-process ``dagster.materialize`` of every asset on a temporary DuckDB and MLflow store."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import materialize

from assets import ALL_ASSETS, ALL_CHECKS
from assets.ingest import partition_range_tags
from assets.resources import FeedsResource, build_resources
from warehouse.feeds import SAMPLE_DIR

pytestmark = pytest.mark.integration

# raw_pos is partitioned by day: one run loads the sample's 28 days as one range
SAMPLE_DAYS = partition_range_tags(pd.Timestamp("2016-04-25").date(), pd.Timestamp("2016-05-22").date())


def _resources(tmp: Path, data_dir: Path = SAMPLE_DIR, *, warehouse: str = "wh.duckdb") -> dict:
    # ci: the warehouse's own MLflow store next to it, whatever MLFLOW_TRACKING_URI says
    return build_resources(data_dir=data_dir, warehouse=tmp / warehouse, env="ci")


@pytest.fixture(scope="module")
def materialised(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    result = materialize([*ALL_ASSETS, *ALL_CHECKS], resources=_resources(tmp), tags=SAMPLE_DAYS)
    return tmp, result


def test_everything_materialises_and_gates_pass(materialised):
    tmp, result = materialised
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == len(ALL_CHECKS) >= 11
    assert [c.check_name for c in checks if not c.passed] == []


def test_contract_columns_and_counts(materialised):
    tmp, _ = materialised
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    cols = lambda t: set(con.execute(f"SELECT * FROM {t} LIMIT 0").df().columns)  # noqa: E731
    assert {"store_id", "item_id", "date", "yhat", "yhat_q50", "yhat_q90", "model"} <= cols("forecast")
    assert {"supplier_id", "risk_score", "cost_score", "carbon_score", "total_score"} <= cols("supplier_scores")
    assert {"store_id", "item_id", "as_of", "on_hand", "on_order", "safety_stock", "reorder_point", "order_up_to",
            "order_qty"} <= cols("replenishment_proposals")
    assert {"po_id", "supplier_id", "item_id", "ship_to", "qty", "unit_cost", "freight_cost", "co2e_kg", "order_date",
            "expected_arrival", "status", "reason"} <= cols("purchase_order_proposals")
    n_fc = con.execute("SELECT count(*), count(DISTINCT (store_id, item_id)), min(date), max(date) FROM forecast").fetchall()[0]
    assert n_fc[0] == 3049 * 28 and n_fc[1] == 3049
    assert pd.Timestamp(n_fc[2]) == pd.Timestamp("2016-05-23")
    statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM purchase_order_proposals").fetchall()}
    assert statuses <= {"auto_approved", "needs_approval", "rejected"} and statuses
    con.close()


def test_po_metadata_has_markdown_table(materialised):
    _, result = materialised
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    meta = mats["purchase_order_proposals"].materialization.metadata
    assert "| po_id" in meta["top_proposals"].value
    for key, mat in mats.items():
        # optional feeds absent from the sample, and the buyers' decisions (none before a buyer decides)
        if key in ("raw_suppliers", "raw_inventory", "raw_events", "raw_promotions", "po_decisions"):
            continue
        assert mat.materialization.metadata["dagster/row_count"].value > 0, key


def test_mlflow_run_logged(materialised):
    tmp, result = materialised
    import mlflow

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    review = mats["forecast_review"].materialization.metadata
    run_id = review["mlflow_run_id"].value
    tracking = _resources(tmp)["mlflow_tracking"]
    # the warehouse's own store, next to it
    assert tracking.tracking_uri == f"sqlite:///{tmp / 'wh.mlflow.db'}" and (tmp / "wh.mlflow.db").is_file()
    client = mlflow.MlflowClient(tracking_uri=tracking.tracking_uri)
    run = client.get_run(run_id)
    assert run.data.params and run.data.metrics
    # what the weather was worth on the long series' backtest, with and without it
    assert {"weather_rmsse_with", "weather_rmsse_without", "weather_on", "long_rmse_long_model"} <= set(run.data.metrics)
    assert run.data.metrics["weather_on"] == float(
        run.data.metrics["weather_rmsse_with"] < run.data.metrics["weather_rmsse_without"])
    assert any(a.path.endswith(".parquet") or a.is_dir for a in client.list_artifacts(run_id))
    # the review registered the run's model; the first run's model has no champion to lose to
    assert review["new_model_version"].value != "none" and review["promoted_to_champion"].value is True
    alias = client.get_model_version_by_alias(tracking.registered_model, "champion")
    assert review["new_model_version"].value.endswith(f" v{alias.version}")
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    # the warehouse copy of the champion follows the registry
    assert con.execute("SELECT version FROM forecast_champion").fetchall() == [(str(alias.version),)]
    con.close()
    meta = mats["forecast"].materialization.metadata
    # rolling origins, and the stage measured against the library calls inside it
    assert len(meta["backtest_windows"].value["origins"]) == 2 and meta["backtest_windows"].value["days_per_window"] == 7
    lib = meta["library_seconds"].value
    assert lib["statsforecast"] > 0 and lib["lightgbm"] > 0
    assert meta["stage_to_library_ratio"].value == pytest.approx(meta["stage_seconds"].value / lib["total"], rel=0.02)


def test_rerun_gives_same_po_ids(materialised, tmp_path):
    tmp, _ = materialised
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    first = set(r[0] for r in con.execute("SELECT DISTINCT po_id FROM purchase_order_proposals").fetchall())
    con.close()
    from assets.procurement import purchase_order_proposals

    again = materialize([purchase_order_proposals], resources=_resources(tmp))
    assert again.success
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    second = set(r[0] for r in con.execute("SELECT DISTINCT po_id FROM purchase_order_proposals").fetchall())
    con.close()
    assert first == second


def test_failed_gate_blocks_downstream(tmp_path):
    data = tmp_path / "bad"
    import shutil

    shutil.copytree(SAMPLE_DIR, data)
    weather = data / "walmart_stormy_weather" / "weather.parquet"
    df = pd.read_parquet(weather)
    # each value is plausible, so the loader keeps the rows, but tmax < tmin breaks the GX suite
    rows = df.index[(df["tmax"] == "60") & (df["tmin"] == "40")][:7]
    assert len(rows) >= 5
    df.loc[rows, ["tmax", "tmin"]] = ["40", "60"]
    df.to_parquet(weather)
    from assets.ingest import raw_weather
    from assets.warehouse import store_weather

    # with GX data docs: the page is shown as a path, the results as a table in the metadata itself
    resources = {**_resources(tmp_path, data), "feeds": FeedsResource(data_dir=str(data), docs_dir=str(tmp_path / "gx"))}
    result = materialize([raw_weather, store_weather, *ALL_CHECKS], resources=resources,
                         selection=["raw_weather", "store_weather"], raise_on_error=False)
    assert not result.success
    evals = result.get_asset_check_evaluations()
    failed = [e for e in evals if not e.passed]
    assert [e.check_name for e in failed] == ["gx_weather_suite"]
    assert "tmax" in failed[0].description and f"{len(rows)} bad rows" in failed[0].description
    first_row = failed[0].metadata["expectations_table"].value.splitlines()[2]
    assert "expect_column_pair_values_a_to_be_greater_than_b" in first_row and "| False " in first_row
    assert f"| {len(rows)} " in first_row
    page = failed[0].metadata["gx_data_docs_page"]
    assert type(page).__name__ == "PathMetadataValue" and Path(page.value).is_file()
    assert "store_weather" not in {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def test_one_model_name_in_table_metadata_and_mlflow(materialised):
    """The forecast's ``model`` metadata, its MLflow param and tag, and the ``forecast.model`` column agree."""
    tmp, result = materialised
    import mlflow

    from forecasting.tracking import model_mix_text
    from warehouse.queries import forecast_model_mix

    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    mix = forecast_model_mix(con)
    n_series = con.execute("SELECT count(DISTINCT (store_id, item_id)) FROM forecast").fetchall()[0][0]
    con.close()
    mats = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    meta = mats["forecast"]
    assert meta["model"].value == model_mix_text(mix)
    assert meta["model_mix"].value == {m: round(share, 3) for m, share in mix.items()}
    assert sum(meta["series_per_model"].value.values()) == n_series
    run = mlflow.MlflowClient(tracking_uri=_resources(tmp)["mlflow_tracking"].tracking_uri).get_run(
        mats["forecast_review"]["mlflow_run_id"].value)
    assert run.data.params["model"] == run.data.tags["model"] == meta["model"].value
    # the best statsforecast candidate is logged under a name that says what it is
    assert "chosen_model" not in run.data.params
    assert run.data.params["best_statsforecast_model"] == meta["best_statsforecast_model"].value


def test_mlflow_run_is_tagged_with_its_data(materialised):
    tmp, result = materialised
    import mlflow

    mats = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    tags = mlflow.MlflowClient(tracking_uri=_resources(tmp)["mlflow_tracking"].tracking_uri).get_run(
        mats["forecast_review"]["mlflow_run_id"].value).data.tags
    assert tags["supplycast.data_dir"] == str(SAMPLE_DIR.resolve())
    assert tags["supplycast.feed.calendar"] == str(SAMPLE_DIR.resolve() / "m5" / "calendar.parquet")
    assert (tags["supplycast.data.series"], tags["supplycast.data.first_date"], tags["supplycast.data.last_date"]) == (
        "3049", "2011-01-29", "2016-05-22")
    assert tags["supplycast.registered_model"] == _resources(tmp)["mlflow_tracking"].registered_model


def test_ingest_and_gate_metadata_are_readable(materialised):
    _, result = materialised
    mats = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    for asset in ("raw_pos", "raw_prices", "raw_calendar", "raw_weather", "raw_shipments"):
        meta = mats[asset]
        assert meta["rows_quarantined"].value == 0, asset  # the sample is clean
        assert meta["quarantine_table"].value.startswith(f"quarantine_{asset.removeprefix('raw_')}")
    assert mats["raw_weather"]["store_station_quarantine_table"].value == "quarantine_weather_stations (empty)"
    po = mats["purchase_order_proposals"]
    assert po["total_value_usd"].value == round(po["total_value_usd"].value, 2)
    for check in result.get_asset_check_evaluations():
        if check.check_name.startswith("gx_"):
            table = check.metadata["expectations_table"].value
            assert table.startswith("| expectation") and "| True " in table, check.check_name
            assert "gx_data_docs" not in check.metadata  # no file:// link; ci builds no data docs


def test_two_warehouses_on_different_data_keep_their_own_champion(materialised, tmp_path, monkeypatch):
    """A second data source, in its own warehouse, with its own store or on the first one's (a shared
    server): it never loads the first one's champion, and promoting its own leaves the first one's alone.

    The second warehouse starts as a copy of the first one's forecast (a run that beat no champion),
    standing in for a second full run; the data folder is a different data set (the FOODS items only).
    """
    import mlflow

    from assets.forecast import forecast_champion, forecast_review
    from forecasting.registry import load_champion

    tmp, _ = materialised
    first = _resources(tmp)["mlflow_tracking"]
    client = mlflow.MlflowClient(tracking_uri=first.tracking_uri)
    first_champion = client.get_model_version_by_alias(first.registered_model, "champion").version
    other = tmp_path / "foods"
    shutil.copytree(SAMPLE_DIR, other)
    for sales in (other / "m5").glob("sales_*.parquet"):
        df = pd.read_parquet(sales)
        df[df["item_id"].str.startswith("FOODS")].to_parquet(sales)

    def champion_of(resources: dict) -> str:
        result = materialize([forecast_champion], resources=resources)
        return next(m.materialization.metadata["champion"].value for m in result.get_asset_materialization_events())

    # its own store, next to its own warehouse
    own = _resources(tmp_path, other, warehouse="own.duckdb")
    assert own["mlflow_tracking"].tracking_uri == f"sqlite:///{tmp_path / 'own.mlflow.db'}"
    assert champion_of(own) == "none"
    # a shared server: the first warehouse's store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", first.tracking_uri)
    monkeypatch.setenv("SUPPLYCAST_HOME", str(tmp_path / "state"))
    shared = build_resources(data_dir=other, warehouse=tmp_path / "shared.duckdb", env="local")
    second = shared["mlflow_tracking"]
    assert second.tracking_uri == first.tracking_uri and second.registered_model != first.registered_model
    assert champion_of(shared) == "none"
    shutil.copy(tmp / "wh.duckdb", tmp_path / "shared.duckdb")
    review = materialize([forecast_review], resources=shared)
    meta = next(m.materialization.metadata for m in review.get_asset_materialization_events())
    assert meta["promoted_to_champion"].value is True
    assert meta["new_model_version"].value.startswith(f"{second.registered_model} v")
    # each data set's champion is its own
    assert client.get_model_version_by_alias(first.registered_model, "champion").version == first_champion
    assert load_champion(first.tracking_uri, name=first.registered_model).version == str(first_champion)
    assert meta["new_model_version"].value.endswith(
        f" v{client.get_model_version_by_alias(second.registered_model, 'champion').version}")
    tags = client.get_run(meta["mlflow_run_id"].value).data.tags
    assert tags["supplycast.data_dir"] == str(other)


def test_long_series_forecast_by_the_long_model_with_weather_source(materialised):
    tmp, result = materialised
    con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
    long_ids = {r[0] for r in con.execute("SELECT DISTINCT item_id FROM raw_pos_history").fetchall()}
    rows = con.execute("SELECT item_id, model, weather_source, yhat_var IS NULL AS no_var, count(*) AS n "
                       "FROM forecast GROUP BY ALL ORDER BY ALL").df()
    spread = con.execute("SELECT item_id, spread_source FROM replenishment_proposals").df()
    con.close()
    assert len(long_ids) == 28
    on_long = rows[rows["item_id"].isin(long_ids)]
    meta = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}[
        "forecast"].materialization.metadata
    long_history = meta["long_history"].value
    assert long_history["series"] == 28
    assert "| segment" in meta["weather_value"].value and "CA_1" in meta["weather_value"].value
    assert set(rows["weather_source"]) <= {"forecast", "climatology", "none"}
    # the sample's weather ends on the last POS day: no weather forecast rows, climatology if weather is on
    expected = "climatology" if meta["weather_on"].value else "none"
    # one store: the weather is on for it exactly when the backtest is better with it
    assert meta["weather_stores"].value == (["CA_1"] if meta["weather_on"].value else [])
    # on the sample's holdout the long model beats the 28-day candidates on the long series (RMSE 3.57 vs 4.04)
    assert long_history["used"]
    assert long_history["holdout_rmse"]["long_model"] < long_history["holdout_rmse"]["previous"]
    assert set(on_long["model"]) == {"long_lightgbm"} and on_long["n"].sum() == 28 * 28
    assert set(on_long["weather_source"]) == {expected}
    short = rows[~rows["item_id"].isin(long_ids)]
    assert "long_lightgbm" not in set(short["model"]) and set(short["weather_source"]) == {"none"}
    # the long model's series plan on its quantiles' spread, the others on their level variance
    assert on_long["no_var"].all() and not short["no_var"].any()
    on_long_spread = spread["item_id"].isin(long_ids)
    assert set(spread.loc[on_long_spread, "spread_source"]) == {"quantiles"}
    assert set(spread.loc[~on_long_spread, "spread_source"]) == {"level_variance"}
