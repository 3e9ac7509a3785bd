"""WRMSSE on a hand-computed hierarchy, M5 file key mapping, WMAE, drift figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.drift import drift_report, psi
from forecasting.metrics import wmae
from forecasting.quantiles import calibrate_levels, negbin_quantiles
from forecasting.wrmsse import (
    M5_LEVELS,
    load_m5_scales,
    load_m5_weights,
    m5_weights,
    rmsse_scales,
    summing_matrix,
    wrmsse,
)

# Two items of one department in two stores of one state: 4 bottom series.
SERIES = pd.DataFrame(
    {
        "item_id": ["A_1_001", "A_1_002", "A_1_001", "A_1_002"],
        "dept_id": ["A_1"] * 4,
        "cat_id": ["A"] * 4,
        "store_id": ["CA_1", "CA_1", "CA_2", "CA_2"],
        "state_id": ["CA"] * 4,
    }
)


def test_summing_matrix_counts_every_level():
    s, labels = summing_matrix(SERIES)
    # levels 1-9 have one aggregate each (one state, cat, dept) except the store levels (2 stores).
    per_level = labels.groupby("level").size().to_dict()
    assert per_level == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1, 8: 2, 9: 2, 10: 2, 11: 2, 12: 4}
    dense = s.toarray()
    assert dense.shape == (20, 4) and (dense.sum(axis=1) >= 1).all()
    # Each bottom series appears exactly once per level.
    assert (dense.sum(axis=0) == len(M5_LEVELS)).all()


def test_wrmsse_hand_computed_and_perfect_forecast():
    actual = np.array([[1.0, 3.0], [0.0, 2.0], [4.0, 4.0], [2.0, 0.0]])
    forecast = actual.copy()
    forecast[0] += 1.0  # series A_1_001 @ CA_1 over-forecast by 1 on both days
    s, labels = summing_matrix(SERIES)
    weights = labels.assign(weight=1.0 / labels.groupby("level")["key"].transform("size"))
    scales = labels.assign(scale=4.0)
    res = wrmsse(SERIES, actual, forecast, weights=weights, scales=scales)
    # The error of +1 reaches, per level, exactly one aggregate whose RMSSE is sqrt(1/4) = 0.5,
    # weighted by 1/(number of aggregates in that level).
    n_per_level = labels.groupby("level").size()
    expected_levels = 0.5 / n_per_level
    np.testing.assert_allclose(res.per_level.set_index("level")["wrmsse"], expected_levels)
    assert res.score == pytest.approx(expected_levels.sum() / 12)
    assert wrmsse(SERIES, actual, actual, weights=weights, scales=scales).score == 0.0


def test_m5_weights_sum_to_one_per_level():
    w = m5_weights(SERIES, np.array([10.0, 30.0, 20.0, 40.0]))
    sums = w.groupby("level")["weight"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert w.loc[(w["level"] == 3) & (w["key"] == "CA_1"), "weight"].item() == pytest.approx(0.4)
    # Overall the 12 levels carry 1/12 each.
    assert (sums / 12).sum() == pytest.approx(1.0)


def test_rmsse_scales_skip_leading_zeros():
    hist = np.array([[0.0, 0.0, 2.0, 4.0], [1.0, 1.0, 1.0, 1.0], [0.0, 3.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0]])
    sc = rmsse_scales(SERIES, hist).set_index(["level", "key"])["scale"]
    assert sc[(12, "A_1_001|CA_1")] == pytest.approx(4.0)  # only the 2 -> 4 difference counts
    assert sc[(12, "A_1_002|CA_1")] == 0.0
    assert sc[(12, "A_1_001|CA_2")] == pytest.approx(9.0)
    assert np.isnan(sc[(12, "A_1_002|CA_2")])


def test_m5_files_map_to_the_same_keys(tmp_path):
    weights = pd.DataFrame(
        {
            "Level_id": ["Level1", "Level11", "Level12", "Level3"],
            "Agg_Level_1": ["Total", "CA", "A_1_001", "CA_1"],
            "Agg_Level_2": ["X", "A_1_001", "CA_1", "X"],
            "Dollar_Sales": [1.0, 1.0, 1.0, 1.0],
            "weight": [1.0, 0.5, 0.25, 0.5],
        }
    )
    scales = pd.DataFrame(
        {
            "level": np.array([1, 11, 12, 3], dtype=np.int8),
            "agg_level_1": ["Total", "A_1_001", "A_1_001_CA_1_evaluation", "CA_1"],
            "agg_level_2": ["X", "CA", "X", "X"],
            "scale_mse_d1_d1913": [1.0, 2.0, 3.0, 4.0],
        }
    )
    weights.to_parquet(tmp_path / "w.parquet")
    scales.to_parquet(tmp_path / "s.parquet")
    w = load_m5_weights(tmp_path / "w.parquet")
    s = load_m5_scales(tmp_path / "s.parquet")
    _, labels = summing_matrix(SERIES)
    assert set(zip(w["level"], w["key"], strict=True)) <= set(zip(labels["level"], labels["key"], strict=True))
    assert list(zip(s["level"], s["key"], strict=True)) == list(zip(w["level"], w["key"], strict=True))


def test_load_m5_weights_names_missing_columns(tmp_path):
    pd.DataFrame({"Level_id": ["Level1"]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"bad.parquet: missing column.*weight"):
        load_m5_weights(tmp_path / "bad.parquet")


def test_wmae_weights_holidays_five_times():
    y = np.array([10.0, 10.0, 10.0])
    yhat = np.array([12.0, 10.0, 4.0])
    hol = np.array([True, False, False])
    assert wmae(y, yhat, hol) == pytest.approx((5 * 2 + 0 + 6) / 7)
    assert wmae(y, yhat, np.zeros(3, bool)) == pytest.approx(8 / 3)


def test_calibrate_levels_widens_an_overconfident_model():
    rng = np.random.default_rng(0)
    mean = np.full(20_000, 3.0)
    y = rng.negative_binomial(1.0, 1.0 / (1.0 + 3.0), size=mean.size)  # true dispersion 1
    levels = calibrate_levels(y, mean, np.zeros_like(mean), (0.1, 0.9))  # model says Poisson
    assert levels[0.1] < 0.1 and levels[0.9] > 0.9
    q = negbin_quantiles(mean, np.zeros_like(mean), [levels[0.1], levels[0.9]])
    below_hi = np.mean(y <= q[levels[0.9]])
    assert abs(below_hi - 0.9) < 0.03


def test_psi_zero_for_same_sample_and_large_for_shift():
    rng = np.random.default_rng(1)
    base = rng.poisson(2.0, 5000)
    assert psi(base, base) == pytest.approx(0.0)
    assert psi(base, rng.poisson(6.0, 5000)) > 0.25


def test_drift_report_flags_a_level_shift_and_passes_stable_data():
    dates = pd.date_range("2016-04-25", periods=28)
    rng = np.random.default_rng(2)
    stable = pd.DataFrame({"date": np.repeat(dates, 50), "units": rng.poisson(2.0, 28 * 50)})
    assert drift_report(stable).passed
    shifted = stable.copy()
    shifted.loc[shifted["date"] >= dates[-7], "units"] *= 4
    report = drift_report(shifted)
    assert not report.passed
    assert any("PSI of 'units'" in m for m in report.messages)
    assert report.figures["level_ratio"] > 3


def test_drift_report_compares_with_the_weeks_before_not_the_years_before():
    # a few long series whose distant past sold far more: only the 21 days before the recent week count
    dates = pd.date_range("2016-04-25", periods=28)
    rng = np.random.default_rng(3)
    recent_mix = pd.DataFrame({"date": np.repeat(dates, 50), "units": rng.poisson(2.0, 28 * 50)})
    old = pd.DataFrame({"date": np.repeat(pd.date_range("2014-01-01", periods=400), 5),
                        "units": rng.poisson(20.0, 400 * 5)})
    history = pd.concat([old, recent_mix], ignore_index=True)
    assert drift_report(history).passed
    assert not drift_report(history, train_days=None).passed
