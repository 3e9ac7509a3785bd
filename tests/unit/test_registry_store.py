"""The registry's side of "your data is your data": a model name per data source, and a quiet store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from forecasting.registry import load_champion, registered_model_name

ROOT = Path(__file__).resolve().parents[2]


def test_registered_model_name_is_readable_and_keyed_by_the_folder(tmp_path):
    name = registered_model_name(tmp_path / "Bakery Feeds (2019)")
    assert name.startswith("supplycast-global-bakery-feeds-2019-") and len(name.rsplit("-", 1)[1]) == 8
    assert registered_model_name(tmp_path / "Bakery Feeds (2019)" / ".") == name
    assert registered_model_name(tmp_path / "other" / "Bakery Feeds (2019)") != name


def test_no_champion_in_a_new_store_is_not_an_error(tmp_path):
    champion = load_champion(f"sqlite:///{tmp_path / 'new.mlflow.db'}", name=registered_model_name(tmp_path))
    assert (champion.model, champion.version, champion.error) == (None, None, None)


def test_opening_a_new_store_prints_nothing(tmp_path):
    # MLflow logs its schema migrations at INFO when it creates a sqlite store; a quiet run shows none of it
    script = (f"from forecasting.registry import load_champion\n"
              f"load_champion(r'sqlite:///{tmp_path / 'fresh.mlflow.db'}', name='m')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "fresh.mlflow.db").is_file()
    assert out.stderr == "" and out.stdout == ""
