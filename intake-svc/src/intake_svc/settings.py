"""intake-svc settings (env prefix INTAKE_)."""

from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of intake-svc."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/intake.db"
    port: int = 8001
