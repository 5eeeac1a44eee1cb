"""triage-svc settings (env prefix TRIAGE_)."""

from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class TriageSettings(ServiceSettings):
    """Settings of triage-svc."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/triage.db"
    port: int = 8002
    city_region_code: str = "3399"
    # a 20,000-unit directory as JSON is about 4 MB
    max_body_bytes: int = 20_000_000
    # kinds a directory may add beyond the DESIGN.md vocabulary
    extra_kinds: list[str] = []
    # the return window (working days) before signing is run by sla: its DeemedSigned closes it; kept for the docs
    return_window_working_days: int = 2
    # a unit may still ask to return a work order this many working days after signing (签收后2个工作日内)
    return_after_signing_working_days: int = 2
    # the time zone of working days
    timezone: str = "Asia/Shanghai"
