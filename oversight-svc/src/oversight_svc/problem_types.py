"""The problem types oversight answers with besides the common ones (served at /problems/<slug>)."""

from __future__ import annotations

from bancheng_shared.problem_types import ProblemType

PROBLEM_TYPES: dict[str, ProblemType] = {
    "unknown-ticket": ProblemType(
        "Unknown ticket", "工单不存在",
        "Oversight has seen no event of this ticket yet (or the unit key is not its unit): it learns tickets from "
        "intake's and triage's events."),
    "unknown-case": ProblemType(
        "Unknown case", "督办案件不存在",
        "There is no such supervision case, a linked case id names none, or the unit key is not named on it."),
    "unknown-letter": ProblemType(
        "Unknown letter", "督办函不存在", "The case has no supervision letter with this id."),
    "unknown-record": ProblemType(
        "Unknown accountability record", "问责记录不存在",
        "There is no such accountability record (or it is about another unit than the key's)."),
    "unknown-hotspot": ProblemType(
        "Unknown hotspot", "热点不存在",
        "No hotspot with this id was found; list /v1/hotspots for the period first, which keeps what it finds."),
    "already-open": ProblemType(
        "Case already opened", "已立案",
        "A case was already opened for this hotspot; `case_id` names it."),
    "already-handed-down": ProblemType(
        "Hotspot already handed down", "热点已交办",
        "The hotspot was already handed down as a work order; `ticket_no` names its ticket (null while intake is "
        "still registering it)."),
    "no-recheck": ProblemType(
        "No re-check for this ticket", "该工单无回头看任务",
        "Only closed tickets drawn in the 回头看 sample (OVERSIGHT_RECHECK_SAMPLE_RATE) owe a re-check visit; this "
        "one is not closed, or was not drawn."),
    "already-rechecked": ProblemType(
        "Re-check already made", "已回头看",
        "The re-check visit of this closed ticket was recorded already; it is made once."),
    "recheck-not-due": ProblemType(
        "Re-check not due yet", "回头看尚未到期",
        "A re-check visit is made OVERSIGHT_RECHECK_AFTER_DAYS calendar days after closing, not before."),
    "invalid-transition": ProblemType(
        "Step not allowed in this state", "当前状态不允许该操作",
        "The case (the accountability record, the suggestion) is in a state that does not allow this step; `state` "
        "names it and "
        "`allowed_actions` lists the steps it allows."),
    "unknown-suggestion": ProblemType(
        "Unknown suggestion", "改进建议不存在",
        "There is no such process-improvement suggestion (or the unit key is not the department it is addressed to)."),
    "not-resolved": ProblemType(
        "No result to visit yet", "尚未办结，不能回访",
        "A return visit follows the unit's result for the ticket's current round; none was reported yet."),
    "already-visited": ProblemType(
        "Round already visited", "本轮已回访",
        "The person was already reached for this round's result; a new visit needs a new result (after a redo)."),
    "already-replied": ProblemType(
        "Letter already answered", "督办函已回复", "The addressed unit answers a supervision letter once."),
    "unknown-calendar-year": ProblemType(
        "Calendar year not known", "工作日历年度未知",
        "Counting the working days needs a calendar year that is not loaded yet; give `due_date` instead, or load "
        "the year in sla (PUT /v1/calendars/{year})."),
    "invalid-period": ProblemType(
        "Invalid period", "统计期间无效", "The period ends before it starts (`to` is before `from`)."),
    "period-out-of-range": ProblemType(
        "Period out of range", "统计期间超出范围",
        "A day of the period lies outside the years statistics cover (the settings `stats_min_year` and "
        "`stats_max_year`, 1990–2199 by default)."),
    "unknown-scheme-version": ProblemType(
        "Unknown assessment scheme version", "考核方案版本不存在",
        "The year has no stored assessment scheme with this version number; GET /v1/assessment/schemes/{year} lists "
        "them (version 0 is the default)."),
    "scheme-conflict": ProblemType(
        "Assessment scheme changed at the same time", "考核方案同时被修改",
        "Another version of the year's scheme was stored at the same moment; nothing of this request was kept. "
        "Read the versions and send again."),
}
