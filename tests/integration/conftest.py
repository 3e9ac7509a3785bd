"""One ``supplycast run`` of the sample shared by the CLI tests (``test_cli*.py``): in process, on a temporary
state folder, with DAGSTER_HOME unset as after the README's quick start.

The run is backdated (as-of 2016-05-08, 14 days ahead) so the sample's last 14 days are real demand
after the plan: ``supplycast replay`` reads them back in ``test_cli_replay.py``.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stdout
from pathlib import Path

import pytest

AS_OF = "2016-05-08"
HORIZON = 14
# the run's own resources come from its options and the state folder; nothing here may point elsewhere
_UNSET = ("DAGSTER_HOME", "SUPPLYCAST_WAREHOUSE", "SUPPLYCAST_DATA", "SUPPLYCAST_EXPORTS")
# assets the run materialises and the Dagster UI shows plots for
RECORDED = ("forecast_review", "supplier_scores", "replenishment_proposals", "purchase_order_proposals",
            "purchase_order_exports", "raw_pos", "demand_history", "supplier_catalogue")


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``supplycast run --as-of 2016-05-08 --horizon 14 --json --quiet`` and what it recorded."""
    from pipelines.cli import main

    state = tmp_path_factory.mktemp("cli") / "state"
    # not the state folder's default warehouse: the run must write where --warehouse says
    warehouse = state / "cli.duckdb"
    env = {"SUPPLYCAST_HOME": str(state), "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}"}
    with pytest.MonkeyPatch.context() as mp:
        for var, value in env.items():
            mp.setenv(var, value)
        for var in _UNSET:
            mp.delenv(var, raising=False)
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["run", "--as-of", AS_OF, "--horizon", str(HORIZON), "--warehouse", str(warehouse),
                         "--json", "--quiet"])
        # the options reach the resources as values: nothing is left behind in the environment
        leaked = {v: os.environ[v] for v in _UNSET if v in os.environ}
    from dagster import AssetKey, DagsterInstance

    home = state / "dagster_home"
    with DagsterInstance.from_config(str(home)) as instance:
        metadata = {}
        for key in RECORDED:
            event = instance.get_latest_materialization_event(AssetKey(key))
            metadata[key] = event.asset_materialization.metadata if event else None
        materialised = {k.to_user_string() for k in instance.get_asset_keys()
                        if instance.get_latest_materialization_event(k) is not None}
    return {"code": code, "stdout": out.getvalue(), "warehouse": warehouse, "metadata": metadata, "home": home,
            "materialised": materialised, "leaked": leaked, "env": env, "state": Path(state),
            "as_of": AS_OF}
