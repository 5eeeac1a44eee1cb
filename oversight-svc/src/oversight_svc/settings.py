"""oversight-svc settings (env prefix OVERSIGHT_). Numbers officials change are settings."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class OversightSettings(ServiceSettings):
    """Settings of oversight-svc."""

    model_config = SettingsConfigDict(env_prefix="OVERSIGHT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/oversight.db"
    port: int = 8004
    timezone: str = "Asia/Shanghai"
    # statistics
    # the years statistics, reports, hotspots and copies may ask for (a day inside year 1 … 9999 either side, so
    # that a period, a window and local bounds in UTC stay real dates)
    stats_min_year: int = Field(1990, ge=2, le=9998)
    stats_max_year: int = Field(2199, ge=2, le=9998)
    ranking_min_sample: int = 20  # a unit needs this many in a rate's denominator to be ranked
    ranking_top: int = 10
    gap_threshold: float = 0.3  # share of "resolved" claims the people deny that flags a unit
    gap_min_sample: int = 5
    # return visits
    visit_due_hours: float = 72.0  # when sla publishes no visit due time
    # supervision letters
    letter_default_working_days: int = 5
    letter_max_days: int = Field(366, ge=1, le=3660)  # a reply is due within this many days of sending
    # the working-day calendar: the years chinesecalendar knows from this year on (as sla seeds them), overridden
    # by every calendar year version sla publishes
    calendar_seed_from_year: int = 2004
    letter_check_interval_s: float = 30.0
    open_cases_for_red: bool = True
    open_cases_for_escalation: bool = True
    # hotspots
    hotspot_window_days: int = Field(30, ge=1, le=3660)
    hotspot_min_places: int = 3
    hotspot_similarity: float = 0.35
    hotspot_place_digits: int = 9  # region code digits that make a "place" (9 = street/town, 6 = district)
    # the level of the unit a hotspot's work order is handed down to (1 city department, 2 district …)
    hotspot_unit_level: int = Field(1, ge=1, le=4)
    # 回头看: the share of closed tickets re-visited, and how many calendar days after closing
    recheck_sample_rate: float = Field(0.1, ge=0.0, le=1.0)
    recheck_after_days: int = Field(30, ge=0, le=3660)
    # reports
    report_overdue_limit: int = 200
    # process improvement: a department answers a suggestion within this many statutory working days (the seeds
    # set no number for it; 10 is the county plan's limit for complex matters, 问题复杂、解决难度大的在10个工作日内)
    suggestion_answer_working_days: int = Field(10, ge=1, le=60)
    # yearly assessment: the default scheme (version 0 of every year until an admin stores one); None = the packaged
    # data/assessment_scheme.json
    assessment_scheme_file: str | None = None
    # processes that build report files (XLSX, HTML, CSV) off the event loop; 0 builds them in a thread (which
    # still holds the GIL: the loop stalls for most of a city-scale XLSX, see the README's benchmark)
    report_workers: int = Field(1, ge=0, le=32)
    # ledgers (台账): rows read and written per chunk (a city's year is never held in memory), and where the
    # file is built before it is sent (None: the system's temporary directory)
    ledger_chunk_rows: int = Field(2000, ge=1, le=100_000)
    ledger_tmp_dir: str | None = None
