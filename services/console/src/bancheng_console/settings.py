"""The console's settings (env prefix CONSOLE_): where the services are, sessions, time zone."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """What an operator of the console may change."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8005
    intake_url: str = "http://127.0.0.1:8001"
    triage_url: str = "http://127.0.0.1:8002"
    sla_url: str = "http://127.0.0.1:8003"
    oversight_url: str = "http://127.0.0.1:8004"
    # signs the session cookie and encrypts the API keys kept with the sessions; every replica needs the same one.
    # Empty → with a SQLite file, a secret made once and kept beside it (…/console.secret); required otherwise
    session_secret: str = Field(default="", repr=False)
    # where the sessions live (the console's only table; no business data): a SQLite file by default, a PostgreSQL
    # database (postgresql+asyncpg://…) when several replicas share them
    database_url: str = Field(default="sqlite+aiosqlite:///.data/console.db", repr=False)
    session_idle_minutes: int = Field(default=120, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    # the cookie is Secure when the request came over https (directly or per X-Forwarded-Proto); true forces it
    cookie_secure: bool = False
    timezone: str = "Asia/Shanghai"
    api_timeout_s: float = Field(default=10.0, gt=0)
    inbox_limit: int = Field(default=200, ge=1, le=1000)
    search_page_size: int = Field(default=20, ge=1, le=200)  # tickets per page of the search screen
    # items whose details a page reads one by one (the work team's return requests, the possible repeats, a unit's
    # letters): at most this many per page, and at most api_concurrency reads in flight at once
    detail_page_size: int = Field(default=25, ge=1, le=200)
    api_concurrency: int = Field(default=8, ge=1, le=64)
    log_level: str = "INFO"
    # the leader's board: open rounds read per list (one page), digits of a place's code that name its region,
    # weeks in the trend
    board_limit: int = Field(default=500, ge=1, le=500)
    board_region_digits: int = Field(default=6, ge=1, le=12)
    board_weeks: int = Field(default=8, ge=1, le=26)
