"""Metadata for people: rounded numbers, readable tables, and what a load quarantined."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from dagster import MetadataValue

from assets._metadata import for_people, markdown_table, quarantine_metadata, table_metadata
from warehouse.loader import LoadReport


@pytest.mark.parametrize(("value", "name", "shown"), [
    (217399.23500000002, "total_value_usd", 217399.24),  # money to the cent
    (12.3456, "unit_cost", 12.35),
    (1.0392, "backtest_mase", 1.039),                     # figures of 1 or more: 3 decimals
    (0.123456, "psi_sell_price", 0.123),                  # a ratio of prices is not money
    (0.000123456, "risk_brier", 0.000123),                # small figures keep 3 significant digits
    (0.0, "zero_share", 0.0),
])
def test_numbers_are_rounded_for_people(value, name, shown):
    assert for_people(value, name) == shown


def test_table_metadata_rounds_floats_and_keeps_the_row_count():
    meta = table_metadata(3, total_value_usd=217399.23500000002, mase=1.03921, label="x")
    assert meta["dagster/row_count"] == MetadataValue.int(3)
    assert meta["total_value_usd"].value == 217399.24 and meta["mase"].value == 1.039
    assert meta["label"] == "x"
    assert math.isnan(table_metadata(0, ratio=float("nan"))["ratio"].value)


def test_markdown_table_prints_money_to_the_cent_and_no_float_noise():
    text = markdown_table(pd.DataFrame({"po_id": ["P1", "P2"], "value_usd": [217399.23500000002, 12.5],
                                        "mase": [1.03921, None], "lines": [3, 400]})).value
    assert "217,399.24" in text and "12.50" in text and "1.039" in text
    assert "0000" not in text and "nan" not in text


def test_quarantine_metadata_names_count_reasons_and_table():
    report = LoadReport("pos", "raw_pos", ("/d/pos/a.csv", "/d/pos/b.csv"), rows_read=100, rows_loaded=94,
                        rows_quarantined=6, reasons=[("/d/pos/a.csv", "units: below 0", 3),
                                                     ("/d/pos/b.csv", "units: below 0", 1),
                                                     ("/d/pos/b.csv", "date: missing", 2)])
    meta = quarantine_metadata(report)
    assert meta["rows_quarantined"].value == 6 and meta["bad_share"].value == 0.06
    assert meta["quarantine_table"].value == "quarantine_pos (6 rows of this load)"
    lines = meta["quarantine_top_reasons"].value.splitlines()
    # reasons summed over files, most rows first
    assert "units: below 0" in lines[2] and "| 4 " in lines[2] and "a.csv, b.csv" in lines[2]
    assert "date: missing" in lines[3] and "| 2 " in lines[3]
    clean = quarantine_metadata(LoadReport("calendar", "raw_calendar", ("c.csv",), rows_read=5, rows_loaded=5),
                                prefix="x_")
    assert clean["x_rows_quarantined"].value == 0 and clean["x_quarantine_table"].value == "quarantine_calendar (empty)"
    assert "x_quarantine_top_reasons" not in clean


def test_launchpad_template_lists_the_waiting_pos_and_runs_only_once_filled_in():
    import yaml
    from dagster import DagsterInvalidConfigError, validate_run_config

    from assets.review import launchpad_template
    from pipelines.definitions import defs
    from pipelines.review_jobs import review_purchase_orders

    waiting = pd.DataFrame({"po_id": ["PO-20160522-AAAA0001", "PO-20160522-BBBB0002"],
                            "po_version": ["0123456789ab", "00000000e123"]})
    text = launchpad_template(waiting)
    config = yaml.safe_load(text.split("```yaml")[1].split("```")[0])
    decisions = config["ops"]["po_decisions"]["config"]["decisions"]
    # the versions stay strings (an all-digit or exponent-like hash would otherwise turn into a number)
    assert [(d["po_id"], d["po_version"]) for d in decisions] == [("PO-20160522-AAAA0001", "0123456789ab"),
                                                                   ("PO-20160522-BBBB0002", "00000000e123")]
    job = defs.resolve_job_def(review_purchase_orders.name)
    # pasted unedited, the Launchpad refuses it: the decision is still a choice to make
    with pytest.raises(DagsterInvalidConfigError, match="approve|reject"):
        validate_run_config(job, config)
    for d in decisions:
        d.update(decision="approve", approver="ana")
    assert validate_run_config(job, config)
    assert launchpad_template(waiting.iloc[0:0]) == "nothing waiting"

