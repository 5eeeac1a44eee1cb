"""Report files (week, month, quarter, year): HTML with inline SVG charts, XLSX, CSV, JSON.
Nothing is loaded from a CDN: charts are SVG drawn here, styles are inline. Every cell of the XLSX and the CSV goes
through `safe_cell`: a ticket title, a unit name or a hotspot's text that starts like a formula (=, +, -, @, ＝ …)
is written as text with a leading apostrophe, never as a formula the leaders' spreadsheet would run."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable
from typing import Any

import orjson

from bancheng_shared.spreadsheet import safe_cell
from oversight_svc.adapters import suggestion_report
from oversight_svc.domain.rates import RATE_DEFINITIONS

PERIOD_NAMES = {"week": "周报 weekly", "month": "月报 monthly", "quarter": "季报 quarterly", "year": "年报 yearly"}
UNIT_COLUMNS = ("unit", "name", "region_code", "dispatched", "signed_in_time", "resolved", "resolved_in_time",
                "overdue", "extended", "urged", "supervised", "visited", "visit_yes", "satisfied",
                "basically_satisfied", "redone", "accountability", "response_rate", "resolution_rate",
                "satisfaction_rate", "self_reported_resolution_rate", "claimed_denied_rate", "closes_without_solving")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def render(data: dict[str, Any], fmt: str) -> tuple[bytes, str, dict[str, str]]:
    """The report in the asked format: (content, media type, headers)."""
    stem = f"report-{data['period']}-{data['from']}-{data['region'] or 'all'}"
    if fmt == "json":
        return orjson.dumps(data, default=str), "application/json", {}
    if fmt == "csv":
        return (to_csv(data).encode("utf-8-sig"), "text/csv; charset=utf-8",
                {"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    if fmt == "xlsx":
        return to_xlsx(data), XLSX, {"Content-Disposition": f'attachment; filename="{stem}.xlsx"'}
    return to_html(data).encode(), "text/html; charset=utf-8", {}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是 yes" if v else ""
    if isinstance(v, float):
        return f"{v * 100:.1f}%"
    return str(v)


def _cells(values: Iterable[Any]) -> list[Any]:
    """A row's cells as a spreadsheet may hold them: text never starts a formula."""
    return [safe_cell(v) for v in values]


def to_csv(data: dict[str, Any]) -> str:
    """The unit table as CSV (UTF-8 with BOM so spreadsheet programs read Chinese)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(UNIT_COLUMNS)
    for r in data["units"]:
        w.writerow(_cells("" if r.get(c) is None else r.get(c) for c in UNIT_COLUMNS))
    return buf.getvalue()


def to_xlsx(data: dict[str, Any]) -> bytes:
    """Sheets: summary, units, rankings, overdue, hotspots."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    # write-only mode streams rows to the file: a city's 20,000-unit table in seconds, not tens of seconds
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("summary 概览")
    ov = data["overview"]
    title = WriteOnlyCell(ws, value="报告 report")
    title.font = Font(bold=True)
    ws.append([title, PERIOD_NAMES[data["period"]]])
    ws.append(["期间 period", str(data["from"]), str(data["to"])])
    ws.append(_cells(["区划 region", data["region"] or "全部 all"]))
    ws.append([])
    for k, v in ov["totals"].items():
        ws.append([k, v])
    ws.append([])
    for k, v in ov["red_track"].items():
        ws.append([k, str(v) if isinstance(v, dict) else v])
    ws.append([])
    for k, v in RATE_DEFINITIONS.items():
        ws.append([k, v])
    us = wb.create_sheet("units 单位")
    us.append(list(UNIT_COLUMNS))
    for r in data["units"]:
        us.append(_cells(r.get(c) for c in UNIT_COLUMNS))
    rk = wb.create_sheet("rankings 排名")
    for name, ranking in ov["rankings"].items():
        rk.append([name, f"min sample {ranking['min_sample']}", f"not ranked {ranking['not_ranked']}"])
        for side in ("best", "worst"):
            for i, r in enumerate(ranking[side], 1):
                rk.append(_cells([side, i, r["unit"], r.get("name"), r.get(name), r.get(list(r)[-1])]))
        rk.append([])
    od = wb.create_sheet("overdue 逾期")
    od.append(["ticket_no", "round", "unit", "region_code", "title", "resolve_due", "resolved_at", "status"])
    for r in data["overdue"]:
        od.append(_cells([r["ticket_no"], r["round"], r["unit"], r["region_code"], r["title"],
                          str(r["resolve_due"]), str(r["resolved_at"] or ""), r["status"]]))
    hs = wb.create_sheet("hotspots 热点")
    hs.append(["hotspot_id", "kind", "category", "places", "tickets", "ticket_nos"])
    for h in data["hotspots"]:
        hs.append(_cells([h["hotspot_id"], h["kind"], h["category"], len(h["places"]), len(h["ticket_nos"]),
                          ", ".join(h["ticket_nos"][:50])]))
    suggestion_report.xlsx_sheet(wb, data)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def bar_chart(title: str, bars: list[tuple[str, float | None]], *, width: int = 640, pct: bool = True) -> str:
    """A horizontal bar chart as inline SVG (values in [0, 1] when pct)."""
    e = html.escape
    row_h, left, top = 22, 200, 28
    h = top + row_h * max(1, len(bars)) + 10
    vmax = 1.0 if pct else max([v or 0 for _, v in bars] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" role="img" '
             f'aria-label="{e(title)}" style="font:12px sans-serif">',
             f'<text x="4" y="16" font-weight="bold">{e(title)}</text>']
    for i, (label, v) in enumerate(bars):
        y = top + i * row_h
        w = int((width - left - 70) * ((v or 0) / vmax))
        color = "#c0392b" if pct and v is not None and v < 0.8 else "#2e86c1"
        parts.append(f'<text x="4" y="{y + 14}">{e(label[:28])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w}" height="14" fill="{color}"/>')
        parts.append(f'<text x="{left + w + 4}" y="{y + 14}">{e(_fmt(v) if pct else str(int(v or 0)))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(data: dict[str, Any]) -> str:
    """A self-contained HTML report: figures, charts, best/worst units, flags, overdue list, hotspots."""
    e = html.escape
    ov = data["overview"]
    t = ov["totals"]
    title = (f"办成 Bancheng {PERIOD_NAMES[data['period']]} {data['from']} – {data['to']} · "
             f"{data['region'] or '全市 city'}")
    figures = [("收到 tickets received", t["tickets_received"]), ("派单 dispatched", t["dispatched"]),
               ("按时签收 signed in time", t["signed_in_time"]), ("退回 returned", t["returned"]),
               ("办结 resolved", t["resolved"]), ("按时办结 resolved in time", t["resolved_in_time"]),
               ("逾期 overdue", t["overdue"]), ("延期 extended", t["extended"]), ("催办 urged", t["urged"]),
               ("督办 supervised", t["supervised"]), ("回访 visited", t["visited"]), ("发回重办 redone", t["redone"]),
               ("问责 accountability", t["accountability"])]
    red = ov["red_track"]
    h = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{e(title)}</title>",
         "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}"
         "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f0f3f6}.flag{color:#c0392b}"
         ".kpi{display:inline-block;margin:6px 14px 6px 0}.kpi b{font-size:22px;display:block}</style></head><body>",
         f"<h1>{e(title)}</h1>",
         "<h2>三率 The three rates</h2>",
         "".join(f"<div class='kpi'><b>{_fmt(t[k])}</b>{e(lbl)}</div>" for k, lbl in (
             ("response_rate", "响应率 response"), ("resolution_rate", "解决率 resolution"),
             ("satisfaction_rate", "满意率 satisfaction"))),
         "<ul>" + "".join(f"<li>{e(v)}</li>" for v in RATE_DEFINITIONS.values()) + "</ul>",
         "<h2>数据 Figures</h2>", bar_chart("件数 counts", [(k, float(v)) for k, v in figures], pct=False),
         "<h2>红灯件 Red track</h2>",
         f"<p>调查处理红灯件 {red['red_tickets_investigated']} 件，推动解决问题 {red['problems_solved']} 个，"
         f"追责问责 {red['people_held_accountable']} 人。Red tickets investigated {red['red_tickets_investigated']}, "
         f"problems solved {red['problems_solved']}, people held accountable {red['people_held_accountable']}.</p>"]
    if ov["by_region"]:
        h.append(bar_chart("各区划满意率 satisfaction by region",
                           [(r["region_code"], r["satisfaction_rate"]) for r in ov["by_region"][:30]]))
        h.append(bar_chart("各区划响应率 response by region",
                           [(r["region_code"], r["response_rate"]) for r in ov["by_region"][:30]]))
    for name, ranking in ov["rankings"].items():
        h.append(f"<h3>{e(name)}（样本不少于 {ranking['min_sample']}；未排名 {ranking['not_ranked']} 个单位）</h3>")
        h.append("<table><tr><th>best</th><th>rate</th><th>worst</th><th>rate</th></tr>")
        for i in range(max(len(ranking["best"]), len(ranking["worst"]))):
            b = ranking["best"][i] if i < len(ranking["best"]) else None
            w = ranking["worst"][i] if i < len(ranking["worst"]) else None
            h.append("<tr>" + "".join(
                f"<td>{e((x.get('name') or x['unit']) if x else '')}</td><td>{_fmt(x.get(name)) if x else ''}</td>"
                for x in (b, w)) + "</tr>")
        h.append("</table>")
    h.append("<h2 class='flag'>办结未解决 Closes without solving</h2>")
    flagged = ov["closes_without_solving"]
    h.append("<table><tr><th>unit</th><th>自报解决率 self-reported</th><th>群众说已解决 resolution</th>"
             "<th>否认比例 denied</th></tr>" + "".join(
                 f"<tr><td>{e(r.get('name') or r['unit'])}</td><td>{_fmt(r['self_reported_resolution_rate'])}</td>"
                 f"<td>{_fmt(r['resolution_rate'])}</td><td class='flag'>{_fmt(r['claimed_denied_rate'])}</td></tr>"
                 for r in flagged) + "</table>" if flagged else "<p>无 none</p>")
    h.append(f"<h2>逾期 Overdue ({len(data['overdue'])})</h2><table><tr><th>ticket</th><th>unit</th>"
             "<th>due</th><th>status</th></tr>" + "".join(
                 f"<tr><td>{e(r['ticket_no'])}</td><td>{e(r['unit'] or '')}</td><td>{e(str(r['resolve_due']))}</td>"
                 f"<td>{e(r['status'] or '')}</td></tr>" for r in data["overdue"][:100]) + "</table>")
    h.append("<h2>热点 Hotspots</h2><table><tr><th>kind</th><th>places</th><th>tickets</th></tr>" + "".join(
        f"<tr><td>{e(x['kind'])} / {e(x['category'] or '')}</td><td>{e(', '.join(x['places']))}</td>"
        f"<td>{e(', '.join(x['ticket_nos'][:20]))}</td></tr>" for x in data["hotspots"]) + "</table>")
    h.append(suggestion_report.html_section(data))
    h.append("<h2>单位 Units</h2><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in UNIT_COLUMNS) + "</tr>")
    for r in data["units"][:500]:
        h.append("<tr>" + "".join(f"<td>{e(_fmt(r.get(c)))}</td>" for c in UNIT_COLUMNS) + "</tr>")
    h.append("</table>")
    if len(data["units"]) > 500:
        h.append(f"<p>… {len(data['units']) - 500} more units in the XLSX/CSV download.</p>")
    h.append(f"<p style='color:#888'>generated {e(str(data['generated_at']))}</p></body></html>")
    return "".join(h)
