"""triage-svc settings (env prefix TRIAGE_)."""

from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class TriageSettings(ServiceSettings):
    """Settings of triage-svc."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/triage.db"
    port: int = 8002
    city_region_code: str = "3399"
