"""Export asset: the purchase-order proposals as CSV and XLSX files for the buyers' spreadsheets."""

import os
from datetime import UTC, datetime
from pathlib import Path

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource
from pydantic import Field

from assets._metadata import OWNERS, WRITER_POOL, table_metadata
from procurement.review import with_decision_columns
from warehouse.db import read_table
from warehouse.exports import EXPORT_FORMATS, export_table
from warehouse.queries import latest_proposal_as_of

__all__ = ["purchase_order_exports", "ExportConfig", "EXPORT_ASSETS", "exports_root"]

_TABLE = "purchase_order_proposals"


class ExportConfig(Config):
    folder: str = Field(
        "", description="Exports root; empty = $SUPPLYCAST_EXPORTS or exports/ beside the warehouse file"
    )
    formats: list[str] = Field(list(EXPORT_FORMATS), description="File formats to write: csv, xlsx")


def exports_root(database: str, folder: str = "") -> Path:
    """Where exports go: ``folder``, else ``$SUPPLYCAST_EXPORTS``, else ``exports/`` beside the DuckDB file.

    Beside the warehouse keeps them in the state folder by default and inside a test's temp folder.
    """
    chosen = folder or os.environ.get("SUPPLYCAST_EXPORTS", "")
    return Path(chosen).resolve() if chosen else Path(database).resolve().parent / "exports"


@asset(group_name="procurement", owners=OWNERS, pool=WRITER_POOL, kinds={"csv", "excel"}, deps=[_TABLE],
       description="The purchase-order proposals as CSV and XLSX (header row, frozen panes, fitted columns) in "
                   "`exports/<run date>/purchase_order_proposals_<as-of>.{csv,xlsx}` beside the warehouse; "
                   "a file of that name with other content (a buyer's filled-in sheet) is kept and the new one "
                   "is numbered (`..._2.xlsx`).")
def purchase_order_exports(context: AssetExecutionContext, config: ExportConfig,
                           duckdb: DuckDBResource) -> MaterializeResult:
    with duckdb.get_connection() as con:
        # blank decision, new_qty, approver, note columns: the sheet comes back through the decisions inbox
        orders = with_decision_columns(read_table(con, _TABLE))
        as_of = latest_proposal_as_of(con)
    run_date = datetime.now(UTC).date().isoformat()
    folder = exports_root(duckdb.database, config.folder) / run_date
    stem = f"{_TABLE}_{as_of or 'unknown'}"
    paths = export_table(orders, folder, stem, formats=config.formats, sheet_name="purchase_orders",
                         title_columns=[c for c in ("po_id", "po_version", "item_id", "ship_to") if c in orders.columns])
    context.log.info("exported %s rows to %s", len(orders), ", ".join(str(p) for p in paths.values()))
    return MaterializeResult(
        metadata=table_metadata(
            len(orders), run_date=run_date, as_of=as_of or "", folder=MetadataValue.path(str(folder)),
            **{fmt: MetadataValue.path(str(path)) for fmt, path in paths.items()},
            **{f"{fmt}_bytes": MetadataValue.int(path.stat().st_size) for fmt, path in paths.items()},
        )
    )


EXPORT_ASSETS = [purchase_order_exports]
