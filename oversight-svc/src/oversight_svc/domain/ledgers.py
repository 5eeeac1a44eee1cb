"""Ledgers (台账): the four registers an office keeps — work orders (工单台账), return visits (回访台账), supervision
cases with their letters and replies (督办台账), accountability (问责台账) — as rows with Chinese headers.

What a row shows is decided here: times as local plain date-times (no ISO offsets), yes/no and the vocabularies in
Chinese, free text stripped of personal data (phone, ID, e-mail, names written in it, the case's informant),
and never the informant or a complainant's contact: oversight stores none of the complainant's, and the informant
column is read only to strip those names from a case's texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from oversight_svc.domain.cases import ESCALATION, HOTSPOT, MANUAL, RED_TICKET
from oversight_svc.domain.disclosure import informant_names, strip_pii

Ledger = Literal["work-orders", "return-visits", "supervision", "accountability"]
Kind = Literal["text", "masked", "time", "date", "bool", "int", "list"]

TITLES: dict[str, str] = {"work-orders": "工单台账", "return-visits": "回访台账", "supervision": "督办台账",
                          "accountability": "问责台账"}

YES, NO = "是", "否"
TIERS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
CATEGORIES = {"consult": "咨询", "complaint": "投诉", "report": "举报", "suggestion": "建议", "help": "求助",
              "praise": "表扬"}
OUTCOMES = {"resolved": "已解决", "partially_resolved": "部分解决", "unresolvable": "无法解决"}
TICKET_STATUS = {"open": "受理", "dispatched": "办理中", "resolved": "已办结待回访", "reopened": "重办",
                 "closed": "已关闭"}
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意",
                "unreachable": "未接通"}
RESOLVED = {"yes": "已解决", "partly": "部分解决", "no": "未解决"}
CAUSES = {"subjective": "主观原因", "objective": "客观原因"}
ROLES = {"work_team": "工作专班", "inspector": "纪检监察", "supervision_office": "督查室",
         "business_environment": "营商办", "admin": "管理员"}
CASE_STATES = {"opened": "已开案", "registered": "已立案", "investigating": "调查中", "letter_sent": "已发督办函",
               "replied": "已回复", "visited": "已回访", "redo": "重办", "concluded": "已办结"}
CASE_LEVELS = {"normal": "一般"}  # other levels are shown as stored
CASE_SOURCES = {RED_TICKET: "红灯件", ESCALATION: "逾期督办", HOTSPOT: "热点", MANUAL: "人工立案"}
RECORD_STATUS = {"proposed": "问责建议", "decided": "已决定", "dismissed": "不予问责"}
MEASURES = {"reminder_talk": "提醒谈话", "criticism": "批评教育", "written_review": "书面检查",
            "circulated_criticism": "通报批评", "admonishment": "诫勉", "reassignment": "组织调整",
            "discipline": "纪律处分"}


@dataclass(frozen=True)
class Column:
    """One column of a ledger: the Chinese header, the row key it shows, how it is shown, its width in XLSX."""

    header: str
    key: str
    kind: Kind = "text"
    labels: Mapping[str, str] | None = None
    width: int = 12


C = Column
COLUMNS: dict[str, tuple[Column, ...]] = {
    "work-orders": (
        C("工单号", "ticket_no", width=18), C("轮次", "round", "int", width=6),
        C("受理时间", "received_at", "time", width=19), C("标题", "title", "masked", width=36),
        C("诉求类别", "category", labels=CATEGORIES, width=8), C("分级", "tier", labels=TIERS, width=6),
        C("事发地区划代码", "region_code", width=12), C("承办单位代码", "unit", width=26),
        C("承办单位名称", "unit_name", width=24), C("承办单位区划代码", "unit_region", width=12),
        C("派单日期", "dispatch_day", "date", width=11), C("签收时限", "accept_due", "time", width=19),
        C("签收时间", "signed_at", "time", width=19), C("按时签收", "sign_in_time", "bool", width=8),
        C("办结时限", "resolve_due", "time", width=19), C("办结时间", "resolved_at", "time", width=19),
        C("办理结果", "outcome", labels=OUTCOMES, width=10), C("按时办结", "resolve_in_time", "bool", width=8),
        C("逾期", "overdue", "bool", width=6), C("延期", "extended", "bool", width=6),
        C("回访时间", "visited_at", "time", width=19), C("回访满意度", "satisfaction", labels=SATISFACTION, width=10),
        C("工单状态", "status", labels=TICKET_STATUS, width=12), C("关闭时间", "closed_at", "time", width=19)),
    "return-visits": (
        C("回访编号", "visit_id", width=20), C("工单号", "ticket_no", width=18), C("轮次", "round", "int", width=6),
        C("标题", "title", "masked", width=36), C("承办单位代码", "unit", width=26),
        C("承办单位名称", "unit_name", width=24), C("承办单位区划代码", "unit_region", width=12),
        C("回访时间", "visited_at", "time", width=19), C("群众认为是否解决", "resolved", labels=RESOLVED, width=10),
        C("满意度", "satisfaction", labels=SATISFACTION, width=10), C("不满意原因", "cause", labels=CAUSES, width=10),
        C("发回重办", "redo", "bool", width=8), C("督办案件编号", "case_id", width=20),
        C("回访人", "by_name", width=12), C("回访人角色", "by_role", labels=ROLES, width=10),
        C("备注", "notes", "masked", width=40)),
    "supervision": (
        C("案件编号", "case_id", width=20), C("案件标题", "title", "masked", width=36),
        C("级别", "level", labels=CASE_LEVELS, width=6), C("来源", "sources", "list", CASE_SOURCES, width=12),
        C("红灯件", "red", "bool", width=6), C("案件状态", "state", labels=CASE_STATES, width=10),
        C("开案时间", "opened_at", "time", width=19), C("立案时间", "registered_at", "time", width=19),
        C("督办单位", "unit_list", width=30), C("关联工单", "ticket_list", width=24),
        C("督办函编号", "letter_id", width=20), C("函件单位代码", "letter_unit", width=26),
        C("函件单位名称", "letter_unit_name", width=24), C("督办要求", "requirements", "masked", width=40),
        C("发函时间", "sent_at", "time", width=19), C("回复期限", "due_at", "time", width=19),
        C("回复时间", "replied_at", "time", width=19), C("回复内容", "reply_content", "masked", width=40),
        C("整改措施", "reply_measures", "masked", width=30), C("逾期未复", "letter_overdue", "bool", width=8),
        C("逾期回复", "reply_late", "bool", width=8), C("办结时间", "concluded_at", "time", width=19),
        C("办理结果", "result", "masked", width=40), C("问题是否解决", "solved", "bool", width=10)),
    "accountability": (
        C("记录编号", "record_id", width=20), C("状态", "status", labels=RECORD_STATUS, width=10),
        C("被问责单位代码", "unit", width=26), C("被问责单位名称", "unit_name", width=24),
        C("单位区划代码", "unit_region", width=12), C("被问责人", "person_name", width=10),
        C("职务", "person_post", width=14), C("问责措施", "measure", labels=MEASURES, width=10),
        C("事由类别", "reason_category", width=12), C("问责事由", "reason", "masked", width=40),
        C("关联案件", "case_ids", "list", width=24), C("关联工单", "ticket_nos", "list", width=24),
        C("提出时间", "proposed_at", "time", width=19), C("决定人", "decided_by", width=12),
        C("决定时间", "decided_at", "time", width=19)),
}


def headers(ledger: str) -> list[str]:
    """The Chinese headers of a ledger, in order."""
    return [c.header for c in COLUMNS[ledger]]


def local_time(at: datetime, tz: ZoneInfo) -> datetime:
    """A UTC timestamp as the local wall-clock time to the second, without an offset (as a spreadsheet shows it)."""
    return at.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _cell(col: Column, value: Any, tz: ZoneInfo, names: Sequence[str]) -> Any:
    if value is None:
        return None
    if col.kind == "time":
        return local_time(value, tz) if isinstance(value, datetime) else value
    if col.kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if col.kind == "bool":
        return YES if value else NO
    if col.kind == "int":
        return int(value)
    if col.kind == "list":
        return "、".join((col.labels or {}).get(str(v), str(v)) for v in value)
    if col.kind == "masked":
        return strip_pii(str(value), names)
    return col.labels.get(str(value), str(value)) if col.labels else value


def row_cells(ledger: str, row: Mapping[str, Any], tz: ZoneInfo) -> list[Any]:
    """A ledger row's cells in column order (the informant's names, when the row carries them, are stripped
    from its texts and never shown)."""
    names = informant_names(row.get("informant"))
    return [_cell(c, row.get(c.key), tz, names) for c in COLUMNS[ledger]]


def file_name(ledger: str, start: date, end: date, unit: str | None, region: str | None, ext: str) -> str:
    """工单台账_2025-03-01_2025-03-31[_unit][_region].xlsx"""
    parts = [TITLES[ledger], start.isoformat(), end.isoformat(), *(p for p in (unit, region) if p)]
    return "_".join(parts) + "." + ext
