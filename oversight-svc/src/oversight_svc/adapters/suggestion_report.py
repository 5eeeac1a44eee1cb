"""The report's process-improvement section (改进建议): per department, the suggestions raised in the period that
are open, overdue, answered, adopted. Its own module so that the report's layout can change around it."""

from __future__ import annotations

import html
from typing import Any

from bancheng_shared.spreadsheet import safe_cell

COLUMNS = (("department", "部门代码"), ("name", "部门"), ("raised", "提出"), ("open", "未答复"),
           ("overdue", "逾期未答复"), ("answered", "已答复"), ("answered_late", "逾期答复"), ("adopted", "采纳"),
           ("not_adopted", "不予采纳"), ("adoption_rate", "采纳率"))


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v * 100:.1f}%"
    return str(v)


def html_section(data: dict[str, Any]) -> str:
    """The section of the HTML report (empty text when the data has no suggestion figures)."""
    figures = data.get("suggestions")
    if not figures:
        return ""
    e, t = html.escape, figures["totals"]
    out = ["<h2>改进建议</h2>",
           f"<p>本期提出改进建议 {t['raised']} 条，已答复 {t['answered']} 条（采纳 {t['adopted']} 条），未答复 "
           f"{t['open']} 条，其中逾期 {t['overdue']} 条。</p>"]
    rows = figures["by_department"]
    if rows:
        out.append("<table><tr>" + "".join(f"<th>{e(label)}</th>" for _, label in COLUMNS) + "</tr>")
        out.extend("<tr>" + "".join(f"<td>{e(_cell(r.get(k)))}</td>" for k, _ in COLUMNS) + "</tr>" for r in rows)
        out.append("</table>")
    return "".join(out)


def xlsx_sheet(wb: Any, data: dict[str, Any]) -> None:
    """The sheet 'suggestions 改进建议' of the XLSX report (a write-only workbook), when the data has figures."""
    figures = data.get("suggestions")
    if not figures:
        return
    ws = wb.create_sheet("suggestions 改进建议")
    ws.append([label for _, label in COLUMNS])
    for r in figures["by_department"]:
        ws.append([safe_cell(r.get(k)) for k, _ in COLUMNS])
    ws.append(["合计", None, *(figures["totals"].get(k) for k, _ in COLUMNS[2:])])
