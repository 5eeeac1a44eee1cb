"""sla-svc settings (env prefix SLA_). Rule numbers are settings, per DESIGN.md."""

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings
from sla_svc.domain.unknown_years import parse_month_day


class SlaSettings(ServiceSettings):
    """Settings of sla-svc."""

    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/sla.db"
    port: int = 8003
    timezone: str = "Asia/Shanghai"
    # the rules (working days)
    accept_working_days: int = 2  # sign or ask to return within this; then warning + deemed signed
    resolve_working_days: int = 5
    resolve_working_days_complex: int = 10  # complex matters and response level 1
    answer_working_days: int = 1  # response level 3
    # a transfer to 信访 / 涉法涉诉: the receiving organ signs for it (签收) within this (the window a unit has to sign)
    transfer_working_days: int = 2
    urgent_working_days: int = 2  # `urgent` when this many working days remain (deadline day included)
    escalate_after_working_days: int = 3  # unresolved this many working days after the urge -> supervision
    return_visit_working_days: int = 3  # return visit due this many working days after the result
    max_extension_working_days: int = 5
    # pauses (waiting for the person's material): a unit asks, the work team approves (or pauses itself); per round
    # at most this many pauses and this many paused working days; a pause resumes by itself when its days are up
    max_pauses_per_round: int = 1
    max_paused_working_days: int = 10
    # calendar: seeded from chinesecalendar for every year it knows from this year on
    calendar_seed_from_year: int = 2004
    # from this day of the year (MM-DD) a missing next-year calendar is a warning (/readyz details, a metric)
    next_year_calendar_from: str = "11-01"
    # timers
    scheduler_enabled: bool = True
    scheduler_interval_s: float = 1.0
    scheduler_batch_size: int = 1000
    # simulated time (tests, training): PUT /v1/clock is refused unless allowed
    simulated_time_allowed: bool = False

    @field_validator("next_year_calendar_from")
    @classmethod
    def _month_day(cls, v: str) -> str:
        """A day of the year as MM-DD."""
        try:
            parse_month_day(v)
        except ValueError as exc:
            raise ValueError(f"{v!r} is not a day of the year as MM-DD (e.g. 11-01)") from exc
        return v
