"""sla's rules, pure: the calendar book, deadlines, the alert ladder, a round's clocks, extensions, pauses."""

from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.calendar_input import validate_year_payload, year_to_load
from sla_svc.domain.deadlines import (
    Deadline,
    Policy,
    compute_deadlines,
    deadline_from,
    due_at,
    end_of_day,
    escalate_at,
    local_date,
    paused_working_days,
    resolution_days,
    start_of_day,
    working_day_deadline,
)
from sla_svc.domain.ladder import ACTIVE, LEVEL_RANK, PAUSED, RUNNING, level_after_move, plan_timers

__all__ = [
    "ACTIVE", "LEVEL_RANK", "PAUSED", "RUNNING", "CalendarBook", "Deadline", "Policy", "compute_deadlines",
    "deadline_from", "due_at", "end_of_day", "escalate_at", "level_after_move", "local_date", "paused_working_days",
    "plan_timers", "resolution_days", "start_of_day", "validate_year_payload", "working_day_deadline",
    "year_to_load",
]
