"""The yearly assessment as a CSV (UTF-8 with BOM) or XLSX file with Chinese headers: one row per unit, ranked units
first, each measure's value, points and explanation."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from bancheng_shared.spreadsheet import safe_cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def header(data: dict[str, Any]) -> list[str]:
    """The Chinese column headers (a group of columns per measure and per deduction of the scheme)."""
    scheme = data["scheme"]
    cols = ["排名", "单位代码", "单位名称", "区划代码", "总分", "指标得分", "扣分", "年度派单", "说明"]
    for u in (*data["ranked"], *data["not_ranked"])[:1]:
        for m in u["measures"]:
            cols += [f"{m['name']}（%）", f"{m['name']}得分（权重 {scheme['measures'][m['measure']]:g}）",
                     f"{m['name']}说明"]
        for d in u["deductions"]:
            cols += [f"{d['name']}次数", f"{d['name']}扣分"]
    return cols


def rows(data: dict[str, Any]) -> Iterator[list[Any]]:
    """Each unit's cells, ranked units first; text never starts a formula."""
    for u in (*data["ranked"], *data["not_ranked"]):
        cells: list[Any] = [u["rank"] if u["ranked"] else "不排名", u["unit"], u["name"], u["region_code"],
                            u["score"], u["rated_points"], u["deducted_points"], u["sample"], u["explanation"]]
        for m in u["measures"]:
            cells += ["" if m["value"] is None else round(m["value"] * 100, 1), m["points"], m["explanation"]]
        for d in u["deductions"]:
            cells += [d["count"], d["points"]]
        yield [safe_cell(c) for c in cells]


def render(data: dict[str, Any], fmt: str) -> tuple[bytes, str, dict[str, str]]:
    """(content, media type, headers) of the file in the asked format (csv or xlsx)."""
    stem = f"assessment-{data['year']}-v{data['scheme']['version']}"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header(data))
        w.writerows(rows(data))
        return (buf.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8",
                {"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{data['year']} 年度考核")
    title = f"{data['year']} 年度绩效考核（方案版本 {data['scheme']['version']}）"
    ws.append([title, safe_cell(data["scheme"]["reason"])])
    ws.append(header(data))
    for r in rows(data):
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), XLSX, {"Content-Disposition": f'attachment; filename="{stem}.xlsx"'}
