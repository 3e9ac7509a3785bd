"""Great Expectations suites catch the bad inputs they are written for."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from warehouse.quality import SUITES, docs_index, suite_columns, validate_feed


@pytest.fixture(scope="module")
def pos(sample_db):
    import duckdb

    con = duckdb.connect(str(sample_db), read_only=True)
    df = con.execute("SELECT * FROM raw_pos USING SAMPLE 2000 ROWS (reservoir, 7)").df()
    con.close()
    return df


def test_every_feed_has_a_suite():
    from warehouse.layout import SCHEMAS

    assert set(SUITES) == set(SCHEMAS) == {"pos", "pos_history", "prices", "calendar", "events", "promotions", "weather",
                                           "weather_stations", "shipments", "suppliers", "inventory",
                                           "emission_factors"}


def test_clean_pos_passes(pos):
    outcome = validate_feed("pos", pos)
    assert outcome.success, outcome.summary()
    assert outcome.rows == len(pos)


def test_negative_units_fail_with_count(pos):
    bad = pos.copy()
    bad.loc[bad.index[:3], "units"] = -4
    outcome = validate_feed("pos", bad)
    assert not outcome.success
    failure = next(f for f in outcome.failures if f["column"] == "units")
    assert failure["unexpected_count"] == 3
    assert "units" in outcome.summary() and "3 bad rows" in outcome.summary()


def test_duplicate_keys_and_nulls_fail(pos):
    bad = pos.copy()
    bad.loc[bad.index[0], "item_id"] = None
    bad = bad._append(bad.iloc[[5]])
    columns = {str(f["column"]) for f in validate_feed("pos", bad).failures}
    assert "item_id" in columns
    assert any("store_id" in c and "date" in c for c in columns)


def test_implausible_weather_fails(sample_db):
    import duckdb

    con = duckdb.connect(str(sample_db), read_only=True)
    weather = con.execute("SELECT * FROM raw_weather ORDER BY station, date LIMIT 500").df()
    con.close()
    assert validate_feed("weather", weather).success
    weather.loc[weather.index[:2], "tmax_f"] = np.array([190.0, 250.0])
    outcome = validate_feed("weather", weather)
    assert not outcome.success
    assert any(f["column"] == "tmax_f" and f["unexpected_count"] == 2 for f in outcome.failures)


def test_weather_forecast_rows_pass_and_a_station_map_needs_unique_stores():
    # a weather forecast is dated after today; the window of the weather feed runs to 2100
    future = pd.DataFrame({"station": "USW1", "store_id": None, "date": pd.to_datetime(["2099-06-01", "2099-06-02"]),
                           "tmax_f": [80.0, 81.0], "tmin_f": [60.0, 61.0], "tavg_f": [70.0, 71.0], "prcp_in": [0.0, 0.1],
                           "snow_in": 0.0})
    assert validate_feed("weather", future).success
    key = pd.DataFrame({"store_id": ["CA_1", "CA_1"], "station": ["A", "B"], "proxy": [True, True]})
    failure = validate_feed("weather_stations", key).failures
    assert [(f["column"], f["unexpected_count"]) for f in failure] == [("store_id", 2)]


def test_promotion_and_event_suites():
    promos = pd.DataFrame({"store_id": "S", "item_id": ["A", "A", "B"], "date": pd.to_datetime(["2020-01-01"] * 3),
                           "on_promotion": [1, 0, 3], "discount_pct": [20.0, None, 150.0]})
    failed = {(f["expectation"], str(f["column"])): f["unexpected_count"]
              for f in validate_feed("promotions", promos).failures}
    assert failed == {("expect_column_values_to_be_in_set", "on_promotion"): 1,
                      ("expect_column_values_to_be_between", "discount_pct"): 1,
                      ("expect_compound_columns_to_be_unique", "['store_id', 'item_id', 'date']"): 2}
    events = pd.DataFrame({"date": pd.to_datetime(["2020-12-25", "2020-12-25", "2020-12-25"]),
                           "event_name": ["Christmas", "Christmas", "School holiday"], "event_type": "Holiday",
                           "store_id": [None, None, "5"]})
    failures = validate_feed("events", events).failures
    assert [(f["expectation"], f["unexpected_count"]) for f in failures] == [
        ("expect_compound_columns_to_be_unique", 2)]


def test_wrong_type_and_dates_outside_the_window_fail(pos):
    bad = pos.copy()
    bad["units"] = bad["units"].astype("float64")
    bad.loc[bad.index[:2], "date"] = pd.Timestamp("2099-01-01")
    failed = {(f["expectation"], str(f["column"])): f for f in validate_feed("pos", bad).failures}
    assert ("expect_column_values_to_be_of_type", "units") in failed
    assert failed[("expect_column_values_to_be_between", "date")]["unexpected_count"] == 2


def test_data_docs_are_built_and_linked(pos, tmp_path):
    outcome = validate_feed("pos", pos, docs_dir=tmp_path / "gx")
    assert outcome.success and outcome.docs_url and outcome.docs_url.startswith("file://")
    page = Path(outcome.docs_url.removeprefix("file://"))
    assert page.is_file() and page.suffix == ".html" and "validations" in page.parts
    assert "pos_suite" in page.read_text()
    assert docs_index(tmp_path / "gx").is_file()


def _page_without_stamps(path: Path) -> str:
    """A data docs page with its run times, ids and random element ids blanked."""
    stamps = (r"\d{8}T\d{6}\.\d+Z|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?( UTC|Z)?|[0-9a-f]{32}"
              r"|[0-9a-f-]{36}|collapse-body[\w-]+|_run_time_sort': [\d.]+")
    return re.sub(stamps, "X", path.read_text())


def test_data_docs_compile_their_templates_once_and_render_gx_pages(pos, tmp_path, monkeypatch):
    import jinja2

    from warehouse import quality

    bad = pos.head(50).copy()
    bad.loc[bad.index[:2], "units"] = -1
    with monkeypatch.context() as gx_own:  # GX's own views, for reference: two gates' pages
        gx_own.setattr(quality, "_compile_docs_templates_once", lambda ctx: None)
        reference = [validate_feed("pos", bad, docs_dir=tmp_path / "gx_own") for _ in range(2)][-1]
    first = validate_feed("pos", bad, docs_dir=tmp_path / "ours")
    compiled = []
    compile_template = jinja2.Environment.compile

    def counted(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return compile_template(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    second = validate_feed("pos", bad, docs_dir=tmp_path / "ours")  # the next gate: a new site build
    assert compiled == []
    # the same pages as GX's own views render, the project's styles included
    expected = _page_without_stamps(Path(reference.docs_page))
    assert "ge-index-page-site-name-title" in expected and "Unsuccessful Expectations" in expected
    assert _page_without_stamps(Path(first.docs_page)) == expected
    assert _page_without_stamps(Path(second.docs_page)) == expected
    assert _page_without_stamps(docs_index(tmp_path / "ours")) == _page_without_stamps(docs_index(tmp_path / "gx_own"))


def test_data_docs_keep_a_bounded_history(pos, tmp_path, monkeypatch):
    from warehouse import quality

    monkeypatch.setattr(quality, "DOCS_HISTORY", 2)
    urls = [validate_feed("pos", pos.head(50), docs_dir=tmp_path / "gx").docs_url for _ in range(3)]
    stored = list((tmp_path / "gx" / "gx" / "uncommitted" / "validations" / "pos_suite" / "__none__").iterdir())
    assert len(stored) == 2 and len(set(urls)) == 3
    assert Path(urls[-1].removeprefix("file://")).is_file() and not Path(urls[0].removeprefix("file://")).exists()


def test_expectation_table_lists_every_result_failures_first(pos):
    bad = pos.copy()
    bad.loc[bad.index[:3], "units"] = [-4, -5, -6]
    bad["units"] = bad["units"].astype("int32")  # the loader's type: only the values are wrong
    outcome = validate_feed("pos", bad)
    table = outcome.expectation_table()
    assert len(table) == outcome.evaluated == len(SUITES["pos"])
    assert list(table.columns) == ["expectation", "column", "success", "unexpected_count", "unexpected_percent",
                                   "observed", "sample_values"]
    first = table.iloc[0]
    assert (first["expectation"], first["column"], first["success"]) == ("expect_column_values_to_be_between", "units",
                                                                       False)
    assert first["unexpected_count"] == 3
    assert first["unexpected_percent"] == round(100 * 3 / len(bad), 3)
    assert first["sample_values"] == "-4, -5, -6"
    assert table["success"].iloc[1:].all()
    # whole-column expectations show what GX observed instead of row counts
    dtype = table[(table["expectation"] == "expect_column_values_to_be_of_type") & (table["column"] == "units")]
    assert dtype["observed"].iloc[0] == "int64" and dtype["unexpected_count"].iloc[0] == ""
    assert table[table["column"] == "store_id, item_id, date"]["expectation"].tolist() == [
        "expect_compound_columns_to_be_unique"]


def test_data_docs_page_is_a_path(pos, tmp_path):
    outcome = validate_feed("pos", pos.head(50), docs_dir=tmp_path / "gx")
    assert outcome.docs_page is not None and outcome.docs_page.is_file()
    assert outcome.docs_url == outcome.docs_page.as_uri()
    assert validate_feed("pos", pos.head(50)).docs_page is None


def test_a_date_past_the_nanosecond_range_fails_the_window_instead_of_raising(pos):
    bad = pos.copy()
    assert str(bad["date"].dtype) == "datetime64[us]"  # DuckDB's DATE, as the loader hands it over
    bad["date"] = bad["date"].to_numpy().astype("datetime64[us]")
    dates = bad["date"].to_numpy().copy()
    dates[:2] = np.datetime64("2999-01-01", "us")  # beyond pandas' nanosecond range (2262)
    bad["date"] = dates
    outcome = validate_feed("pos", bad)
    failed = {(f["expectation"], f["column"]) for f in outcome.failures}
    assert ("expect_column_values_to_be_between", "date") in failed
    assert outcome.rows == len(bad) and not outcome.success


def test_suite_columns_name_every_column_an_expectation_reads():
    assert suite_columns("pos") == ["store_id", "item_id", "date", "units"]
    prices = suite_columns("prices")
    # a compound key (column_list) and a pair (column_A / column_B) count too
    assert {"week_start", "valid_from", "valid_to", "sell_price"} <= set(prices)
    assert {"tmax_f", "tmin_f"} <= set(suite_columns("weather"))
    with pytest.raises(KeyError, match="no suite for feed 'nope'"):
        suite_columns("nope")


def test_columns_no_expectation_reads_do_not_change_the_outcome(pos):
    base = validate_feed("pos", pos)
    noisy = validate_feed("pos", pos.assign(note="free text", dept_id=None))
    assert (noisy.success, noisy.evaluated, noisy.failures) == (base.success, base.evaluated, base.failures)
    # a column the suite needs is still missed when it is not there
    missing = validate_feed("pos", pos.drop(columns="units"))
    assert not missing.success and any(f["column"] == "units" for f in missing.failures)
