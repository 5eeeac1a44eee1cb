"""Report files never carry a live formula: text from the public (ticket titles), from triage (unit names) or from
inspectors is data in the XLSX and the CSV, whatever it starts with (formula injection)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from oversight_svc.adapters import report_files
from oversight_svc.domain import rates
from oversight_svc.domain.metrics import ROW_KEYS

# what a spreadsheet program would run: =, +, -, @ and the full-width ＝ (Excel, WPS and LibreOffice read it too)
FORMULAS = ['=HYPERLINK("http://evil.example/x","点此查看")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1+1)*cmd|'/c calc'!A0", "＝HYPERLINK(\"http://evil.example\")"]


def report_data() -> dict[str, Any]:
    """A report's data whose every text field starts like a formula."""
    f = FORMULAS
    rows = [tuple({"unit": f[i % 5], "name": f[(i + 1) % 5], "region_code": f[(i + 2) % 5], "level": 2}.get(k, 5)
                  for k in ROW_KEYS) for i in range(5)]
    policy = rates.RatePolicy(ranking_min_sample=1)
    ov = rates.overview(rows, policy, start=date(2025, 3, 1), end=date(2025, 3, 31), region=f[3], received_tickets=5,
                        red_track={"red_tickets_investigated": 0, "problems_solved": 0, "cases_concluded": 0,
                                   "people_held_accountable": 0, "accountability_measures": {}})
    due = datetime(2025, 3, 10, tzinfo=UTC)
    overdue = [{"ticket_no": f[i], "round": 1, "unit": f[(i + 1) % 5], "region_code": f[(i + 2) % 5],
                "title": f[i], "resolve_due": due, "resolved_at": None, "status": f[(i + 3) % 5]} for i in range(5)]
    hotspots = [{"hotspot_id": f[i], "kind": f[i], "category": f[(i + 1) % 5], "places": [f[0]], "ticket_nos": f,
                 "title": f[i]} for i in range(5)]
    return {"period": "month", "from": date(2025, 3, 1), "to": date(2025, 3, 31), "region": f[3],
            "generated_at": due, "overview": ov, "units": rates.unit_rows(rows, policy), "overdue": overdue,
            "hotspots": hotspots}


def test_xlsx_cells_are_text_never_formulas() -> None:
    wb = load_workbook(io.BytesIO(report_files.to_xlsx(report_data())))
    seen: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str) and cell.value.lstrip("'").startswith(tuple(f[0] for f in FORMULAS)):
                    assert cell.data_type == "s" and cell.value.startswith("'"), (ws.title, cell.coordinate)
                    seen.setdefault(ws.title, set()).add(cell.value[1])
    # the overdue sheet (ticket titles from the public) and the unit table hold every kind of start
    for sheet in ("overdue 逾期", "units 单位", "rankings 排名", "hotspots 热点"):
        assert seen.get(sheet) == {"=", "+", "-", "@", "＝"}, (sheet, seen.get(sheet))
    od = wb["overdue 逾期"]
    titles = [r[4].value for r in od.iter_rows(min_row=2)]
    assert titles == ["'" + f for f in FORMULAS]


def test_csv_cells_are_text_never_formulas() -> None:
    rows = list(csv.reader(io.StringIO(report_files.to_csv(report_data()))))
    units = [r[0] for r in rows[1:]]
    assert units == ["'" + f for f in FORMULAS]
    assert all(not c.startswith(("=", "+", "-", "@", "＝")) for r in rows[1:] for c in r)


@pytest.mark.parametrize("value", ["normal 正常", "", "3.5%", "a=b"])
def test_plain_text_is_unchanged(value: str) -> None:
    data = report_data()
    data["overdue"][0]["title"] = value
    wb = load_workbook(io.BytesIO(report_files.to_xlsx(data)))
    assert (wb["overdue 逾期"]["E2"].value or "") == value
