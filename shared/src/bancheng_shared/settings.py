"""Settings common to every service; each service subclasses with its own env prefix."""

from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Plumbing settings every service has (env prefix set by the subclass, e.g. INTAKE_)."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    database_url: str = "sqlite+aiosqlite:///./.data/service.db"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    topic_partitions: int = 12
    # consumer groups are `<prefix><service>.<consumer>` (consumer_group, when set, replaces `<prefix><service>`);
    # the relays name the groups of the other services that read their topics the same way (topics.READERS)
    consumer_group_prefix: str = ""
    consumer_group: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = 2_000_000
    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 0.2
    outbox_retention_hours: float = 168.0
    # how long a handled event's id is kept against its coming again: an event may be published again from the
    # outbox up to outbox_retention_hours after it was first sent, and a topic keeps it for a week after that
    # (deploy/k8s/base/topics.yaml; a group without offsets starts from the earliest), so at least twice the
    # outbox's retention
    inbox_retention_hours: float = 360.0
    broker_epoch_check_s: float = 5.0
    # after the broker comes back empty: "unconfirmed" republishes the outbox rows some consumer group had not
    # committed past; "all" every retained row (the behaviour before; a backfill for a group added since)
    broker_recovery: Literal["unconfirmed", "all"] = "unconfirmed"
    # how often the relay reads the consumer groups' committed offsets and stores what they confirmed
    outbox_confirm_interval_s: float = 10.0
    consumer_batch_size: int = 500
    # a small batch waits this long for more before it is applied (fewer transactions under steady load)
    consumer_linger_ms: int = 20
    # the embedded broker lets a member join after about half the session timeout
    consumer_session_timeout_ms: int = 6000
    consumer_heartbeat_ms: int = 1000
    consumers_enabled: bool = True
    relay_enabled: bool = True
    api_key_cache_s: float = 30.0
    # the database-backed gauges of /metrics (outbox backlog, clocks, SMS...) are recomputed at most this often
    ops_metrics_cache_s: float = 15.0
    # SQLite statements on the loop's thread instead of a worker thread (see bancheng_shared.sqlite_inline)
    sqlite_inline: bool = True
    # a production deployment: refuses training/test modes such as simulated time
    production: bool = False
    # simulated time (tests, training): the service follows PUT /v1/clock; refused together with production
    simulated_time_allowed: bool = False

    @model_validator(mode="after")
    def _inbox_outlives_what_may_come_again(self) -> "ServiceSettings":
        """The inbox keeps handled ids at least as long as an event may still arrive again."""
        if self.inbox_retention_hours < 2 * self.outbox_retention_hours:
            raise ValueError(f"inbox_retention_hours ({self.inbox_retention_hours:g}) must be at least twice "
                             f"outbox_retention_hours ({self.outbox_retention_hours:g}): an event republished "
                             "from the outbox stays a topic's retention (a week) on the broker, and a handled "
                             "event whose id is gone would be applied again")
        return self

    @model_validator(mode="after")
    def _no_simulated_time_in_production(self) -> "ServiceSettings":
        """Simulated time is a training and test mode: refused when the production setting is on."""
        if self.production and self.simulated_time_allowed:
            raise ValueError("simulated_time_allowed is refused when production is on (a training/test mode)")
        return self
