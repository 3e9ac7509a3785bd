"""Source formats -> canonical columns, as SQL over one file.

Each adapter returns a SELECT that yields the canonical column names of ``warehouse.layout``
(still untyped: the loader casts and checks them) plus ``_file``. Recognised formats:

* canonical files (the README's feed layout); a calendar without week, weekday, month or year
  columns gets them from ``date`` (weeks start on Saturday, as Walmart's);
* M5 (``sales`` -> ``units``; dept/cat/state derived from the ids when absent);
* NOAA daily summaries of the Walmart stormy-weather data (``station_nbr``, ``tmax``,
  ``preciptotal``...; ``M`` missing -> NULL, ``T`` trace -> 0 with a ``*_trace`` flag) and their
  ``store_nbr -> station_nbr`` key;
* GHCN-Daily (``station, date, tmax_f, tmin_f, prcp_in, snow_in, snwd_in``: the canonical weather
  columns) and its ``m5_store_station.csv`` map, whose stations are state proxies;
* USAID SCMS shipments (original column names; ``See ASN-x (ID#:n)`` references resolved).
"""

from __future__ import annotations

from pathlib import Path

from warehouse.layout import GHCN_PROXY_MAP, SCHEMAS

__all__ = ["reader_sql", "source_sql", "required_missing", "USAID_COLUMNS", "is_usaid", "is_noaa"]

USAID_COLUMNS = ("ID", "Vendor", "Scheduled Delivery Date", "Delivered to Client Date")
_NOAA_EXTRA = ("depart", "dewpoint", "wetbulb", "heat", "cool", "stnpressure", "sealevel", "resultspeed",
               "resultdir", "avgspeed")
# canonical weather column -> NOAA daily-summary column
_NOAA_NAMES = {"tmax_f": "tmax", "tmin_f": "tmin", "tavg_f": "tavg", "prcp_in": "preciptotal", "snow_in": "snowfall"}
_NUMERIC = ("tmax_f", "tmin_f", "tavg_f", "snwd_in")
_TRACE = ("prcp_in", "snow_in")


def reader_sql(path: Path, rejects: str | None = None) -> str:
    """A DuckDB table function reading ``path`` (bound as the one ``?`` parameter).

    CSV is read as text with a fixed ``,`` delimiter so that a wrong delimiter shows as missing
    columns instead of being guessed, and types are cast (and failures quarantined) later; lines
    DuckDB cannot parse (bad UTF-8, wrong field count) go to the ``rejects`` table; without a
    ``rejects`` table (describing a file, finding its dates) they are skipped.
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "read_parquet(?)"
    if suffix == ".csv":
        rej = (f", store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{rejects}_scan'"
               if rejects else ", ignore_errors = true")
        return f"read_csv(?, header = true, all_varchar = true, delim = ',', quote = '\"'{rej})"
    raise ValueError(f"{path}: unsupported file type {suffix!r} (expected .parquet or .csv)")


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def is_usaid(present: set[str]) -> bool:
    return all(c in present for c in USAID_COLUMNS)


def is_noaa(present: set[str]) -> bool:
    """A NOAA daily-summary file or key of the Walmart stormy-weather data (integer station numbers)."""
    return "station_nbr" in present and "station" not in present


def _weather(present: set[str], out: dict[str, str]) -> None:
    noaa = is_noaa(present)
    if noaa:
        out["station"] = f"{_q('station_nbr')}::VARCHAR"
    for name in (*_NUMERIC, *_TRACE):
        src = _NOAA_NAMES.get(name, name) if noaa else name
        if src not in present:
            out[name] = "NULL"
            if name in _TRACE:
                out[f"{name}_trace"] = "false"
            continue
        v = f"trim({_q(src)}::VARCHAR)"
        if name in _TRACE:
            # NOAA's 'T' is a trace, below the 0.01 inch resolution: 0 with a flag
            out[name] = f"CASE WHEN {v} = 'T' THEN '0' ELSE nullif({v}, 'M') END"
            # a file written in the layout carries the flag itself (its 'T' is already 0)
            flag = next((f for f in (f"{name}_trace", f"{src}_trace") if f in present), None)
            out[f"{name}_trace"] = (f"coalesce(try_cast({_q(flag)} AS BOOLEAN) OR {v} = 'T', false)" if flag
                                    else f"coalesce({v} = 'T', false)")
        else:
            out[name] = f"nullif({v}, 'M')"
    for c in _NOAA_EXTRA:
        if c in present:
            out[c] = f"nullif(trim({_q(c)}::VARCHAR), 'M')"
    if "codesum" in present:
        out["codesum"] = f"nullif(trim({_q('codesum')}::VARCHAR), '')"


def _weather_stations(path: Path | None, present: set[str], out: dict[str, str]) -> None:
    if is_noaa(present):
        out["station"] = f"{_q('station_nbr')}::VARCHAR"
        if "store_nbr" in present and "store_id" not in present:
            out["store_id"] = f"{_q('store_nbr')}::VARCHAR"
    if "proxy" not in present:
        # GHCN's M5 map: store locations are anonymised to the state, the state's station stands in
        out["proxy"] = "true" if path is not None and path.name == GHCN_PROXY_MAP else "false"


def _calendar(present: set[str], out: dict[str, str]) -> None:
    day = f"try_cast({_q('date')} AS DATE)"
    # Walmart weeks start on Saturday (wday 1); dayofweek counts from Sunday = 0
    since_saturday = f"CAST((dayofweek({day}) + 1) % 7 AS INTEGER)"
    derived = {
        "wm_yr_wk": f"strftime({day} - {since_saturday}, '%Y%m%d')",
        "weekday": f"dayname({day})",
        "wday": f"{since_saturday} + 1",
        "month": f"month({day})",
        "year": f"year({day})",
    }
    for name, expr in derived.items():
        if name not in present:
            out[name] = expr


def _mapping(feed: str, present: set[str], path: Path | None = None) -> dict[str, str]:
    """Canonical column -> SQL expression over the file's own columns (absent optional -> NULL)."""
    schema = SCHEMAS[feed]
    out: dict[str, str] = {c.name: (_q(c.name) if c.name in present else "NULL") for c in schema.columns}
    if feed in ("pos", "pos_history"):
        if "units" not in present and "sales" in present:
            out["units"] = _q("sales")
        item, store = _q("item_id"), _q("store_id")
        if "dept_id" not in present:
            out["dept_id"] = f"regexp_extract({item}::VARCHAR, '^(.*)_[^_]+$', 1)"
        if "cat_id" not in present:
            out["cat_id"] = f"split_part({item}::VARCHAR, '_', 1)"
        if "state_id" not in present:
            out["state_id"] = f"split_part({store}::VARCHAR, '_', 1)"
    elif feed == "weather":
        _weather(present, out)
    elif feed == "weather_stations":
        _weather_stations(path, present, out)
    elif feed == "calendar" and "date" in present:
        _calendar(present, out)
    elif feed == "shipments":
        for flag in ("shares_shipment_figures",):
            if flag not in present:
                out[flag] = "false"
    elif feed == "emission_factors":
        out["mode"] = f"lower(trim({_q('mode')}::VARCHAR))" if "mode" in present else "NULL"
    elif feed == "inventory" and "on_order" not in present:
        out["on_order"] = "0"
    return out


def required_missing(feed: str, present: set[str]) -> list[str]:
    """Required canonical columns the file cannot supply (``one of a / b`` when it has none of a set)."""
    if feed == "shipments" and is_usaid(present):
        return []
    schema = SCHEMAS[feed]
    mapping = _mapping(feed, present)
    missing = [c.name for c in schema.columns if c.required and mapping.get(c.name) == "NULL"]
    if schema.one_of and all(mapping.get(c) == "NULL" for c in schema.one_of):
        missing.append("one of " + " / ".join(schema.one_of))
    return missing


def source_sql(feed: str, path: Path, present: set[str], rejects: str | None = None) -> str:
    """SELECT of canonical (untyped) columns plus ``_file`` from one file; parameters: ``[path, path]``."""
    reader = reader_sql(path, rejects)
    if feed == "shipments" and is_usaid(present):
        return _usaid_sql(reader, present)
    cols = ", ".join(f"{expr} AS {_q(name)}" for name, expr in _mapping(feed, present, path).items())
    return f"SELECT {cols}, ?::VARCHAR AS _file FROM {reader}"


def _usaid_sql(reader: str, present: set[str]) -> str:
    # Weight and freight belong to the whole shipment; a "See ASN-x (ID#:n)" cell points to row n.
    opt = lambda c: _q(c) if c in present else "NULL"  # noqa: E731
    return f"""
        WITH src AS (SELECT * FROM {reader}),
        parsed AS (
            SELECT "ID" AS shipment_id, trim("Vendor"::VARCHAR) AS vendor, trim({opt('Country')}::VARCHAR) AS country,
                   trim({opt('Shipment Mode')}::VARCHAR) AS shipment_mode, {opt('Fulfill Via')} AS fulfill_via,
                   {opt('Vendor INCO Term')} AS inco_term, {opt('Product Group')} AS product_group,
                   {opt('Molecule/Test Type')} AS molecule,
                   try_strptime({opt('PO Sent to Vendor Date')}::VARCHAR, '%m/%d/%y')::DATE AS po_sent_date,
                   "Scheduled Delivery Date" AS scheduled_date, "Delivered to Client Date" AS delivered_date,
                   {opt('Line Item Quantity')} AS line_quantity, {opt('Line Item Value')} AS line_value_usd,
                   {opt('Unit Price')} AS unit_price_usd,
                   {opt('Weight (Kilograms)')}::VARCHAR AS weight_raw, {opt('Freight Cost (USD)')}::VARCHAR AS freight_raw
            FROM src
        ),
        resolved AS (
            SELECT p.*, try_cast(regexp_extract(p.weight_raw, 'ID#:(\\d+)', 1) AS INTEGER) AS weight_ref,
                   try_cast(regexp_extract(p.freight_raw, 'ID#:(\\d+)', 1) AS INTEGER) AS freight_ref
            FROM parsed p
        )
        SELECT r.* EXCLUDE (weight_raw, freight_raw, weight_ref, freight_ref),
               coalesce(try_cast(r.weight_raw AS DOUBLE), try_cast(w.weight_raw AS DOUBLE)) AS weight_kg,
               coalesce(try_cast(r.freight_raw AS DOUBLE), try_cast(f.freight_raw AS DOUBLE)) AS freight_usd,
               (r.weight_ref IS NOT NULL OR r.freight_ref IS NOT NULL) AS shares_shipment_figures,
               CASE WHEN try_cast(r.weight_raw AS DOUBLE) IS NULL THEN r.weight_raw END AS weight_note,
               CASE WHEN try_cast(r.freight_raw AS DOUBLE) IS NULL THEN r.freight_raw END AS freight_note,
               ?::VARCHAR AS _file
        FROM resolved r
        LEFT JOIN (SELECT DISTINCT ON (try_cast(shipment_id AS INTEGER)) try_cast(shipment_id AS INTEGER) AS id, weight_raw
                   FROM parsed) w ON w.id = r.weight_ref
        LEFT JOIN (SELECT DISTINCT ON (try_cast(shipment_id AS INTEGER)) try_cast(shipment_id AS INTEGER) AS id, freight_raw
                   FROM parsed) f ON f.id = r.freight_ref
    """
