"""The problem types sla answers with besides the common ones (served at /problems/<slug>)."""

from __future__ import annotations

from bancheng_shared.problem_types import ProblemType

PROBLEM_TYPES: dict[str, ProblemType] = {
    "unknown-ticket": ProblemType(
        "Unknown ticket", "工单无时限记录",
        "sla has no clock for this ticket yet (it learns tickets from triage's dispatch events), or the unit key is "
        "not the ticket's current unit."),
    "unknown-extension-request": ProblemType(
        "Unknown extension request", "延期申请不存在", "The ticket has no extension request with this id."),
    "unknown-pause-request": ProblemType(
        "Unknown pause request", "暂停申请不存在", "The ticket has no pause request with this id."),
    "clock-not-running": ProblemType(
        "Clock not running", "时限未在计时",
        "The round's clock is paused or stopped (or now belongs to another unit), so it cannot be extended or "
        "paused, and a request on it can only be rejected; `state` names the clock's state."),
    "clock-not-paused": ProblemType(
        "Clock not paused", "时限未暂停", "Only a paused clock resumes; `state` names the clock's state."),
    "deadline-passed": ProblemType(
        "Deadline passed", "已超过办理时限",
        "Extensions and pauses must be asked for before the resolution deadline; an overdue clock cannot be "
        "extended or paused."),
    "deadline-unknown": ProblemType(
        "Deadline not computed yet", "办理时限尚未计算",
        "The deadline waits for a calendar year that is not loaded yet (the clock is flagged); ask again once the "
        "year is loaded."),
    "extension-already-requested": ProblemType(
        "Extension already requested", "本轮已申请过延期",
        "A unit asks for an extension once per ticket and round; `request_id` names the earlier request."),
    "pause-already-requested": ProblemType(
        "Pause request pending", "已有待审批的暂停申请",
        "One pause request per round waits for the work team's ruling at a time; `request_id` names it."),
    "pause-limit": ProblemType(
        "Pause limit reached", "暂停次数或天数已达上限",
        "A round may be paused at most `max_pauses` times and for at most `max_paused_days` working days in all "
        "(settings); `pauses_taken` and `paused_days_used` say what the round has used."),
    "already-decided": ProblemType(
        "Already ruled on", "已审批", "The request was already approved or rejected; a request is ruled on once."),
    "unknown-year": ProblemType(
        "Calendar year not known", "工作日历年度未知",
        "The calendar does not know a year this needs (it is never guessed): load it with PUT /v1/calendars/{year}."),
    "unknown-version": ProblemType(
        "Unknown calendar version", "日历版本不存在", "The year has no version with this number; `versions` of "
        "GET /v1/calendars/{year} lists them."),
    "invalid-calendar": ProblemType(
        "Invalid calendar year", "日历数据不合规",
        "A loaded year is wrong: a date not in YYYY-MM-DD form or not in the year, listed twice, both a holiday and "
        "a make-up day, a make-up day on a weekday, no statutory holidays without `no_holidays: true`, or a year "
        "out of 1949..2200; `errors` names each field."),
    "simulated-time-disabled": ProblemType(
        "Simulated time not allowed", "未开启模拟时间",
        "Setting the service's time is for tests and training and is off on this service "
        "(SLA_SIMULATED_TIME_ALLOWED)."),
}
