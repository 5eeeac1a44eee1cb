"""Report files (week, month, quarter, year): HTML with inline SVG charts, XLSX, CSV, JSON, for people to read:
region and unit names, Chinese headers, each figure's change from the previous period (环比), tables that fit an
A4 page, an XLSX with percent formats, frozen headers, column widths and a chart of the three rates by region.

A report is a plain list of sections: `HTML_SECTIONS` (each a function of the report's data to an HTML fragment)
and `XLSX_SHEETS` (each a function that writes one sheet); a new section is one function and one entry.
Nothing is loaded from a CDN: charts are SVG drawn here, styles are inline. Every cell of the XLSX and the CSV goes
through `safe_cell`: a ticket title, a unit name or a hotspot's text that starts like a formula (=, +, -, @, ＝ …)
is written as text with a leading apostrophe, never as a formula the leaders' spreadsheet would run.

Making a report is CPU-bound Python: `report_builder.ReportBuilder` makes these files in worker processes."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bancheng_shared.spreadsheet import safe_cell
from oversight_svc.adapters import suggestion_report
from oversight_svc.domain.change import RATES, format_change
from oversight_svc.domain.rates import RATE_DEFINITIONS

PERIOD_NAMES = {"week": "周报", "month": "月报", "quarter": "季报", "year": "年报"}
CHANGE_NAMES = {"week": "环比（上周）", "month": "环比（上月）", "quarter": "环比（上季度）", "year": "同比（上年）"}
# the unit table's columns: (key, Chinese header, kind) — kind "pct" is a rate, "n" a count, "" text
UNIT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("unit", "单位代码", ""), ("name", "单位名称", ""), ("region_name", "所属区划", ""),
    ("region_code", "区划代码", ""),
    ("dispatched", "派单", "n"), ("signed_in_time", "按时签收", "n"), ("resolved", "办结", "n"),
    ("resolved_in_time", "按时办结", "n"), ("overdue", "逾期", "n"), ("extended", "延期", "n"), ("urged", "催办", "n"),
    ("supervised", "督办", "n"), ("visited", "回访接通", "n"), ("visit_yes", "群众说已解决", "n"),
    ("satisfied", "满意", "n"), ("basically_satisfied", "基本满意", "n"), ("redone", "发回重办", "n"),
    ("accountability", "问责", "n"), ("response_rate", "响应率", "pct"), ("resolution_rate", "解决率", "pct"),
    ("satisfaction_rate", "满意率", "pct"), ("self_reported_resolution_rate", "自报解决率", "pct"),
    ("claimed_denied_rate", "自报被群众否认比例", "pct"), ("closes_without_solving", "办结未解决", "flag"))
FIGURE_NAMES = {
    "tickets_received": "受理诉求", "dispatched": "派单", "signed_in_time": "按时签收", "returned": "退回",
    "resolved": "办结", "resolved_in_time": "按时办结", "overdue": "逾期", "extended": "延期", "urged": "催办",
    "supervised": "督办", "visited": "回访接通", "redone": "发回重办", "accountability": "问责"}
RATE_NAMES = {"response_rate": "响应率", "resolution_rate": "解决率", "satisfaction_rate": "满意率"}
RED_TRACK_NAMES = {"red_tickets_investigated": "调查处理红灯件（件）", "problems_solved": "推动解决问题（个）",
                   "cases_concluded": "红灯件案件办结（件）", "people_held_accountable": "追责问责（人）",
                   "accountability_measures": "问责方式"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PCT_FORMAT = "0.0%"
POINTS_FORMAT = '+0.0" 个百分点";-0.0" 个百分点";"持平"'
COUNT_CHANGE_FORMAT = '+0;-0;"持平"'
HTML_UNITS_MAX = 500  # the HTML shows this many units; the XLSX and the CSV have them all
CHART_REGIONS_MAX = 30  # regions in a chart (the sheet and the table have them all)


# ---- shared helpers ----

def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "是" if v else ""
    if isinstance(v, float):
        return f"{v * 100:.1f}%"
    return str(v)


def _cells(values: Iterable[Any]) -> list[Any]:
    """A row's cells as a spreadsheet may hold them: text never starts a formula."""
    return [safe_cell(v) for v in values]


def _region_label(code: str | None, name: str | None) -> str:
    return name or code or "未知"


def _title(data: dict[str, Any]) -> str:
    where = _region_label(data["region"], data.get("region_name")) if data["region"] else "全市"
    return f"办成 12345 {where}{PERIOD_NAMES[data['period']]}（{data['from']} 至 {data['to']}）"


def _change(data: dict[str, Any]) -> dict[str, Any]:
    return data.get("change") or {"totals": {}, "by_region": {}}


# ---- CSV ----

def to_csv(data: dict[str, Any]) -> str:
    """The unit table as CSV with Chinese headers (UTF-8 with BOM so spreadsheet programs read Chinese); rates as
    percentages (93.12%), which spreadsheet programs read as numbers."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([h for _, h, _ in UNIT_COLUMNS])
    for r in data["units"]:
        w.writerow(_cells(_csv_value(r.get(k), kind) for k, _, kind in UNIT_COLUMNS))
    return buf.getvalue()


def _csv_value(v: Any, kind: str) -> Any:
    if v is None:
        return ""
    if kind == "pct":
        return f"{v * 100:.2f}%"
    if kind == "flag":
        return "是" if v else ""
    return v


# ---- XLSX ----

Sheet = Callable[[Any, dict[str, Any]], None]


def _layout(ws: Any, widths: Sequence[float], freeze: str) -> None:
    """Column widths and frozen panes: a write-only sheet takes them before its first row."""
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = freeze


def _header_row(ws: Any, headers: list[str]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    row = []
    for h in headers:
        c = WriteOnlyCell(ws, value=h)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="DDE6F0")
        c.alignment = Alignment(wrap_text=True, vertical="center")
        row.append(c)
    ws.append(row)


def _header(ws: Any, headers: list[str], widths: Sequence[float], *, freeze: str = "A2") -> None:
    """A sheet's bold header row in row 1, its column widths and the header frozen."""
    _layout(ws, widths, freeze)
    _header_row(ws, headers)


def _styled(ws: Any, fmt: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    c = WriteOnlyCell(ws)
    c.number_format = fmt
    return c


def _set(cell: Any, value: Any) -> Any:
    """A reusable styled cell holding value (None stays an empty cell): a write-only sheet writes the row at once."""
    if value is None:
        return None
    cell.value = value
    return cell


def _summary_sheet(wb: Any, data: dict[str, Any]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    ws = wb.create_sheet("summary 概览")
    ch = _change(data)
    _layout(ws, [34, 16, 22], "A7")
    title = WriteOnlyCell(ws, value=_title(data))
    title.font = Font(bold=True, size=14)
    ws.append([title])
    ws.append(_cells(["期间", f"{data['from']} 至 {data['to']}"]))
    ws.append(_cells(["区划", _region_label(data["region"], data.get("region_name")) if data["region"] else "全市"]))
    ws.append(["上期", f"{ch['from']} 至 {ch['to']}" if data.get("change") else "—"])
    ws.append([])
    _header_row(ws, ["指标", "本期", CHANGE_NAMES[data["period"]]])
    t = data["overview"]["totals"]
    for k, label in RATE_NAMES.items():
        ws.append([label, _set(_styled(ws, PCT_FORMAT), t[k]), _set(_styled(ws, POINTS_FORMAT), ch["totals"].get(k))])
    for k, label in FIGURE_NAMES.items():
        ws.append([label, t[k], _set(_styled(ws, COUNT_CHANGE_FORMAT), ch["totals"].get(k))])
    ws.append([])
    for k, v in data["overview"]["red_track"].items():
        ws.append(_cells([RED_TRACK_NAMES.get(k, k), "，".join(f"{m} {n}" for m, n in v.items()) if isinstance(v, dict)
                          else v]))
    ws.append([])
    for k, v in RATE_DEFINITIONS.items():
        ws.append([f"{RATE_NAMES.get(k, '自报解决率')}口径", v])


def _regions_sheet(wb: Any, data: dict[str, Any]) -> None:
    from openpyxl.chart import BarChart, Reference

    ws = wb.create_sheet("regions 区划")
    by_region = data["overview"]["by_region"]
    changes = _change(data)["by_region"]
    _header(ws, ["区划名称", "区划代码", "单位数", "派单", "派单环比", "响应率", "响应率环比", "解决率", "解决率环比",
                 "满意率", "满意率环比"], [24, 14, 8, 10, 10, 10, 12, 10, 12, 10, 12], freeze="C2")
    pct = [_styled(ws, PCT_FORMAT) for _ in RATES]
    pts = [_styled(ws, POINTS_FORMAT) for _ in RATES]
    n_change = _styled(ws, COUNT_CHANGE_FORMAT)
    for r in by_region:
        c = changes.get(r["region_code"], {})
        row = [*_cells([_region_label(r["region_code"], r.get("region_name")), r["region_code"], r["units"],
                        r["dispatched"]]), _set(n_change, c.get("dispatched"))]
        for i, k in enumerate(RATES):
            row += [_set(pct[i], r[k]), _set(pts[i], c.get(k))]
        ws.append(row)
    if by_region:
        n = min(len(by_region), CHART_REGIONS_MAX)
        chart = BarChart()
        chart.type = "bar"  # horizontal: region names stay readable
        chart.title = "各区划三率" + (f"（前 {n} 个区划）" if n < len(by_region) else "")
        chart.y_axis.number_format = "0%"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        for col in (6, 8, 10):  # 响应率, 解决率, 满意率
            chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=n + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
        chart.height, chart.width = max(8.0, 0.6 * n), 18.0
        ws.add_chart(chart, "M2")


def _units_sheet(wb: Any, data: dict[str, Any]) -> None:
    ws = wb.create_sheet("units 单位")
    _header(ws, [h for _, h, _ in UNIT_COLUMNS],
            [26, 24, 18, 12] + [9 if kind == "n" else 11 for _, _, kind in UNIT_COLUMNS[4:]], freeze="C2")
    cols = [(k, _styled(ws, PCT_FORMAT) if kind == "pct" else None, kind) for k, _, kind in UNIT_COLUMNS]
    for r in data["units"]:
        ws.append(_cells(_set(cell, r.get(k)) if cell is not None else
                         ("是" if r.get(k) else None) if kind == "flag" else r.get(k) for k, cell, kind in cols))


def _rankings_sheet(wb: Any, data: dict[str, Any]) -> None:
    ws = wb.create_sheet("rankings 排名")
    _header(ws, ["排名指标", "前列/后列", "名次", "单位代码", "单位名称", "比率", "样本数"],
            [12, 10, 6, 26, 28, 10, 10])
    pct = _styled(ws, PCT_FORMAT)
    for name, ranking in data["overview"]["rankings"].items():
        ws.append([RATE_NAMES.get(name, name), f"样本不少于 {ranking['min_sample']}",
                   None, None, f"未排名 {ranking['not_ranked']} 个单位"])
        for side, side_name in (("best", "前列"), ("worst", "后列")):
            for i, r in enumerate(ranking[side], 1):
                ws.append([*_cells([RATE_NAMES.get(name, name), side_name, i, r["unit"], r.get("name")]),
                           _set(pct, r.get(name)), r.get(list(r)[-1])])


def _overdue_sheet(wb: Any, data: dict[str, Any]) -> None:
    ws = wb.create_sheet("overdue 逾期")
    _header(ws, ["工单号", "轮次", "承办单位", "所属区划", "标题", "办结时限", "办结时间", "状态"],
            [20, 6, 26, 18, 40, 22, 22, 12])
    for r in data["overdue"]:
        ws.append(_cells([r["ticket_no"], r["round"], r.get("unit_name") or r["unit"],
                          _region_label(r["region_code"], r.get("region_name")), r["title"],
                          str(r["resolve_due"]), str(r["resolved_at"] or ""), r["status"]]))


def _hotspots_sheet(wb: Any, data: dict[str, Any]) -> None:
    ws = wb.create_sheet("hotspots 热点")
    _header(ws, ["热点编号", "问题类别", "诉求类型", "地点数", "工单数", "工单号"], [22, 16, 12, 8, 8, 60])
    for h in data["hotspots"]:
        ws.append(_cells([h["hotspot_id"], h["kind"], h["category"], len(h["places"]), len(h["ticket_nos"]),
                          ", ".join(h["ticket_nos"][:50])]))


# the workbook's sheets in order; a new sheet is one function and one entry
XLSX_SHEETS: list[Sheet] = [_summary_sheet, _regions_sheet, _units_sheet, _rankings_sheet, _overdue_sheet,
                            _hotspots_sheet, suggestion_report.xlsx_sheet]


def to_xlsx(data: dict[str, Any]) -> bytes:
    """The workbook: one sheet per entry of XLSX_SHEETS."""
    from openpyxl import Workbook

    # write-only mode streams rows to the file: a city's 20,000-unit table in seconds, not tens of seconds
    wb = Workbook(write_only=True)
    for sheet in XLSX_SHEETS:
        sheet(wb, data)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- HTML ----

Section = Callable[[dict[str, Any]], str]
e = html.escape

STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;color:#222;
  margin:24px auto;max-width:190mm;font-size:13px;line-height:1.45}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px;border-bottom:2px solid #2e86c1;padding-bottom:2px}
h3{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;margin:6px 0;width:100%;table-layout:fixed}
td,th{border:1px solid #ccc;padding:2px 5px;font-size:12px;overflow-wrap:anywhere;word-break:break-word;
  vertical-align:top}
th{background:#eef3f8;font-weight:600}td.n{text-align:right;white-space:nowrap}
.up{color:#1e7d32}.down{color:#c0392b}.flag{color:#c0392b}.muted{color:#777}
.kpis{display:flex;gap:10px;flex-wrap:wrap}.kpi{border:1px solid #d6e0ea;border-radius:4px;padding:6px 12px;flex:1}
.kpi b{font-size:22px;display:block}.kpi small{display:block}
svg{max-width:100%;height:auto}
@page{size:A4;margin:12mm}
@media print{body{margin:0;max-width:none;font-size:11px}td,th{font-size:10px}h2{break-after:avoid}
  tr,svg,.kpis{break-inside:avoid}thead{display:table-header-group}}
"""


def _change_cell(v: float | None, *, rate: bool, points_word: bool = True) -> str:
    # a rate going up is good news (green); whether a count going up is depends on the count: no colour
    cls = " up" if rate and v and v > 0 else " down" if rate and v and v < 0 else ""
    return f"<td class='n{cls}'>{e(format_change(v, rate=rate, points_word=points_word))}</td>"


def _table(headers: list[str], rows: Iterable[str], widths: list[int] | None = None) -> str:
    cols = "".join(f"<col style='width:{w}%'>" for w in widths) if widths else ""
    return (f"<table><colgroup>{cols}</colgroup><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def bar_chart(title: str, bars: list[tuple[str, float | None]], *, width: int = 640, pct: bool = True) -> str:
    """A horizontal bar chart as inline SVG (values in [0, 1] when pct); it scales down to the page."""
    row_h, left, top = 22, 200, 28
    h = top + row_h * max(1, len(bars)) + 10
    vmax = 1.0 if pct else max([v or 0 for _, v in bars] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" width="{width}" height="{h}" '
             f'role="img" aria-label="{e(title)}" style="font:12px sans-serif">',
             f'<text x="4" y="16" font-weight="bold">{e(title)}</text>']
    for i, (label, v) in enumerate(bars):
        y = top + i * row_h
        w = int((width - left - 70) * ((v or 0) / vmax))
        color = "#c0392b" if pct and v is not None and v < 0.8 else "#2e86c1"
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(f'<text x="4" y="{y + 14}"><title>{e(label)}</title>{e(short)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w}" height="14" fill="{color}"/>')
        parts.append(f'<text x="{left + w + 4}" y="{y + 14}">{e(_fmt(v) if pct else str(int(v or 0)))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _heading(data: dict[str, Any]) -> str:
    ch = data.get("change")
    prev = f"；{CHANGE_NAMES[data['period']]}对比 {ch['from']} 至 {ch['to']}" if ch else ""
    return (f"<h1>{e(_title(data))}</h1><p class='muted'>统计期间 {data['from']} 至 {data['to']}（含首尾日）"
            f"{e(prev)}。</p>")


def _rates_section(data: dict[str, Any]) -> str:
    t, ch = data["overview"]["totals"], _change(data)["totals"]
    label = CHANGE_NAMES[data["period"]]
    kpis = "".join(f"<div class='kpi'><b>{_fmt(t[k])}</b>{e(name)}<small>{e(label)} "
                   f"{e(format_change(ch.get(k), rate=True))}</small></div>" for k, name in RATE_NAMES.items())
    notes = "".join(f"<li>{e(v)}</li>" for v in RATE_DEFINITIONS.values())
    return f"<h2>三率</h2><div class='kpis'>{kpis}</div><details><summary>口径</summary><ul>{notes}</ul></details>"


def _figures_section(data: dict[str, Any]) -> str:
    t, ch = data["overview"]["totals"], _change(data)["totals"]
    rows = (f"<tr><td>{e(name)}</td><td class='n'>{t[k]}</td>{_change_cell(ch.get(k), rate=False)}</tr>"
            for k, name in FIGURE_NAMES.items())
    return ("<h2>主要数据</h2>" + _table(["指标", "本期", CHANGE_NAMES[data["period"]]], rows, [50, 25, 25])
            + bar_chart("件数", [(name, float(t[k])) for k, name in FIGURE_NAMES.items()], pct=False))


def _red_track_section(data: dict[str, Any]) -> str:
    red = data["overview"]["red_track"]
    return (f"<h2>红灯件</h2><p>调查处理红灯件 {red['red_tickets_investigated']} 件，推动解决问题 "
            f"{red['problems_solved']} 个，追责问责 {red['people_held_accountable']} 人。</p>")


def _regions_section(data: dict[str, Any]) -> str:
    by_region, changes = data["overview"]["by_region"], _change(data)["by_region"]
    if not by_region:
        return ""
    label = CHANGE_NAMES[data["period"]].split("（")[0] + "（百分点）"
    rows = []
    for r in by_region:
        c = changes.get(r["region_code"], {})
        rows.append(f"<tr><td>{e(_region_label(r['region_code'], r.get('region_name')))}</td>"
                    f"<td class='n'>{r['units']}</td><td class='n'>{r['dispatched']}</td>"
                    + "".join(f"<td class='n'>{_fmt(r[k])}</td>{_change_cell(c.get(k), rate=True, points_word=False)}"
                              for k in RATES)
                    + "</tr>")
    named = [(_region_label(r["region_code"], r.get("region_name")), r) for r in by_region[:CHART_REGIONS_MAX]]
    return ("<h2>各区划</h2>" + _table(["区划", "单位数", "派单", "响应率", label, "解决率", label, "满意率", label],
                                      rows, [20, 7, 7, 9, 12, 9, 12, 9, 12])
            + bar_chart("各区划满意率", [(n, r["satisfaction_rate"]) for n, r in named])
            + bar_chart("各区划响应率", [(n, r["response_rate"]) for n, r in named]))


def _rankings_section(data: dict[str, Any]) -> str:
    out = []
    for name, ranking in data["overview"]["rankings"].items():
        out.append(f"<h3>{e(RATE_NAMES.get(name, name))}排名（样本不少于 {ranking['min_sample']}；"
                   f"未排名 {ranking['not_ranked']} 个单位）</h3>")
        rows = []
        for i in range(max(len(ranking["best"]), len(ranking["worst"]))):
            b = ranking["best"][i] if i < len(ranking["best"]) else None
            w = ranking["worst"][i] if i < len(ranking["worst"]) else None
            rows.append(f"<tr><td class='n'>{i + 1}</td>" + "".join(
                f"<td>{e((x.get('name') or x['unit']) if x else '')}</td><td class='n'>{_fmt(x.get(name)) if x else ''}"
                "</td>" for x in (b, w)) + "</tr>")
        out.append(_table(["名次", "前列单位", "比率", "后列单位", "比率"], rows, [8, 34, 12, 34, 12]))
    return "<h2>排名</h2>" + "".join(out)


def _closes_without_solving_section(data: dict[str, Any]) -> str:
    flagged = data["overview"]["closes_without_solving"]
    if not flagged:
        return "<h2 class='flag'>办结未解决</h2><p>无</p>"
    rows = (f"<tr><td>{e(r.get('name') or r['unit'])}</td>"
            f"<td class='n'>{_fmt(r['self_reported_resolution_rate'])}</td><td class='n'>{_fmt(r['resolution_rate'])}"
            f"</td><td class='n flag'>{_fmt(r['claimed_denied_rate'])}</td></tr>"
            for r in flagged)
    return ("<h2 class='flag'>办结未解决</h2>"
            + _table(["单位", "自报解决率", "群众说已解决", "自报被否认比例"], rows, [46, 18, 18, 18]))


def _overdue_section(data: dict[str, Any]) -> str:
    rows = (f"<tr><td>{e(r['ticket_no'])}</td><td>{e(r.get('unit_name') or r['unit'] or '')}</td>"
            f"<td>{e(_region_label(r['region_code'], r.get('region_name')))}</td><td>{e(r['title'] or '')}</td>"
            f"<td>{e(str(r['resolve_due'])[:16])}</td><td>{e(r['status'] or '')}</td></tr>"
            for r in data["overdue"][:100])
    return (f"<h2>逾期（{len(data['overdue'])} 件）</h2>"
            + _table(["工单号", "承办单位", "区划", "标题", "办结时限", "状态"], rows, [15, 20, 14, 25, 15, 11]))


def _hotspots_section(data: dict[str, Any]) -> str:
    rows = (f"<tr><td>{e(x['kind'])} / {e(x['category'] or '')}</td><td>{e('、'.join(x['places']))}</td>"
            f"<td>{e(', '.join(x['ticket_nos'][:20]))}</td></tr>" for x in data["hotspots"])
    return "<h2>高频共性问题</h2>" + _table(["问题类别", "地点", "工单"], rows, [22, 33, 45])


def _units_section(data: dict[str, Any]) -> str:
    keys = [("name", "单位"), ("region_name", "区划"), ("dispatched", "派单"), ("signed_in_time", "按时签收"),
            ("resolved", "办结"), ("overdue", "逾期"), ("visited", "回访"), ("response_rate", "响应率"),
            ("resolution_rate", "解决率"), ("satisfaction_rate", "满意率")]
    rows = []
    for r in data["units"][:HTML_UNITS_MAX]:
        cells = [f"<td>{e(r.get('name') or r['unit'])}</td>",
                 f"<td>{e(_region_label(r['region_code'], r.get('region_name')))}</td>"]
        cells += [f"<td class='n'>{e(_fmt(r.get(k)))}</td>" for k, _ in keys[2:]]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = len(data["units"]) - HTML_UNITS_MAX
    tail = f"<p class='muted'>另有 {more} 个单位，见 XLSX / CSV 下载。</p>" if more > 0 else ""
    return ("<h2>各单位</h2>" + _table([h for _, h in keys], rows, [24, 14, 7, 8, 7, 7, 7, 9, 8, 9]) + tail)


def _footer(data: dict[str, Any]) -> str:
    return f"<p class='muted'>生成时间 {e(str(data['generated_at'])[:19])}</p>"


# the report's sections in order; a new section is one function and one entry
HTML_SECTIONS: list[Section] = [_heading, _rates_section, _figures_section, _red_track_section, _regions_section,
                                _rankings_section, _closes_without_solving_section, _overdue_section,
                                _hotspots_section, suggestion_report.html_section, _units_section,
                                _footer]


def to_html(data: dict[str, Any]) -> str:
    """A self-contained, printable HTML report: one fragment per entry of HTML_SECTIONS."""
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{e(_title(data))}</title>"
            f"<style>{STYLE}</style></head><body>" + "".join(section(data) for section in HTML_SECTIONS)
            + "</body></html>")
