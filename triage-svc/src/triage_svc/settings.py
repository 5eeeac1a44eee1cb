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
    # the return window (working days) is run by sla: its DeemedSigned closes it; kept here for the docs
    return_window_working_days: int = 2
