"""Weather features: day-of-year normals, anomalies, forecast vs climatology, weather_source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.weather_features import day_of_year, day_of_year_normals, weather_features


def _observed(store: str, dates: list[str], tmax: list[float], prcp: list[float]) -> pd.DataFrame:
    return pd.DataFrame({
        "store_id": store,
        "date": pd.to_datetime(dates),
        "tmax_f": tmax,
        "tmin_f": [t - 20 for t in tmax],
        "prcp_in": prcp,
        "snow_in": 0.0,
        "source": "observed",
    })


def test_day_of_year_puts_29_february_on_1_march_and_ends_at_365():
    d = pd.to_datetime(["2016-02-28", "2016-02-29", "2016-03-01", "2015-03-01", "2016-12-31", "2015-12-31"])
    assert day_of_year(d).tolist() == [59, 60, 60, 60, 365, 365]


def test_normals_average_every_year_of_a_day_and_smooth_over_neighbours():
    obs = _observed("S1", ["2014-07-01", "2015-07-01", "2015-07-02"], [80.0, 90.0, 100.0], [0.0, 0.2, 0.0])
    exact = day_of_year_normals(obs, half_window=0).set_index("doy")
    jul1, jul2 = day_of_year(pd.to_datetime(["2015-07-01", "2015-07-02"]))
    assert exact.at[jul1, "normal_tmax_f"] == pytest.approx(85.0)
    assert exact.at[jul2, "normal_tmax_f"] == pytest.approx(100.0)
    assert np.isnan(exact.at[jul1 + 5, "normal_tmax_f"])
    smooth = day_of_year_normals(obs, half_window=1).set_index("doy")
    # 1 July's window holds 30 June (none), 1 July (80, 90) and 2 July (100): (80 + 90 + 100) / 3
    assert smooth.at[jul1, "normal_tmax_f"] == pytest.approx(90.0)


def test_normals_wrap_round_the_year_end():
    obs = _observed("S1", ["2015-12-31"], [40.0], [0.0])
    n = day_of_year_normals(obs, half_window=2).set_index("doy")
    assert n.at[1, "normal_tmax_f"] == pytest.approx(40.0) and n.at[2, "normal_tmax_f"] == pytest.approx(40.0)
    assert np.isnan(n.at[3, "normal_tmax_f"])


def test_anomaly_forecast_rows_climatology_fill_and_source():
    obs = _observed("S1", ["2014-07-01", "2015-07-01", "2016-06-30"], [80.0, 90.0, 95.0], [0.0, 0.3, 0.0])
    fcst = pd.DataFrame({"store_id": ["S1"], "date": pd.to_datetime(["2016-07-02"]), "tmax_f": [101.0],
                         "tmin_f": [np.nan], "prcp_in": [0.0], "snow_in": [0.0], "source": ["forecast"]})
    # a late observation after the origin must be ignored, as must a forecast before it
    late = _observed("S1", ["2016-07-01"], [120.0], [1.0])
    early = fcst.assign(date=pd.to_datetime(["2016-06-30"]), tmax_f=[10.0])
    wx = pd.concat([obs, fcst, late, early], ignore_index=True)
    days = pd.DataFrame({"store_id": "S1", "date": pd.to_datetime(["2015-07-01", "2016-07-01", "2016-07-02"])})
    out = weather_features(wx, days, origin="2016-06-30", half_window=0)
    assert out["weather_source"].tolist() == ["observed", "climatology", "forecast"]
    # normal of 1 July = mean(80, 90) = 85; 2015-07-01 observed 90 -> anomaly +5
    assert out.loc[0, "wx_tmax_anom"] == pytest.approx(5.0)
    assert out.loc[0, "wx_prcp_in"] == pytest.approx(0.3) and out.loc[0, "wx_rain"] == 1.0
    # 2016-07-01: climatology -> the normal itself, anomaly 0, rain = share of rainy 1 Julys (1 of 2)
    assert out.loc[1, "wx_tmax_f"] == pytest.approx(85.0)
    assert out.loc[1, "wx_tmax_anom"] == pytest.approx(0.0)
    assert out.loc[1, "wx_prcp_in"] == pytest.approx(0.15) and out.loc[1, "wx_rain"] == pytest.approx(0.5)
    # 2016-07-02 forecast: 101 F; its normal (2 July) has no observation at half_window=0 -> NaN anomaly
    assert out.loc[2, "wx_tmax_f"] == pytest.approx(101.0)
    assert np.isnan(out.loc[2, "wx_tmax_anom"])


def test_hot_and_cold_flags_follow_the_anomaly():
    obs = _observed("S1", ["2014-01-10", "2015-01-10", "2016-01-10"], [30.0, 50.0, 55.0], [0.0, 0.0, 0.0])
    days = pd.DataFrame({"store_id": "S1", "date": pd.to_datetime(["2014-01-10", "2015-01-10", "2016-01-10"])})
    out = weather_features(obs, days, origin="2016-01-31", half_window=0)
    # normal 45: anomalies -15, +5, +10
    assert out["wx_tmax_anom"].tolist() == pytest.approx([-15.0, 5.0, 10.0])
    assert out["wx_cold"].tolist() == [1.0, 0.0, 0.0]
    assert out["wx_hot"].tolist() == [0.0, 0.0, 1.0]


def test_stores_keep_their_own_normals():
    wx = pd.concat([_observed("A", ["2015-03-01"], [50.0], [0.0]), _observed("B", ["2015-03-01"], [70.0], [0.0])])
    days = pd.DataFrame({"store_id": ["B", "A"], "date": pd.to_datetime(["2016-03-01", "2016-03-01"])})
    out = weather_features(wx, days, origin="2015-12-31", half_window=0)
    assert out["wx_tmax_f"].tolist() == [70.0, 50.0]
    assert out["weather_source"].tolist() == ["climatology", "climatology"]


def test_unknown_source_is_a_clear_error():
    wx = _observed("S1", ["2015-03-01"], [50.0], [0.0]).assign(source="guess")
    days = pd.DataFrame({"store_id": ["S1"], "date": pd.to_datetime(["2015-03-01"])})
    with pytest.raises(ValueError, match="source.*1 rows"):
        weather_features(wx, days, origin="2015-03-01")
