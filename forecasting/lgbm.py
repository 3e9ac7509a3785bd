"""Global LightGBM demand model: one booster for every series, on cross-sectional features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecasting.distributed import library_call
from forecasting.features import CATEGORICAL, FEATURES, Panel, feature_matrix, forecast_columns, training_columns

__all__ = ["LGBM_PARAMS", "DEFAULT_FEATURES", "GlobalLGBM"]

# item_id as a 3,049-level categorical is left out by default: on the M5 split it made the
# model both slower and worse, because the window statistics already carry each item's level;
# pass ``features=FEATURES`` to use it.
DEFAULT_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != "item")

# Tweedie suits zero-heavy counts; the rest are conventional M5 settings scaled down.
# Two threads, the machine's cores: nothing else runs during the fit in the pipeline.
# Oversubscribed (other processes busy on the same cores) the busy-waiting OpenMP threads make
# the fit many times slower: set num_threads to 1 on a shared machine.
LGBM_PARAMS: dict[str, Any] = {
    "objective": "tweedie",
    "tweedie_variance_power": 1.2,
    "learning_rate": 0.12,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.7,
    "bagging_freq": 1,
    "lambda_l2": 0.1,
    "cat_smooth": 10,
    "max_bin": 127,
    "verbose": -1,
    "num_threads": 2,
    "force_col_wise": True,
    "seed": 7,
}


@dataclass
class GlobalLGBM:
    """One LightGBM booster trained across all series.

    Attributes:
        params: LightGBM parameters (defaults :data:`LGBM_PARAMS`).
        num_rounds: Boosting rounds.
        max_train_rows: Training rows are subsampled (seeded) above this many.
        features: Feature columns used; drop some to measure what they are worth.
        booster: The fitted ``lightgbm.Booster`` after :meth:`fit`.
    """

    params: Mapping[str, Any] = field(default_factory=lambda: dict(LGBM_PARAMS))
    num_rounds: int = 120
    max_train_rows: int = 250_000
    features: Sequence[str] = DEFAULT_FEATURES
    booster: Any = None

    def config(self) -> dict[str, Any]:
        """What it takes to refit this model on other data: params, rounds, row cap, features."""
        return {
            "params": dict(self.params),
            "num_rounds": int(self.num_rounds),
            "max_train_rows": int(self.max_train_rows),
            "features": list(self.features),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GlobalLGBM:
        """An unfitted model with a :meth:`config` (e.g. a champion's, to refit it)."""
        return cls(params=dict(config["params"]), num_rounds=int(config["num_rounds"]),
                   max_train_rows=int(config["max_train_rows"]), features=tuple(config["features"]))

    def fit(self, panel: Panel) -> GlobalLGBM:
        """Train on leave-one-out features of every series and day of ``panel``.

        Args:
            panel: Training panel.

        Returns:
            ``self``, fitted.
        """
        import lightgbm as lgb

        keep = self._rows(panel.y.size)
        # Only the sampled rows are computed, straight into the matrix LightGBM reads.
        cols, y = training_columns(panel, rows=keep)
        names = list(self.features)
        x = feature_matrix(cols, names)
        cats = [c for c in CATEGORICAL if c in names]
        with library_call("lightgbm"):
            data = lgb.Dataset(x, label=y, feature_name=names,
                               categorical_feature=cats, free_raw_data=True)
            self.booster = lgb.train(dict(self.params), data, num_boost_round=self.num_rounds)
        return self

    def _rows(self, n: int) -> np.ndarray | None:
        if n <= self.max_train_rows:
            return None
        rng = np.random.default_rng(int(self.params.get("seed", 0)))
        return np.sort(rng.choice(n, size=self.max_train_rows, replace=False))

    def predict(self, panel: Panel, dates: Sequence[pd.Timestamp]) -> np.ndarray:
        """Mean forecast for ``dates``, shape (n_series, len(dates)), non-negative.

        Args:
            panel: The panel the features come from (its window and covariates).
            dates: Days to forecast.

        Returns:
            Forecast matrix in the panel's series order.
        """
        if self.booster is None:
            raise RuntimeError("GlobalLGBM.predict called before fit")
        x = feature_matrix(forecast_columns(panel, dates), list(self.booster.feature_name()))
        with library_call("lightgbm"):
            pred = self.booster.predict(x)
        return np.clip(pred, 0.0, None).reshape(len(panel.keys), len(dates))
