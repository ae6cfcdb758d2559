"""The 办结率 report and its cases as an Excel workbook (openpyxl).

Three sheets: the summary with one row per month, the categories, and every
case received in the range. ``labels`` carries the headers in the reader's
language (the view translates them); values are written as numbers and
dates, not text, so an office can sum and filter them; text starting with "="
stays text (``excel_export.text_cells``).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..errors import ValidationFailed
from ..storage import Storage
from .community_time import community_zone, utc_bound
from .excel_export import MAX_ROWS, TOO_MANY_ROWS, case_rows, text_cells


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list[Any]],
           *, first: bool = False) -> None:
    ws = wb.active if first else wb.create_sheet()
    ws.title = title[:31]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(text_cells(ws, row))   # titles and resolutions are typed by residents
    for index, name in enumerate(header, 1):
        ws.column_dimensions[get_column_letter(index)].width = max(10, min(40, 2 * len(name)))
    ws.freeze_panes = "A2"


def workbook(store: Storage, page: dict, labels: dict[str, Any]) -> bytes:
    report, series = page["report"], page["series"]
    wb = Workbook()
    rate = labels["columns"]
    rows = [[s["month"], s["received"], s["closed"], s["cancelled"], s["open"], s["overdue"],
             s["closure_rate_bp"] / 10000, s["satisfaction_bp"] / 10000,
             s["median_hours_to_close"]] for s in series]
    rows.append([labels["total"], report["received"], report["closed"], report["cancelled"],
                 report["open"], report["overdue"], report["closure_rate_bp"] / 10000,
                 report["satisfaction_bp"] / 10000, report["median_hours_to_close"]])
    _sheet(wb, labels["summary"], rate, rows, first=True)
    for row in wb.active.iter_rows(min_row=2, min_col=7, max_col=8):
        for cell in row:
            cell.number_format = "0.00%"
    names = page["categories"]
    _sheet(wb, labels["by_category"], labels["category_columns"],
           [[names.get(k, k), v["received"], v["closed"]]
            for k, v in report["by_category"].items()])
    grid = store.directory.grid(report["grid"])
    grids = None if grid is None or grid["parent"] is None else \
        sorted(store.directory.descendants([report["grid"]]))
    tz = community_zone(store)
    start = utc_bound(dt.date.fromisoformat(report["from"]), tz)
    end = utc_bound(dt.date.fromisoformat(report["to"]), tz)
    ids = store.cases.received(community=grid["community"] if grid else "", grids=grids,
                               start=start, end=end, limit=MAX_ROWS + 1)
    if len(ids) > MAX_ROWS:
        raise ValidationFailed(fields={"from": [TOO_MANY_ROWS]})
    rows = list(case_rows(store, ids, labels, tz))
    _sheet(wb, labels["cases"], labels["case_columns"], rows)
    for column in ("J", "K", "L", "M"):
        for cell in wb[labels["cases"][:31]][column][1:]:
            cell.number_format = "yyyy-mm-dd hh:mm"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
