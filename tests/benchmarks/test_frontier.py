"""``benchmarks.frontier`` on the embedded sample: the built data folder, the actuals cut, and (integration)
the whole script on two long-history series of store CA_1."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.frontier import LAST_DAY, actuals_file, long280_folder, main
from benchmarks.frontier_validation import long_folder, short_folder
from warehouse.feeds import SAMPLE_DIR, discover_feeds


def test_long_folder_holds_only_the_long_series_with_history_and_weather_beside(tmp_path):
    folder = long280_folder(SAMPLE_DIR, tmp_path / "data", items=2)
    history = pd.read_parquet(SAMPLE_DIR / "m5_history" / "sales_d1_d1913_CA_1.parquet")
    items = sorted(history["item_id"].unique())[:2]
    expected = {(i, "CA_1") for i in items}
    for name in ("sales_d1914_d1941.parquet", "sell_prices.parquet", "series_summary_d1_d1941.parquet"):
        kept = pd.read_parquet(folder / "m5" / name)
        assert set(zip(kept["item_id"], kept["store_id"], strict=True)) == expected, name
    assert len(pd.read_parquet(folder / "m5" / "sales_d1914_d1941.parquet")) == 2 * 28
    scales = pd.read_parquet(folder / "m5" / "rmsse_scale_d1_d1913.parquet")
    assert sorted(scales["agg_level_1"]) == [f"{i}_CA_1_evaluation" for i in items]
    assert (scales["level"] == 12).all()
    built_history = pd.read_parquet(folder / "m5_history" / "sales_d1_d1913_CA_1.parquet")
    assert len(built_history) == 2 * 1913

    feeds = discover_feeds(folder)
    # the run reads the filtered sales as POS, the history and GHCN weather beside them, nothing from the sample
    assert feeds.pos == ((folder / "m5" / "sales_d1914_d1941.parquet").resolve(),)
    assert [p.name for p in feeds.files("pos_history")] == ["sales_d1_d1913_CA_1.parquet"]
    assert feeds.weather.parent.name == "weather_ghcn" and feeds.sample_fallbacks() == ()


def test_actuals_are_the_real_days_after_the_as_of_and_never_after_the_last_day(tmp_path):
    folder = long280_folder(SAMPLE_DIR, tmp_path / "data", items=1)
    path = actuals_file(folder, "2016-05-08", tmp_path / "actuals.parquet")
    act = pd.read_parquet(path)
    assert list(act.columns) == ["item_id", "store_id", "date", "sales"]
    assert act["date"].min() == pd.Timestamp("2016-05-09") and act["date"].max() == LAST_DAY
    assert len(act) == 14
    sales = pd.read_parquet(folder / "m5" / "sales_d1914_d1941.parquet")
    assert act["sales"].sum() == sales.loc[pd.to_datetime(sales["date"]) > "2016-05-08", "sales"].sum()


@pytest.mark.integration
def test_script_plans_replays_and_reports_the_frontier(tmp_path):
    out = tmp_path / "frontier.txt"
    assert main(["--data", str(SAMPLE_DIR), "--which", "long280", "--items", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "plan as of 2016-04-24, horizon 28; replay 2016-04-25..2016-05-22 (28 days), 2 series" in text
    assert "on-hand ratio at matched fill (all days)" in text and "on-hand ratio at matched fill (after first" in text
    assert text.count("\n       supplycast ") == 7 and text.count("\nsnaive_base_stock ") == 7
    assert "oracle: fill" in text and "seconds: run" in text


def test_validation_folder_holds_the_short_window_before_the_test_days(tmp_path):
    folder = short_folder(SAMPLE_DIR, tmp_path / "data", pd.Timestamp("2016-03-27"), history=14)
    sales = pd.read_parquet(folder / "m5" / "sales_window.parquet")
    dates = pd.to_datetime(sales["date"])
    # 14 days up to the origin and the 14 replayed after it, for every long series of the sample
    assert (dates.min(), dates.max()) == (pd.Timestamp("2016-03-14"), pd.Timestamp("2016-04-10"))
    assert sales.groupby(["item_id", "store_id"]).size().eq(28).all() and sales[["item_id"]].nunique().item() == 28
    feeds = discover_feeds(folder)
    # short series only: no long history beside, the weather and logistics feeds from the folder itself
    assert feeds.files("pos_history") == () and feeds.weather.parent.name == "weather_ghcn"
    assert feeds.sample_fallbacks() == ()
    act = pd.read_parquet(actuals_file(folder, "2016-03-27", tmp_path / "actuals.parquet"))
    assert act["date"].min() == pd.Timestamp("2016-03-28") and act["date"].max() == pd.Timestamp("2016-04-10")


def test_validation_origin_reaching_the_test_days_is_refused(tmp_path):
    with pytest.raises(ValueError, match="on or after the test windows' first day 2016-04-25"):
        short_folder(SAMPLE_DIR, tmp_path / "data", pd.Timestamp("2016-04-11"), history=14)


def test_long_validation_folder_splits_the_history_at_the_window(tmp_path):
    folder = long_folder(SAMPLE_DIR, tmp_path / "data", pd.Timestamp("2016-03-27"))
    window = pd.to_datetime(pd.read_parquet(folder / "m5" / "sales_window.parquet")["date"])
    before = pd.to_datetime(pd.read_parquet(folder / "m5_history" / "sales_before.parquet")["date"])
    # 28 days up to the origin and 14 after it in m5/, every earlier day beside it, no day twice
    assert (window.min(), window.max()) == (pd.Timestamp("2016-02-29"), pd.Timestamp("2016-04-10"))
    assert (before.min(), before.max()) == (pd.Timestamp("2011-01-29"), pd.Timestamp("2016-02-28"))
    assert len(window) + len(before) == 28 * ((pd.Timestamp("2016-04-10") - pd.Timestamp("2011-01-29")).days + 1)
    assert [p.name for p in discover_feeds(folder).files("pos_history")] == ["sales_before.parquet"]
