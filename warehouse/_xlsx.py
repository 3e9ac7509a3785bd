"""A one-sheet XLSX package written from whole columns.

XlsxWriter formats each cell through Python calls, which made the workbook the slowest part of
the full-M5 export; here every column's cells are built as one vectorised string operation and
the rows joined once (the comparison: ``python -m benchmarks.export``, docs/benchmarks.md). The
package holds only what the export needs: inline strings, numbers, booleans, three cell styles
(a bold filled header, a date and a date-time number format), column widths, frozen panes and an
auto-filter.
"""

from __future__ import annotations

import numbers
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

__all__ = ["DATE_FORMAT", "DATETIME_FORMAT", "write_sheet", "column_letter"]

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
HEADER_STYLE, DATE_STYLE, DATETIME_STYLE = 1, 2, 3
_STYLE_OF_FORMAT = {DATE_FORMAT: DATE_STYLE, DATETIME_FORMAT: DATETIME_STYLE}
_MAX_STRING = 32_767  # Excel's limit on the characters of one cell
# characters XML 1.0 forbids; Excel reads them back from the _xHHHH_ escape
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""

_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""

_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>\
<numFmt numFmtId="165" formatCode="{DATETIME_FORMAT}"/></numFmts>\
<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>\
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">\
<alignment horizontal="center"/></xf>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
<dxfs count="0"/><tableStyles count="0"/></styleSheet>"""


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column ``index`` (0 -> A, 26 -> AA)."""
    name, n = "", index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def write_sheet(
    path: Path,
    columns: Sequence[pd.Series],
    header: Sequence[str],
    *,
    sheet_name: str,
    widths: Sequence[int],
    number_formats: Sequence[str | None],
    frozen_columns: int = 0,
) -> None:
    """Write ``columns`` under ``header`` as the one sheet of the workbook at ``path``.

    Args:
        path: Target ``.xlsx`` file.
        columns: One series per column, all of the same length; datetime columns must already be
            Excel serial numbers (days since 1899-12-30) with their format in ``number_formats``.
        header: Column titles (bold, filled, centred; an auto-filter spans them and the data).
        sheet_name: Sheet title (at most 31 characters).
        widths: Column widths in characters.
        number_formats: Per column :data:`DATE_FORMAT`, :data:`DATETIME_FORMAT` or None.
        frozen_columns: Leading columns frozen beside the frozen header row.

    Raises:
        ValueError: On a sheet name Excel refuses, or an infinite number (Excel has none), naming
            the column and row.
    """
    _check_sheet_name(sheet_name)
    n_rows = len(columns[0]) if len(columns) else 0
    last = f"{column_letter(max(len(header), 1) - 1)}{n_rows + 1}"
    rows = np.arange(2, n_rows + 2).astype(str).astype(object)
    cells = [_cells(s, column_letter(j) + rows, _STYLE_OF_FORMAT.get(fmt), str(name))
             for j, (s, fmt, name) in enumerate(zip(columns, number_formats, header, strict=True))]
    head = "".join(f'<c r="{column_letter(j)}1" s="{HEADER_STYLE}" t="inlineStr">{_inline(str(name))}</c>'
                   for j, name in enumerate(header))
    body = [f'<row r="1">{head}</row>']
    if n_rows:
        matrix = np.stack(cells, axis=1).tolist()
        body.extend(f'<row r="{r}">{"".join(row)}</row>' for r, row in enumerate(matrix, start=2))
    sheet = "".join([
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">',
        f'<dimension ref="A1:{last}"/>', _sheet_views(frozen_columns), '<sheetFormatPr defaultRowHeight="15"/>',
        _cols(widths, number_formats), "<sheetData>", *body, "</sheetData>",
        f'<autoFilter ref="A1:{last}"/>',
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>',
    ])
    quoted = "'" + sheet_name.replace("'", "''") + "'"
    absolute = "$" + re.sub(r"(\d+)$", r"$\1", last)
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<bookViews><workbookView/></bookViews><sheets><sheet name="{escape(sheet_name, {chr(34): "&quot;"})}" '
        'sheetId="1" r:id="rId1"/></sheets><definedNames>'
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">{escape(quoted)}!$A$1:{absolute}'
        "</definedName></definedNames></workbook>"
    )
    # level 1: the sheet XML is large and repetitive; harder levels cost seconds for a few % of size
    parts = {"[Content_Types].xml": _CONTENT_TYPES, "_rels/.rels": _ROOT_RELS, "xl/workbook.xml": workbook,
             "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS, "xl/styles.xml": _STYLES, "xl/worksheets/sheet1.xml": sheet}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in parts.items():
            # a fixed time stamp: the same table gives the same bytes, so an unchanged export is recognised
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text, compresslevel=1)


def _check_sheet_name(name: str) -> None:
    """Excel's rules for a sheet name: 1-31 characters, none of ``[]:*?/\\``, no apostrophe at either end."""
    bad = sorted(set(_FORBIDDEN_IN_SHEET_NAME.findall(name)))
    if not name or len(name) > 31 or bad or name[0] == "'" or name[-1] == "'":
        raise ValueError(f"sheet name {name!r} is not one Excel accepts: 1-31 characters, none of [ ] : * ? / \\ "
                         f"and no apostrophe at either end" + (f" (has {' '.join(bad)})" if bad else ""))


def _sheet_views(frozen_columns: int) -> str:
    """The header row (and ``frozen_columns`` columns) frozen."""
    if frozen_columns:
        corner = f"{column_letter(frozen_columns)}2"
        pane = (f'<pane xSplit="{frozen_columns}" ySplit="1" topLeftCell="{corner}" activePane="bottomRight" '
                f'state="frozen"/><selection pane="topRight"/><selection pane="bottomLeft"/>'
                f'<selection pane="bottomRight" activeCell="{corner}" sqref="{corner}"/>')
    else:
        pane = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>')
    return f'<sheetViews><sheetView tabSelected="1" workbookViewId="0">{pane}</sheetView></sheetViews>'


def _cols(widths: Sequence[int], number_formats: Sequence[str | None]) -> str:
    """Column widths as Excel stores them (characters plus 5 pixels of padding, 7 pixels a character)."""
    out = []
    for j, (width, fmt) in enumerate(zip(widths, number_formats, strict=True), start=1):
        stored = (int(width * 7 + 0.5) + 5) / 7
        style = f' style="{_STYLE_OF_FORMAT[fmt]}"' if fmt in _STYLE_OF_FORMAT else ""
        out.append(f'<col min="{j}" max="{j}" width="{stored:.8g}"{style} customWidth="1"/>')
    return f"<cols>{''.join(out)}</cols>" if out else ""


def _inline(text: str) -> str:
    return f'<is><t xml:space="preserve">{_text(np.array([text], dtype=object))[0]}</t></is>'


def _cells(s: pd.Series, refs: np.ndarray, style: int | None, name: str) -> np.ndarray:
    """Each value of ``s`` as its ``<c>`` element ('' for an empty cell), as an object array."""
    s = s.reset_index(drop=True)
    styled = f' s="{style}"' if style else ""
    if pd.api.types.is_bool_dtype(s.dtype):
        return _blank_where(s.isna(), _bool_cells(refs, s.fillna(False).to_numpy(dtype=bool)))
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _blank_where(s.isna(), _number_cells(refs, _number_text(s, name), styled))
    return _mixed(s, refs, styled, name)


def _blank_where(empty: pd.Series | np.ndarray, cells: np.ndarray) -> np.ndarray:
    out = np.asarray(cells, dtype=object)
    out[np.asarray(empty, dtype=bool)] = ""
    return out


def _bool_cells(refs: np.ndarray, flags: np.ndarray) -> np.ndarray:
    return '<c r="' + refs + '" t="b"><v>' + np.where(flags, "1", "0").astype(object) + "</v></c>"


def _number_cells(refs: np.ndarray, text: np.ndarray, styled: str) -> np.ndarray:
    return '<c r="' + refs + f'"{styled}><v>' + text + "</v></c>"


def _number_text(s: pd.Series, name: str) -> np.ndarray:
    """Numbers as XML text: integers as integers, floats in their shortest round-trip form."""
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.fillna(0).astype(np.int64).astype(str).to_numpy(dtype=object)
    values = s.astype(np.float64)
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0]) + 2
        raise ValueError(f"column {name!r} holds {int(infinite.sum())} infinite value(s) (first on sheet row {row}): "
                         "a workbook cell cannot hold infinity")
    return values.astype(str).to_numpy(dtype=object)


def _mixed(s: pd.Series, refs: np.ndarray, styled: str, name: str) -> np.ndarray:
    """An object column cell by cell type, as XlsxWriter's ``write`` chose: text, number, boolean or empty."""
    values = s.to_numpy(dtype=object)
    empty = pd.isna(s).to_numpy()
    out = np.full(len(values), "", dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        is_bool = is_number = np.zeros(len(values), dtype=bool)
    else:
        is_bool = np.fromiter((isinstance(v, (bool, np.bool_)) for v in values), dtype=bool, count=len(values))
        is_number = np.fromiter((isinstance(v, numbers.Number) for v in values), dtype=bool, count=len(values))
        is_number &= ~is_bool & ~empty
    # an empty string is an empty cell, as XlsxWriter writes it
    text = ~(empty | is_bool | is_number) & (values != "")
    if text.any():
        out[text] = '<c r="' + refs[text] + '" t="inlineStr"><is><t xml:space="preserve">' + _text(values[text]) \
            + "</t></is></c>"
    if is_number.any():
        nums = _number_text(pd.Series(values[is_number].astype(np.float64)), name)
        out[is_number] = _number_cells(refs[is_number], nums, styled)
    if is_bool.any():
        out[is_bool] = _bool_cells(refs[is_bool], values[is_bool].astype(bool))
    return out


def _text(values: np.ndarray) -> np.ndarray:
    """Values as escaped cell text, cut to Excel's limit.

    The column is escaped as one joined string (three C-level replaces instead of three per
    cell); NUL, the joiner, cannot be left in the text: it is a control character, escaped first.
    """
    strings = [v if isinstance(v, str) else str(v) for v in values]
    if any(len(t) > _MAX_STRING for t in strings):
        strings = [t[:_MAX_STRING] for t in strings]
    if _CONTROL.search("\n".join(strings)):
        strings = [_CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", t) for t in strings]
    return np.array(escape("\x00".join(strings)).split("\x00"), dtype=object)
