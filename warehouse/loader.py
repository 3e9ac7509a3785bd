"""Typed, quarantining, all-or-nothing loads of one feed into DuckDB.

A load reads every file of a feed, maps it to the canonical columns (``warehouse.adapters``),
casts each column to its canonical type and applies row rules (keys present, values cast,
finite, in range, dates in the expected window, keys unique). Rows that break a rule go to
``quarantine_<feed>`` with the reason, the source file and the load time; the others go to
the feed's ``raw_*`` table. Whole-file problems (missing, unreadable, empty, missing columns)
and a bad-row share above ``max_bad_share`` raise :class:`FeedError` before anything is written.
Writes happen in one transaction, so a failed or killed load leaves the warehouse as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse import adapters
from warehouse.db import row_count, table_exists, transaction
from warehouse.feeds import FeedError
from warehouse.layout import FUTURE_END, SCHEMAS, FeedSchema

__all__ = ["LoadReport", "load_feed", "load_absent_feed", "check_columns", "table_rows", "DEFAULT_MAX_BAD_SHARE",
           "WINDOW_START"]

DEFAULT_MAX_BAD_SHARE = 0.05
WINDOW_START = SCHEMAS["pos"].window_start


@dataclass
class LoadReport:
    """What a load did: rows read, loaded and quarantined, and why, per source file."""

    feed: str
    table: str
    files: tuple[str, ...]
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reasons: list[tuple[str, str, int]] = field(default_factory=list)  # (file, reason, rows)
    date_range: tuple[str, str] | None = None

    @property
    def bad_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    def reason_text(self, limit: int = 8) -> str:
        return "; ".join(f"{Path(f).name}: {reason} ({n:,} rows)" for f, reason, n in self.reasons[:limit])


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _describe(con: duckdb.DuckDBPyConnection, feed: str, path: Path) -> set[str]:
    if not path.is_file():
        raise FeedError(f"{feed}: file {path} not found")
    if path.stat().st_size == 0:
        raise FeedError(f"{feed}: file {path} is empty (0 bytes)")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {adapters.reader_sql(path)}", [str(path)]).fetchall()
    except (duckdb.Error, ValueError) as exc:
        raise FeedError(f"{feed}: cannot read {path}: {str(exc).splitlines()[0]}") from None  # DuckDB's text is in ours
    return {row[0] for row in described}


def check_columns(con: duckdb.DuckDBPyConnection, feed: str, path: Path) -> set[str]:
    """The file's columns; raises :class:`FeedError` naming the file when it is unreadable or lacks one."""
    present = _describe(con, feed, path)
    missing = adapters.required_missing(feed, present)
    if missing:
        hint = " (wrong delimiter? canonical CSV uses ',')" if len(present) == 1 else ""
        raise FeedError(f"{feed}: {path} lacks column(s) {', '.join(missing)}; found {sorted(present)}{hint}")
    return present


def _types(schema: FeedSchema, columns: Sequence[str]) -> dict[str, str]:
    known = {c.name: c.type for c in schema.columns}
    return {c: known.get(c, "BOOLEAN" if c.endswith("_trace") else "DOUBLE") for c in columns}


def _rules(schema: FeedSchema, types: dict[str, str], window_end: dt.date) -> list[tuple[str, str]]:
    """(condition, reason) pairs over ``r_<col>`` (raw) and ``<col>`` (typed) values."""
    rules: list[tuple[str, str]] = []
    by_name = {c.name: c for c in schema.columns}
    for name, type_ in types.items():
        col, raw = _q(name), _q(f"r_{name}")
        spec = by_name.get(name)
        if spec is not None and spec.required:  # an optional key column may be empty (events: every store)
            rules.append((f"{raw} IS NULL OR trim({raw}::VARCHAR) = ''", f"{name}: missing"))
        rules.append((f"{raw} IS NOT NULL AND {col} IS NULL AND trim({raw}::VARCHAR) <> ''", f"{name}: not {type_}"))
        if type_ in ("INTEGER", "BIGINT"):
            as_double = f"try_cast({raw} AS DOUBLE)"
            rules.append((f"isfinite({as_double}) AND {as_double} <> floor({as_double})", f"{name}: not a whole number"))
        if type_ == "DOUBLE":
            rules.append((f"NOT isfinite({col})", f"{name}: NaN or infinite"))
        if spec is not None and spec.min_value is not None:
            op = "<=" if spec.strict_min else "<"
            rules.append((f"{col} {op} {spec.min_value!r}",
                          f"{name}: below {'or at ' if spec.strict_min else ''}{spec.min_value:g}"))
        if spec is not None and spec.max_value is not None:
            rules.append((f"{col} > {spec.max_value!r}", f"{name}: above {spec.max_value:g}"))
        if type_ == "DATE":
            start = schema.window_start.isoformat()
            rules.append((f"{col} > DATE '{window_end.isoformat()}'", f"{name}: in the future"))
            rules.append((f"{col} < DATE '{start}'", f"{name}: before {start}"))
    present = [c for c in schema.one_of if c in types]
    if present:
        blank = " AND ".join(f"({_q('r_' + c)} IS NULL OR trim({_q('r_' + c)}::VARCHAR) = '')" for c in present)
        rules.append((blank, f"{' / '.join(schema.one_of)}: all missing"))
    if "valid_from" in types and "valid_to" in types:
        rules.append(('"valid_to" < "valid_from"', "valid_to: before valid_from"))
    return rules


def _reason_sql(rules: list[tuple[str, str]]) -> str:
    # the cheap OR of conditions guards the string building, which only bad rows pay for
    any_bad = " OR ".join(f"coalesce({cond}, false)" for cond, _ in rules)
    texts = ", ".join(f"CASE WHEN {cond} THEN '{text}' END" for cond, text in rules)
    return f"CASE WHEN {any_bad} THEN concat_ws('; ', {texts}) END"


def _stage(con: duckdb.DuckDBPyConnection, schema: FeedSchema, files: Sequence[Path], window_end: dt.date) -> list[str]:
    """Fill temp table ``_stage`` with typed rows, ``_reason`` and ``_raw``; return the data columns."""
    selects: list[str] = []
    params: list[str] = []
    rejects: list[str] = []
    reject_of: dict[str, str] = {}
    for i, path in enumerate(files):
        present = check_columns(con, schema.feed, path)
        rej = f"_rej_{i}" if path.suffix.lower() == ".csv" else None
        if rej:
            # a load that failed half-way may have left its rejects tables behind
            con.execute(f"DROP TABLE IF EXISTS {rej}")
            con.execute(f"DROP TABLE IF EXISTS {rej}_scan")
            rejects.append(rej)
            reject_of[str(path)] = rej
        selects.append(adapters.source_sql(schema.feed, path, present, rej))
        params += [str(path), str(path)]
    union = " UNION ALL BY NAME ".join(f"({s})" for s in selects)
    try:
        described = con.execute(f"DESCRIBE {union}", params).fetchall()
    except duckdb.Error as exc:
        raise FeedError(f"{schema.feed}: cannot read {', '.join(str(f) for f in files)}: "
                        f"{str(exc).splitlines()[0]}") from None  # DuckDB's text is in ours
    columns = [r[0] for r in described if r[0] != "_file"]
    types = _types(schema, columns)
    typed = ", ".join(f"try_cast({_q('r_' + c)} AS {t}) AS {_q(c)}" for c, t in types.items())
    raw = ", ".join(f"{_q(c)} AS {_q('r_' + c)}" for c in columns)
    pack = ", ".join(f"{_q(c)} := {_q('r_' + c)}::VARCHAR" for c in columns)
    con.execute("DROP TABLE IF EXISTS _stage")
    try:
        con.execute(f"""
            CREATE TEMP TABLE _stage AS
            WITH src AS ({union}),
            raw AS (SELECT _file, {raw} FROM src),
            typed AS (SELECT *, {typed} FROM raw),
            checked AS (SELECT *, {_reason_sql(_rules(schema, types, window_end))} AS _reason FROM typed)
            SELECT _file, {", ".join(_q(c) for c in columns)}, _reason,
                   CASE WHEN _reason IS NOT NULL THEN to_json(struct_pack({pack})) END AS _raw
            FROM checked
        """, params)
    except duckdb.Error as exc:
        raise FeedError(f"{schema.feed}: cannot read {', '.join(str(f) for f in files)}: "
                        f"{str(exc).splitlines()[0]}") from None  # DuckDB's text is in ours
    per_file = dict(con.execute("SELECT _file, count(*) FROM _stage GROUP BY 1").fetchall())
    for path in files:
        if not per_file.get(str(path)) and not _rejected(con, reject_of.get(str(path))):
            raise FeedError(f"{schema.feed}: {path} has no data rows (header only)")
    key = ", ".join(_q(k) for k in schema.key)
    # one sort of a single hash column finds candidate duplicates cheaply (6.8M M5 prices: 0.4 s,
    # a GROUP BY of the hashes 1.0-1.6 s); only the few candidates are then compared on the real key
    dup_hashes = con.execute(
        f"SELECT list(DISTINCT h) FROM (SELECT h, lag(h) OVER (ORDER BY h) AS before FROM "
        f"(SELECT hash({key}) AS h FROM _stage WHERE _reason IS NULL)) WHERE h = before"
    ).fetchall()[0][0]
    if dup_hashes:
        # every copy of a duplicated key is quarantined: which copy is right cannot be known
        con.execute(f"""
            UPDATE _stage SET _reason = 'duplicate key ({", ".join(schema.key)})',
                              _raw = to_json(struct_pack({", ".join(f"{_q(c)} := {_q(c)}::VARCHAR" for c in columns)}))
            WHERE _reason IS NULL AND list_contains(?, hash({key})) AND ({key}) IN (
                SELECT ({key}) FROM _stage WHERE _reason IS NULL AND list_contains(?, hash({key}))
                GROUP BY {key} HAVING count(*) > 1)
        """, [dup_hashes, dup_hashes])
    for rej, path in zip(rejects, [f for f in files if f.suffix.lower() == ".csv"], strict=True):
        con.execute(f"""
            INSERT INTO _stage (_file, _reason, _raw)
            SELECT ?, 'line ' || line || ': ' || lower(error_type) || coalesce(' in ' || column_name, ''),
                   to_json({{'csv_line': csv_line, 'error': error_message}})
            FROM {rej}
        """, [str(path)])
        con.execute(f"DROP TABLE IF EXISTS {rej}")
        con.execute(f"DROP TABLE IF EXISTS {rej}_scan")
    return columns


def _rejected(con: duckdb.DuckDBPyConnection, rejects: str | None) -> int:
    """Lines of one CSV that DuckDB could not parse (its rejects table), 0 when none."""
    if rejects is None:
        return 0
    try:
        return int(con.execute(f"SELECT count(*) FROM {rejects}").fetchall()[0][0])
    except duckdb.Error:  # no rejects table: nothing was rejected
        return 0


def load_feed(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    files: Sequence[Path],
    *,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
    date_range: tuple[dt.date, dt.date] | None = None,
    window_end: dt.date | None = None,
) -> LoadReport:
    """Load ``files`` of ``feed`` into its table and quarantine table, all or nothing.

    Args:
        con: a writable DuckDB connection.
        feed: a key of ``warehouse.layout.SCHEMAS``.
        files: the feed's files (CSV or Parquet, any mix of the recognised formats).
        max_bad_share: largest share of quarantined rows (0..1) that still loads.
        date_range: for a partitioned feed, the inclusive day range this load replaces; rows of
            other days are left to their own partitions. ``None`` replaces the whole table.
        window_end: last acceptable date (default today, UTC, or :data:`~warehouse.layout.FUTURE_END`
            for a feed of planned / forecast days); later dates are quarantined.

    Returns:
        The load report.

    Raises:
        FeedError: a file is missing/unreadable/empty, lacks a column, or too many rows are bad;
            the message names the file, the column and the row count. Nothing is written then.
    """
    schema = SCHEMAS[feed]
    files = [Path(f) for f in files]
    if not files:
        raise FeedError(f"{feed}: no files found in the feed folder '{schema.folder}/'")
    window_end = window_end or (FUTURE_END if schema.future_ok else dt.datetime.now(dt.UTC).date())
    columns = _stage(con, schema, files, window_end)
    report = LoadReport(feed, schema.table, tuple(str(f) for f in files))
    scope = "TRUE"
    if date_range is not None:
        dcol = _q(schema.date_column or "date")
        lo, hi = (d.isoformat() for d in date_range)
        # this partition's rows, plus rows no partition can own (bad or out-of-window dates)
        con.execute("ALTER TABLE _stage ADD COLUMN _in_scope BOOLEAN")
        con.execute(f"UPDATE _stage SET _in_scope = coalesce({dcol} BETWEEN ? AND ? OR {dcol} < ? OR {dcol} > ?, true)",
                    [lo, hi, schema.window_start, window_end])
        scope = "_in_scope"
        report.date_range = (lo, hi)
    counts = con.execute(f"SELECT count(*), count(*) FILTER (WHERE _reason IS NOT NULL) FROM _stage WHERE {scope}").fetchall()[0]
    report.rows_read, report.rows_quarantined = int(counts[0]), int(counts[1])
    report.rows_loaded = report.rows_read - report.rows_quarantined
    report.reasons = [
        (f, r, int(n)) for f, r, n in con.execute(
            f"SELECT _file, _reason, count(*) FROM _stage WHERE {scope} AND _reason IS NOT NULL "
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()
    ]
    if report.rows_loaded == 0:
        con.execute("DROP TABLE _stage")
        where = f" for {report.date_range[0]}..{report.date_range[1]}" if report.date_range else ""
        raise FeedError(f"{feed}: no valid rows{where} in {', '.join(report.files)}"
                        + (f"; {report.reason_text()}" if report.reasons else ""))
    if report.bad_share > max_bad_share:
        con.execute("DROP TABLE _stage")
        raise FeedError(
            f"{feed}: {report.rows_quarantined:,} of {report.rows_read:,} rows bad ({report.bad_share:.2%}), above "
            f"max_bad_share {max_bad_share:.2%}; nothing loaded: {report.reason_text()}"
        )
    _write(con, schema, columns, scope, date_range, window_end)
    con.execute("DROP TABLE _stage")
    return report


def _write(con: duckdb.DuckDBPyConnection, schema: FeedSchema, columns: list[str], scope: str,
           date_range: tuple[dt.date, dt.date] | None, window_end: dt.date) -> None:
    table, quarantine = schema.table, f"quarantine_{schema.feed}"
    cols = ", ".join(_q(c) for c in columns)
    good = f"SELECT {cols} FROM _stage WHERE _reason IS NULL AND {scope}"
    bad = (f"SELECT _file AS source_file, _reason AS reason, _raw AS raw_row, now()::TIMESTAMP AS loaded_at"
           f"{', ' + _q(schema.date_column) + ' AS date' if schema.date_column else ''} "
           f"FROM _stage WHERE _reason IS NOT NULL AND {scope}")
    with transaction(con):
        if date_range is None:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {good}")
            con.execute(f"CREATE OR REPLACE TABLE {quarantine} AS {bad}")
            return
        lo, hi = (d.isoformat() for d in date_range)
        dcol = _q(schema.date_column or "date")
        if not table_exists(con, table):
            con.execute(f"CREATE TABLE {table} AS {good} LIMIT 0")
        if not table_exists(con, quarantine):
            con.execute(f"CREATE TABLE {quarantine} AS {bad} LIMIT 0")
        files = [r[0] for r in con.execute("SELECT DISTINCT _file FROM _stage").fetchall()]
        con.execute(f"DELETE FROM {table} WHERE {dcol} BETWEEN ? AND ?", [lo, hi])
        con.execute(f"DELETE FROM {quarantine} WHERE date BETWEEN ? AND ? OR "
                    f"((date IS NULL OR date NOT BETWEEN ? AND ?) AND list_contains(?, source_file))",
                    [lo, hi, schema.window_start.isoformat(), window_end.isoformat(), files])
        con.execute(f"INSERT INTO {table} BY NAME {good}")
        con.execute(f"INSERT INTO {quarantine} BY NAME {bad}")


def load_absent_feed(con: duckdb.DuckDBPyConnection, feed: str) -> None:
    """An optional feed that was not provided: its table and quarantine table, empty, with the canonical columns.

    Downstream SQL then reads "no rows" (no prices, no promotions, no weather) instead of failing on
    a missing table, and a table left by an earlier run on other data does not linger.
    """
    schema = SCHEMAS[feed]
    cols = ", ".join(f"{_q(c.name)} {c.type}" for c in schema.columns)
    date = ", date DATE" if schema.date_column else ""
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {schema.table} ({cols})")
        con.execute(f"CREATE OR REPLACE TABLE quarantine_{feed} (source_file VARCHAR, reason VARCHAR, raw_row JSON, "
                    f"loaded_at TIMESTAMP{date})")


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return row_count(con, table) if table_exists(con, table) else 0
