"""Where each feed comes from: the data folder, beside an M5 folder, or the embedded sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from warehouse.feeds import LOGISTICS_FEEDS, SAMPLE_DIR, discover_feeds


def _m5_copy(root: Path) -> Path:
    m5 = root / "m5"
    m5.mkdir(parents=True)
    for name in ("calendar.parquet", "sell_prices.parquet", "sales_d1914_d1941.parquet"):
        # links, not copies: discovery only looks at names
        (m5 / name).symlink_to(SAMPLE_DIR / "m5" / name)
    return m5


def test_the_sample_is_all_sample_and_borrows_nothing():
    paths = discover_feeds(SAMPLE_DIR)
    assert {f: p["source"] for f, p in paths.provenance().items()} == dict.fromkeys(
        ("pos", "pos_history", "prices", "calendar", "weather", "weather_stations", "shipments", "emission_factors"),
        "sample")
    assert paths.sample_fallbacks() == ()


def test_an_m5_folder_alone_borrows_every_logistics_feed(tmp_path: Path):
    paths = discover_feeds(_m5_copy(tmp_path))
    prov = paths.provenance()
    assert [prov[f]["source"] for f in ("pos", "prices", "calendar")] == ["data"] * 3
    assert prov["pos"] == {"path": str(tmp_path / "m5" / "sales_d1914_d1941.parquet"), "files": 1, "source": "data"}
    assert paths.sample_fallbacks() == LOGISTICS_FEEDS
    assert all(prov[f]["source"] == "sample" for f in LOGISTICS_FEEDS)


@pytest.mark.parametrize(("given", "logistics_source"), [("m5", "beside_m5"), (".", "data")])
def test_logistics_beside_the_m5_folder_are_the_users(tmp_path: Path, given: str, logistics_source: str):
    _m5_copy(tmp_path)
    shutil.copytree(SAMPLE_DIR / "walmart_stormy_weather", tmp_path / "walmart_stormy_weather")
    shutil.copy(SAMPLE_DIR / "freight_emission_factors.csv", tmp_path)
    paths = discover_feeds(tmp_path / given)
    prov = paths.provenance()
    assert prov["weather"]["source"] == prov["emission_factors"]["source"] == logistics_source
    assert prov["weather"]["path"] == str(tmp_path / "walmart_stormy_weather" / "weather.parquet")
    # only the shipments were missing
    assert paths.sample_fallbacks() == ("shipments",)


def test_a_canonical_pos_folder_of_many_files_is_shown_as_the_folder(tmp_path: Path):
    for feed, src in (("pos", "m5/sales_d1914_d1941.parquet"), ("prices", "m5/sell_prices.parquet"),
                      ("calendar", "m5/calendar.parquet"), ("shipments", "usaid_scms_shipments/shipments.parquet")):
        (tmp_path / feed).mkdir()
        (tmp_path / feed / Path(src).name).symlink_to(SAMPLE_DIR / src)
    (tmp_path / "pos" / "more.csv").write_text("store_id,item_id,date,units\n")
    paths = discover_feeds(tmp_path)
    assert paths.provenance()["pos"] == {"path": str(tmp_path / "pos"), "files": 2, "source": "data"}
    assert paths.sample_fallbacks() == ("emission_factors",)  # weather is optional: absent, not borrowed


def test_the_borrowed_feeds_warning_names_only_what_they_drive(tmp_path: Path):
    from pipelines.summary import feed_warnings

    (warning,) = feed_warnings(discover_feeds(_m5_copy(tmp_path)))
    assert warning.startswith("LOGISTICS FEEDS FROM THE EMBEDDED SAMPLE: weather, weather_stations, shipments, "
                              "emission_factors not found with your data")
    assert warning.endswith("; weather effects, supplier scores and lead times, CO2e describe the sample, not your data")
    bakery_like = tmp_path / "canonical"
    (bakery_like / "pos").mkdir(parents=True)
    (bakery_like / "weather").mkdir()
    shutil.copy(SAMPLE_DIR / "m5" / "sales_d1914_d1941.parquet", bakery_like / "pos" / "sales.parquet")
    shutil.copy(SAMPLE_DIR / "weather_ghcn" / "daily.parquet", bakery_like / "weather" / "daily.parquet")
    (warning,) = feed_warnings(discover_feeds(bakery_like))
    assert "weather effects" not in warning and warning.endswith("; supplier scores and lead times, CO2e describe the "
                                                                 "sample, not your data")


def test_the_quarantine_warning_adds_up_to_its_rows_and_names_the_files():
    from pipelines.summary import _quarantine_warnings

    reasons = [{"reason": "date: not DATE", "rows": 2}, {"reason": "store_id: missing", "rows": 1},
               {"reason": "units: below 0", "rows": 1}]
    files = [{"file": "/data/bad/pos/2019-03-10.parquet", "rows": 3}]
    (warning,) = _quarantine_warnings({"pos": {"rows": 5, "share": 0.001, "max_bad_share": 0.05,
                                               "table": "quarantine_pos", "top_reasons": reasons,
                                               "top_files": files}})
    # three reasons shown (2 + 1 + 1 rows), the fifth row said, not lost; the file as feed folder / name
    assert "date: not DATE (2 rows); store_id: missing (1 row); units: below 0 (1 row); 1 row for other reasons" \
        in warning
    assert "from pos/2019-03-10.parquet (3 rows), 2 rows in other files;" in warning
    assert "units_imputed" in warning and "quarantine_pos" in warning


def test_the_ui_line_says_how_to_open_a_run_on_another_warehouse(tmp_path: Path, monkeypatch):
    from pipelines.summary import _ui_line

    monkeypatch.setenv("SUPPLYCAST_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("SUPPLYCAST_WAREHOUSE", raising=False)
    monkeypatch.delenv("SUPPLYCAST_DATA", raising=False)
    home = str(tmp_path / "state" / "dagster_home")
    default = _ui_line({"dagster_home": home, "warehouse": str(tmp_path / "state" / "warehouse.duckdb")})
    assert default.startswith("Dagster UI: `make dev` shows this run") and "its jobs" not in default
    other = _ui_line({"dagster_home": home, "warehouse": str(tmp_path / "bakery.duckdb"),
                      "data": str(tmp_path / "bakery")})
    assert other.endswith(f"`SUPPLYCAST_WAREHOUSE={tmp_path / 'bakery.duckdb'} SUPPLYCAST_DATA={tmp_path / 'bakery'} "
                          "make dev`")
