"""The canonical feed layout: one folder per feed, CSV or Parquet files, typed columns and keys.

Declared as data so that the loader types and checks every column from it and the README
table is written from the same source. Units: money in US dollars, weights in kilograms,
temperatures in degrees Fahrenheit, precipitation and snow in inches (NOAA's units; a source in
degrees Celsius and millimetres is converted when it is written into the layout, see
``warehouse.convert``).

POS is the only required feed of a retailer's own data; prices, calendar, events, promotions and
weather are optional (an absent feed loads as an empty table). Feeds that describe days ahead
(calendar, events, promotions, weather) may hold rows dated after the last POS day: they are the
known future (a weather forecast, planned promotions, holidays).

Years of earlier POS go to ``pos_history/``: loaded in bulk into ``raw_pos_history`` rather than
as one Dagster partition per day (``pos/`` holds the daily drops, the partitions); ``demand_history``
joins both, ``pos/`` winning a day both hold. Beside an M5 folder two more folders are read by
convention: ``m5_history/`` (earlier ``sales_*.parquet`` of the same series, same long layout: the
M5 folder's ``pos_history``) and ``weather_ghcn/`` (``daily.parquet`` per GHCN station and
``m5_store_station.csv``, the store -> station map; M5 store locations are anonymised to their state,
so each station is a *proxy* for its stores).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["Column", "FeedSchema", "SCHEMAS", "FEED_FOLDERS", "REQUIRED_FEEDS", "HISTORY_FOLDER", "GHCN_FOLDER",
           "GHCN_PROXY_MAP", "FUTURE_END", "layout_markdown"]

HISTORY_FOLDER = "m5_history"  # beside an M5 folder: earlier history of the same series
GHCN_FOLDER = "weather_ghcn"  # beside an M5 folder: GHCN-Daily weather + store -> station map
GHCN_PROXY_MAP = "m5_store_station.csv"  # its map: a state's station stands in for each store of the state
FUTURE_END = dt.date(2100, 1, 1)  # last date a feed of planned / forecast days may carry


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Attributes:
        name: canonical name.
        type: DuckDB type the loader casts to; a value that does not cast is quarantined.
        unit: unit of measure, or ``""``.
        required: the file must have it (otherwise the column is NULL / its default).
        min_value / max_value: plausible range; a value outside is quarantined.
        description: what it means.
    """

    name: str
    type: str
    description: str
    unit: str = ""
    required: bool = True
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False


@dataclass(frozen=True)
class FeedSchema:
    """A feed: its folder, table, columns and key.

    Attributes:
        one_of: columns of which every file, and every row, must carry at least one (e.g. a
            price keyed by ``wm_yr_wk``, ``week_start`` or ``valid_from``).
        future_ok: rows may be dated after today (up to :data:`FUTURE_END`): planned or forecast
            days (calendar, events, promotions, weather); other feeds quarantine them.
    """

    feed: str
    folder: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str
    optional_feed: bool = False
    date_column: str | None = None
    extra: tuple[str, ...] = field(default=())
    # earliest plausible date: before the oldest public Walmart data (2010-02-05)
    window_start: dt.date = dt.date(2010, 1, 1)
    one_of: tuple[str, ...] = field(default=())
    future_ok: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str, description: str, **kw: object) -> Column:
    return Column(name, type_, description, **kw)  # type: ignore[arg-type]


# the daily drops (pos/) and the bulk history (pos_history/) share their columns
_POS_COLUMNS: tuple[Column, ...] = (
    _c("store_id", "VARCHAR", "store code, e.g. CA_1"),
    _c("item_id", "VARCHAR", "item code, e.g. FOODS_3_090"),
    _c("date", "DATE", "sales day (ISO YYYY-MM-DD)"),
    _c("units", "INTEGER", "units sold that day", unit="units", min_value=0, max_value=1_000_000),
    _c("dept_id", "VARCHAR", "department (default: item_id without its last _part)", required=False),
    _c("cat_id", "VARCHAR", "category (default: item_id's first _part)", required=False),
    _c("state_id", "VARCHAR", "state (default: store_id's first _part)", required=False),
)

SCHEMAS: dict[str, FeedSchema] = {
    "pos": FeedSchema(
        "pos", "pos", "raw_pos",
        _POS_COLUMNS,
        ("store_id", "item_id", "date"),
        "Daily point-of-sale units per store x item; one Dagster partition per day.",
        date_column="date",
    ),
    "pos_history": FeedSchema(
        "pos_history", "pos_history", "raw_pos_history",
        _POS_COLUMNS,
        ("store_id", "item_id", "date"),
        "Earlier daily POS (years of history), loaded in bulk, not per day partition; a day pos/ also holds is "
        "taken from pos/. Beside an M5 folder: m5_history/sales_*.parquet.",
        optional_feed=True,
        date_column="date",
    ),
    "prices": FeedSchema(
        "prices", "prices", "raw_prices",
        (
            _c("store_id", "VARCHAR", "store code"),
            _c("item_id", "VARCHAR", "item code"),
            _c("wm_yr_wk", "INTEGER", "Walmart week id (M5), mapped to days through the calendar", required=False),
            _c("week_start", "DATE", "first day of the price week (the price holds 7 days)", required=False),
            _c("valid_from", "DATE", "first day the price holds", required=False),
            _c("valid_to", "DATE", "last day the price holds (empty: until the next valid_from)", required=False),
            _c("sell_price", "DOUBLE", "shelf price", unit="USD", min_value=0, strict_min=True, max_value=10_000),
        ),
        ("store_id", "item_id", "wm_yr_wk", "week_start", "valid_from"),
        "Shelf price per store x item, keyed by a Walmart week, a week start or a validity range "
        "(one of wm_yr_wk, week_start, valid_from per row).",
        optional_feed=True,
        one_of=("wm_yr_wk", "week_start", "valid_from"),
        future_ok=True,
    ),
    "calendar": FeedSchema(
        "calendar", "calendar", "raw_calendar",
        (
            _c("date", "DATE", "day"),
            _c("wm_yr_wk", "INTEGER", "week id (default: the week's Saturday as YYYYMMDD, Walmart weeks start "
                                      "on Saturday)", required=False),
            _c("weekday", "VARCHAR", "day name (default: from date)", required=False),
            _c("wday", "INTEGER", "day of the Walmart week, 1 = Saturday (default: from date)", required=False,
               min_value=1, max_value=7),
            _c("month", "INTEGER", "month (default: from date)", required=False, min_value=1, max_value=12),
            _c("year", "INTEGER", "year (default: from date)", required=False, min_value=1990, max_value=2100),
            _c("d", "VARCHAR", "M5 day id (d_1...)", required=False),
            _c("event_name_1", "VARCHAR", "event", required=False),
            _c("event_type_1", "VARCHAR", "event type", required=False),
            _c("event_name_2", "VARCHAR", "second event", required=False),
            _c("event_type_2", "VARCHAR", "second event type", required=False),
            _c("snap_CA", "INTEGER", "SNAP day in California (0/1)", required=False, min_value=0, max_value=1),
            _c("snap_TX", "INTEGER", "SNAP day in Texas (0/1)", required=False, min_value=0, max_value=1),
            _c("snap_WI", "INTEGER", "SNAP day in Wisconsin (0/1)", required=False, min_value=0, max_value=1),
        ),
        ("date",),
        "Retail calendar: weeks, events for every store, SNAP days; runs into the future (planned events).",
        optional_feed=True,
        date_column="date",
        future_ok=True,
    ),
    "events": FeedSchema(
        "events", "events", "raw_events",
        (
            _c("date", "DATE", "day of the event"),
            _c("event_name", "VARCHAR", "event, e.g. Public holiday, School holiday, Easter"),
            _c("event_type", "VARCHAR", "event type, e.g. Holiday, School, Sporting", required=False),
            _c("store_id", "VARCHAR", "store the event applies to (empty: every store)", required=False),
        ),
        ("date", "store_id", "event_name"),
        "Holidays and events per day, for every store or for one store (regional holidays); future rows "
        "are planned events.",
        optional_feed=True,
        date_column="date",
        future_ok=True,
    ),
    "promotions": FeedSchema(
        "promotions", "promotions", "raw_promotions",
        (
            _c("store_id", "VARCHAR", "store code"),
            _c("item_id", "VARCHAR", "item code"),
            _c("date", "DATE", "day"),
            _c("on_promotion", "INTEGER", "item on promotion that day (0/1)", min_value=0, max_value=1),
            _c("discount_pct", "DOUBLE", "price reduction", unit="%", required=False, min_value=0, max_value=100),
        ),
        ("store_id", "item_id", "date"),
        "Promotions per store x item x day; a day without a row has no promotion; future rows are planned.",
        optional_feed=True,
        date_column="date",
        future_ok=True,
    ),
    "weather": FeedSchema(
        "weather", "weather", "raw_weather",
        (
            _c("station", "VARCHAR", "weather station id (joins weather_stations/); or give store_id",
               required=False),
            _c("store_id", "VARCHAR", "store whose own weather this is; or give station", required=False),
            _c("date", "DATE", "day; rows after the last POS date are a weather forecast"),
            _c("tmax_f", "DOUBLE", "maximum temperature", unit="degF", required=False, min_value=-80, max_value=135),
            _c("tmin_f", "DOUBLE", "minimum temperature", unit="degF", required=False, min_value=-80, max_value=135),
            _c("tavg_f", "DOUBLE", "average temperature", unit="degF", required=False, min_value=-80, max_value=135),
            _c("prcp_in", "DOUBLE", "precipitation (NOAA 'T' trace -> 0 + prcp_in_trace, 'M' -> NULL)", unit="inch",
               required=False, min_value=0, max_value=30),
            _c("snow_in", "DOUBLE", "snowfall", unit="inch", required=False, min_value=0, max_value=60),
            _c("snwd_in", "DOUBLE", "snow depth", unit="inch", required=False, min_value=0, max_value=300),
            _c("codesum", "VARCHAR", "NOAA weather codes (RA, SN, TS...)", required=False),
            _c("prcp_in_trace", "BOOLEAN", "a trace of precipitation (recorded as 0)", required=False),
            _c("snow_in_trace", "BOOLEAN", "a trace of snow (recorded as 0)", required=False),
        ),
        ("station", "store_id", "date"),
        "Daily weather per station (with weather_stations/) or per store: GHCN-Daily, NOAA daily summaries "
        "(station_nbr, tmax, preciptotal...) or canonical; rows after the last POS date are a forecast.",
        optional_feed=True,
        date_column="date",
        extra=("depart", "dewpoint", "wetbulb", "heat", "cool", "stnpressure", "sealevel", "resultspeed",
               "resultdir", "avgspeed"),
        one_of=("station", "store_id"),
        future_ok=True,
    ),
    "weather_stations": FeedSchema(
        "weather_stations", "weather_stations", "raw_weather_key",
        (
            _c("store_id", "VARCHAR", "store code (NOAA key: store_nbr)"),
            _c("station", "VARCHAR", "station whose weather the store sees (NOAA key: station_nbr)"),
            _c("proxy", "BOOLEAN", "the station stands in for a store whose location is not known (e.g. the "
                                   "state's station for an anonymised M5 store)", required=False),
        ),
        ("store_id",),
        "Store -> weather station map; not needed when the weather is keyed by store_id.",
        optional_feed=True,
    ),
    "shipments": FeedSchema(
        "shipments", "shipments", "raw_shipments",
        (
            _c("shipment_id", "INTEGER", "shipment line id"),
            _c("vendor", "VARCHAR", "vendor name (joins the supplier catalogue)"),
            _c("country", "VARCHAR", "destination country", required=False),
            _c("shipment_mode", "VARCHAR", "Air, Air Charter, Truck, Ocean or N/A", required=False),
            _c("fulfill_via", "VARCHAR", "Direct Drop / From RDC", required=False),
            _c("inco_term", "VARCHAR", "vendor INCO term", required=False),
            _c("product_group", "VARCHAR", "product group", required=False),
            _c("molecule", "VARCHAR", "product / molecule", required=False),
            _c("po_sent_date", "DATE", "purchase order sent to vendor", required=False),
            _c("scheduled_date", "DATE", "scheduled delivery"),
            _c("delivered_date", "DATE", "delivered to client"),
            _c("line_quantity", "BIGINT", "units on the line", unit="units", required=False, min_value=0),
            _c("line_value_usd", "DOUBLE", "line value", unit="USD", required=False, min_value=0),
            _c("unit_price_usd", "DOUBLE", "unit price", unit="USD", required=False, min_value=0),
            _c("weight_kg", "DOUBLE", "shipment weight", unit="kg", required=False, min_value=0,
               max_value=1_000_000),
            _c("freight_usd", "DOUBLE", "shipment freight cost", unit="USD", required=False, min_value=0,
               max_value=10_000_000),
            _c("shares_shipment_figures", "BOOLEAN", "weight/freight taken from another line of the shipment",
               required=False),
            _c("weight_note", "VARCHAR", "original text when weight is not a number", required=False),
            _c("freight_note", "VARCHAR", "original text when freight is not a number", required=False),
        ),
        ("shipment_id",),
        "Shipment lines with real scheduled vs delivered dates, weights and freight.",
        window_start=dt.date(2000, 1, 1),  # USAID SCMS lines start in 2006
    ),
    "suppliers": FeedSchema(
        "suppliers", "suppliers", "raw_suppliers",
        (
            _c("vendor", "VARCHAR", "vendor name as written in shipments"),
            _c("supplier_id", "VARCHAR", "supplier code", required=False),
            _c("country", "VARCHAR", "vendor country", required=False),
        ),
        ("vendor",),
        "Supplier catalogue / approved vendor list; a shipment from a vendor not listed fails a gate.",
        optional_feed=True,
    ),
    "inventory": FeedSchema(
        "inventory", "inventory", "raw_inventory",
        (
            _c("store_id", "VARCHAR", "store code"),
            _c("item_id", "VARCHAR", "item code"),
            _c("as_of", "DATE", "stock count date"),
            _c("on_hand", "INTEGER", "units on hand", unit="units", min_value=0, max_value=10_000_000),
            _c("on_order", "INTEGER", "units ordered, not yet received", unit="units", required=False,
               min_value=0, max_value=10_000_000),
        ),
        ("store_id", "item_id", "as_of"),
        "Stock on hand per store x item (no public source: absent unless you provide it).",
        optional_feed=True,
    ),
    "emission_factors": FeedSchema(
        "emission_factors", "emission_factors", "raw_emission_factors",
        (
            _c("mode", "VARCHAR", "road, sea, air (lower case)"),
            _c("g_co2e_per_tonne_km", "DOUBLE", "well-to-wheel emission factor", unit="g CO2e / t-km",
               min_value=0, strict_min=True, max_value=5_000),
            _c("source", "VARCHAR", "publication", required=False),
            _c("source_table", "VARCHAR", "table in the publication", required=False),
        ),
        ("mode",),
        "Freight emission factors by mode.",
    ),
}

FEED_FOLDERS: tuple[str, ...] = tuple(s.folder for s in SCHEMAS.values())
# a retailer's own data needs POS only; the logistics reference feeds are taken from the sample
# when a canonical folder lacks them
REQUIRED_FEEDS: tuple[str, ...] = ("pos",)


def layout_markdown() -> str:
    """The canonical layout as a markdown table (the README's "Feed layout" section is made from it)."""
    lines = ["| folder | table | column | type | unit | required | range |", "|---|---|---|---|---|---|---|"]
    for s in SCHEMAS.values():
        folder = f"`{s.folder}/`" + (" (optional feed)" if s.optional_feed else "")
        for c in s.columns:
            rng = ""
            if c.min_value is not None or c.max_value is not None:
                lo = "" if c.min_value is None else (f"> {c.min_value:g}" if c.strict_min else f">= {c.min_value:g}")
                hi = "" if c.max_value is None else f"<= {c.max_value:g}"
                rng = ", ".join(x for x in (lo, hi) if x)
            key = " (key)" if c.name in s.key else ""
            required = ("one of " + ", ".join(s.one_of)) if c.name in s.one_of else ("yes" if c.required else "no")
            lines.append(f"| {folder} | `{s.table}` | `{c.name}`{key} | {c.type} | {c.unit} | {required} | {rng} |")
    return "\n".join(lines)
