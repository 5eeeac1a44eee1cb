"""intake-svc settings (env prefix INTAKE_)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of intake-svc."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/intake.db"
    port: int = 8001
    # PII: the master key of encryption and keyed hashes (INTAKE_PII_KEY). Empty → a dev key, with a warning.
    pii_key: str = Field(default="", repr=False)
    # region codes accepted (prefixes, e.g. ["3399"]); empty accepts any well-formed code
    region_prefixes: list[str] = Field(default_factory=list)
    # requests arriving while a transaction is written share the next one (group commit), up to this many
    accept_max_group: int = Field(default=64, ge=1, le=1000)
    # merging repeats (并单)
    merge_enabled: bool = True
    merge_threshold: float = 0.45
    merge_window_days: int = 30
    merge_index_days: int = 90
    merge_num_perm: int = 64
    merge_bands: int = 32
    merge_candidates: int = 10
    merge_refresh_s: float = 2.0
    # statuses after which a ticket no longer takes repeats
    closed_statuses: list[str] = Field(default_factory=lambda: ["closed", "answered", "transferred"])
    # public lookup: failed attempts allowed per ticket per window before 429
    public_lookup_max_failures: int = 10
    public_lookup_window_s: float = 600.0
    # platforms in: {name: secret} (more can be registered in the platforms table); timestamp tolerance
    platform_secrets: dict[str, str] = Field(default_factory=dict, repr=False)
    platform_max_skew_s: int = 300
    # callbacks out
    callback_poll_s: float = 1.0
    callback_max_attempts: int = 6
    callback_backoff_base_s: float = 2.0
    callback_backoff_max_s: float = 3600.0
    callback_timeout_s: float = 10.0
    # SMS: empty gateway URL → messages are only recorded in sms_outbox; otherwise POSTed there
    sms_gateway_url: str = ""
    sms_gateway_token: str = Field(default="", repr=False)
    sms_signature: str = "【办成】"
    sms_poll_s: float = 1.0

    @property
    def base_url(self) -> str:
        """Where the public lookup lives (the tracking links given to people)."""
        return self.public_base_url or f"http://{self.host}:{self.port}"
