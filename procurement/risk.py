"""Late-delivery risk learned from the real USAID SCMS shipment lines.

A LightGBM classifier predicts whether a line is delivered after its scheduled date from what is
known when the order is placed (vendor, freight mode, destination country, product group, INCO
term, fulfilment route, weight, value, quantity, scheduled month, promised transit days). The split is by time: lines
scheduled before ``split_date`` train the model, later lines test it, so the reported AUC and
calibration are what a buyer would have seen on orders placed after the model was built.

A lane's late probability is the model's mean prediction over the lane's lines; it replaces the
raw late rate in the risk score because it pools evidence across vendors, modes and countries
(thin lanes borrow strength from similar lines instead of showing a noisy 0 % or 100 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

__all__ = ["RiskModel", "fit_risk_model", "lane_risk", "lane_lead_times", "reliability_table", "MODE_OF"]

MODE_OF = {"Air": "air", "Air Charter": "air", "Truck": "road", "Ocean": "sea"}
_CATEGORICAL = ["vendor", "mode", "country", "product_group", "inco_term", "fulfill_via"]
_NUMERIC = ["log_weight_kg", "log_value_usd", "log_quantity", "month", "planned_days"]
_PARAMS = dict(
    objective="binary", n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=30,
    subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0, cat_smooth=20, verbose=-1,
    random_state=7, n_jobs=2, deterministic=True, force_row_wise=True,
)


@dataclass
class RiskModel:
    """A fitted late-delivery classifier with its out-of-time evaluation."""

    model: lgb.LGBMClassifier
    categories: dict[str, list[str]]
    split_date: pd.Timestamp
    metrics: dict[str, float] = field(default_factory=dict)
    reliability: pd.DataFrame = field(default_factory=pd.DataFrame)

    def predict(self, lines: pd.DataFrame) -> np.ndarray:
        """Late-delivery probability per shipment line (``raw_shipments`` columns)."""
        return self.model.predict_proba(_features(lines, self.categories))[:, 1]


def _labelled(shipments: pd.DataFrame) -> pd.DataFrame:
    # in shipment order: the trees' row sampling follows row order, and a warehouse table's rows
    # come back in any order (two loads of the same file differed), which changed every risk score
    shipments = shipments.sort_values("shipment_id", kind="stable")
    lines = shipments[shipments["vendor"] != "SCMS from RDC"].copy()
    lines = lines[lines["scheduled_date"].notna() & lines["delivered_date"].notna()]
    lines["mode"] = lines["shipment_mode"].map(MODE_OF).fillna("unknown")
    lines["late"] = (pd.to_datetime(lines["delivered_date"]) > pd.to_datetime(lines["scheduled_date"])).astype(int)
    return lines.reset_index(drop=True)


def _with_lead_days(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.assign(
        lead_days=(pd.to_datetime(lines["delivered_date"]) - pd.to_datetime(lines["po_sent_date"])).dt.days)


def lane_lead_times(shipments: pd.DataFrame) -> pd.DataFrame:
    """Every real lead time (days from PO sent to delivered) per vendor x mode lane: the sample the lane
    quantiles of :func:`lane_risk` are read from, and that a simulation can draw lead times from.

    Args:
        shipments: ``raw_shipments`` rows.

    Returns:
        ``vendor, mode, lead_days``, one row per shipment line with both dates.
    """
    lines = _with_lead_days(_labelled(shipments))
    return lines.loc[lines["lead_days"].notna(), ["vendor", "mode", "lead_days"]].reset_index(drop=True)


def _features(lines: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    x = pd.DataFrame(index=lines.index)
    mode = lines["mode"] if "mode" in lines else lines["shipment_mode"].map(MODE_OF).fillna("unknown")
    for col in _CATEGORICAL:
        values = mode if col == "mode" else lines[col]
        # unseen levels become NaN, which LightGBM routes like a missing value
        x[col] = pd.Categorical(values.astype(str), categories=categories[col])
    x["log_weight_kg"] = np.log1p(pd.to_numeric(lines["weight_kg"], errors="coerce"))
    x["log_value_usd"] = np.log1p(pd.to_numeric(lines["line_value_usd"], errors="coerce").clip(lower=0))
    x["log_quantity"] = np.log1p(pd.to_numeric(lines["line_quantity"], errors="coerce").clip(lower=0))
    x["month"] = pd.to_datetime(lines["scheduled_date"]).dt.month.astype(float)
    # the promised transit time is agreed when the PO is sent (NaN where the PO date was not captured)
    planned = pd.to_datetime(lines["scheduled_date"]) - pd.to_datetime(lines["po_sent_date"])
    x["planned_days"] = planned.dt.days.astype(float)
    return x[_CATEGORICAL + _NUMERIC]


def reliability_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Observed late rate against mean predicted probability in equal-count bins."""
    frame = pd.DataFrame({"y": y, "p": p})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    out = frame.groupby("bin").agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    return out.reset_index()


def fit_risk_model(shipments: pd.DataFrame, *, split_date: str = "2014-01-01") -> RiskModel:
    """Fit on lines scheduled before ``split_date``; evaluate on the lines after it.

    Args:
        shipments: ``raw_shipments`` rows.
        split_date: time split; the test period must hold both late and on-time lines.

    Returns:
        The fitted model with ``metrics`` (AUC, Brier score, base-rate Brier, expected calibration
        error, line counts) and a ``reliability`` table on the test period.
    """
    lines = _labelled(shipments)
    split = pd.Timestamp(split_date)
    scheduled = pd.to_datetime(lines["scheduled_date"])
    train, test = lines[scheduled < split], lines[scheduled >= split]
    if train["late"].nunique() < 2 or test["late"].nunique() < 2:
        raise ValueError(
            f"raw_shipments: time split at {split:%Y-%m-%d} needs late and on-time lines on both sides "
            f"(train {len(train)} rows, test {len(test)} rows)"
        )
    categories = {c: sorted(train[c].astype(str).unique()) for c in _CATEGORICAL}
    model = lgb.LGBMClassifier(**_PARAMS)
    model.fit(_features(train, categories), train["late"])
    fitted = RiskModel(model=model, categories=categories, split_date=split)
    p = fitted.predict(test)
    y = test["late"].to_numpy()
    rel = reliability_table(y, p)
    base = float(train["late"].mean())
    fitted.metrics = {
        "auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "brier_base_rate": float(brier_score_loss(y, np.full_like(p, base))),
        "ece": float(np.average((rel["mean_predicted"] - rel["observed_rate"]).abs(), weights=rel["n"])),
        "train_lines": float(len(train)),
        "test_lines": float(len(test)),
        "test_late_rate": float(y.mean()),
        "mean_predicted_test": float(p.mean()),
    }
    fitted.reliability = rel
    return fitted


def lane_risk(shipments: pd.DataFrame, model: RiskModel) -> pd.DataFrame:
    """Per vendor x mode lane: mean predicted late probability and delay / lead-time quantiles.

    Returns:
        ``vendor, mode, p_late, delay_days_p50_if_late, delay_days_p90_if_late, lead_time_p10,
        lead_time_p50, lead_time_p90`` (days, from PO sent to delivered).
    """
    lines = _labelled(shipments)
    lines["p_late"] = model.predict(lines)
    lines["delay_days"] = (pd.to_datetime(lines["delivered_date"]) - pd.to_datetime(lines["scheduled_date"])).dt.days
    lines = _with_lead_days(lines)
    late = lines[lines["delay_days"] > 0]
    g = lines.groupby(["vendor", "mode"])
    out = g["p_late"].mean().to_frame()
    out["lead_time_p10"] = g["lead_days"].quantile(0.1)
    out["lead_time_p50_model"] = g["lead_days"].quantile(0.5)
    out["lead_time_p90_model"] = g["lead_days"].quantile(0.9)
    lg = late.groupby(["vendor", "mode"])["delay_days"]
    out["delay_days_p50_if_late"] = lg.quantile(0.5)
    out["delay_days_p90_if_late"] = lg.quantile(0.9)
    # lanes never late borrow the mode's delay distribution
    mode_delay = late.groupby("mode")["delay_days"].median()
    out = out.reset_index()
    fill = out["mode"].map(mode_delay).fillna(late["delay_days"].median())
    out["delay_days_p50_if_late"] = out["delay_days_p50_if_late"].fillna(fill)
    out["delay_days_p90_if_late"] = out["delay_days_p90_if_late"].fillna(fill)
    return out
