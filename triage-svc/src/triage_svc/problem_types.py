"""The problem types triage-svc answers with besides the common ones (`bancheng_shared.problem_types.COMMON`):
each `type_` slug it raises, with its titles and what it means for an integrator (served at /problems/{slug})."""

from __future__ import annotations

from bancheng_shared.problem_types import ProblemType

PROBLEM_TYPES: dict[str, ProblemType] = {
    "unknown-ticket": ProblemType(
        "No such work order", "工单不存在",
        "There is no work order for this ticket number, or the key's unit neither leads nor assists on it; a ticket "
        "intake has just received may still be on its way to triage."),
    "unknown-unit": ProblemType(
        "No such unit", "单位不存在",
        "The unit code is not in the org directory, or the unit is inactive (for a dispatch, a re-dispatch or a "
        "co-unit: the field is named in `errors`)."),
    "unknown-version": ProblemType(
        "No such catalogue version", "派单目录版本不存在",
        "No routing-catalogue version has this number; GET /v1/catalogue/versions lists them (0 is the default)."),
    "invalid-transition": ProblemType(
        "Not allowed in the work order's state", "工单当前状态不允许此操作",
        "The work order's state does not allow this action; `state`, `action` and `allowed_actions` say where it "
        "stands and what it allows."),
    "no-change": ProblemType(
        "Nothing to change", "无需变更",
        "The work order already has this value (e.g. the tier asked for is its tier now)."),
    "invalid-import": ProblemType(
        "Directory import refused", "组织目录导入未通过校验",
        "At least one row of the import is invalid, so nothing was imported; `errors` names each row (1-based) and "
        "field."),
    "malformed-csv": ProblemType(
        "Unreadable CSV", "CSV 无法读取",
        "The CSV body of a directory import cannot be read: it is neither UTF-8 (with or without a BOM) nor "
        "GBK/GB18030 text, not in the charset it names, or a CSV reader cannot read it (e.g. it holds a NUL byte)."),
    "return-window-closed": ProblemType(
        "Return window closed", "申请退回期限已过",
        "A unit may ask to return a work order before it signs and within 2 working days after signing "
        "(签收后2个工作日内); the window has passed, the work order counts as signed (逾期视为签收), or a request of "
        "this round was rejected."),
    "no-receiving-organ": ProblemType(
        "No receiving organ to sign", "转办无接收机关",
        "The work order was transferred to 信访 or 涉法涉诉 but the directory has no petition office or "
        "political-legal unit for its place, so no one can sign for it; the work team re-routes or dispatches it."),
    "calendar-unknown-year": ProblemType(
        "Working-day calendar does not cover the year", "工作日历未包含该年份",
        "The working-day calendar does not know the year a computation needs (it is never guessed): the years "
        "triage-svc knows come from the `chinesecalendar` package at start."),
}
