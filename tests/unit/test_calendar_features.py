"""Event days-to / days-since features, hand-computed."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.calendar_features import event_distances, event_feature_names


def test_days_to_and_since_each_type_capped():
    events = pd.DataFrame({"date": pd.to_datetime(["2020-01-05", "2020-01-10", "2020-01-20"]),
                           "event_type": ["Sporting", "National", "Sporting"]})
    days = pd.DataFrame({"date": pd.to_datetime(["2020-01-11", "2020-01-01", "2020-01-05", "2020-01-25"])})
    out = event_distances(events, days, max_days=6)
    assert list(out.columns) == ["date", *event_feature_names(["National", "Sporting"])]
    # rows keep their order: 11 Jan, 1 Jan, 5 Jan, 25 Jan
    assert out["days_to_sporting"].tolist() == [6, 4, 0, 6]  # 9 days to 20 Jan is capped at 6
    assert out["days_since_sporting"].tolist() == [6, 6, 0, 5]
    assert out["days_to_national"].tolist() == [6, 6, 5, 6]
    assert out["days_since_national"].tolist() == [1, 6, 6, 6]


def test_events_by_store_apply_to_that_store_only():
    events = pd.DataFrame({"store_id": [1, 2], "date": pd.to_datetime(["2020-01-05", "2020-01-03"]),
                           "event_type": ["holiday", "holiday"]})
    days = pd.DataFrame({"store_id": [1, 2, 1, 2],
                         "date": pd.to_datetime(["2020-01-04", "2020-01-04", "2020-01-06", "2020-01-02"])})
    out = event_distances(events, days, by=["store_id"])
    assert out["days_to_holiday"].tolist() == [1, 30, 30, 1]
    assert out["days_since_holiday"].tolist() == [30, 1, 1, 30]


def test_requested_type_without_occurrences_is_all_capped():
    events = pd.DataFrame({"date": pd.to_datetime(["2020-01-05"]), "event_type": ["Cultural"]})
    days = pd.DataFrame({"date": pd.to_datetime(["2020-01-04"])})
    out = event_distances(events, days, types=["Cultural", "Religious"], max_days=10)
    assert out.loc[0, "days_to_religious"] == 10 and out.loc[0, "days_since_religious"] == 10
    assert out.loc[0, "days_to_cultural"] == 1


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="event_type"):
        event_distances(pd.DataFrame({"date": []}), pd.DataFrame({"date": []}))
