"""sla-svc settings (env prefix SLA_). Rule numbers are settings, per DESIGN.md."""

from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class SlaSettings(ServiceSettings):
    """Settings of sla-svc."""

    model_config = SettingsConfigDict(env_prefix="SLA_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/sla.db"
    port: int = 8003
    timezone: str = "Asia/Shanghai"
    accept_working_days: int = 2
    resolve_working_days: int = 5
    resolve_working_days_complex: int = 10
    answer_working_days: int = 1
