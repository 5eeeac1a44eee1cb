"""oversight-svc settings (env prefix OVERSIGHT_)."""

from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class OversightSettings(ServiceSettings):
    """Settings of oversight-svc."""

    model_config = SettingsConfigDict(env_prefix="OVERSIGHT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/oversight.db"
    port: int = 8004
    timezone: str = "Asia/Shanghai"
