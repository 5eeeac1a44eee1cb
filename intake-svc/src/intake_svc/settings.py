"""intake-svc settings (env prefix INTAKE_)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bancheng_shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of intake-svc."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./.data/intake.db"
    port: int = 8001
    # PII: a key ring of lines `<key id>:<urlsafe base64 of 32 random bytes>` (the first encrypts, every one
    # decrypts), in a file (INTAKE_PII_KEY_FILE, mode 0600) and/or comma-separated (INTAKE_PII_KEYS, for secret
    # managers); INTAKE_PII_KEY is the older passphrase (key id `legacy`). No key: refused at start, unless
    # INTAKE_PII_EPHEMERAL_KEY_ALLOWED (development: a random key per process). `rekey` moves data to the first key.
    pii_key_file: str = ""
    pii_keys: str = Field(default="", repr=False)
    pii_key: str = Field(default="", repr=False)
    pii_ephemeral_key_allowed: bool = False
    # aes-256-gcm (hashes HMAC-SHA256), or sm4-gcm (hashes HMAC-SM3) where 密评 asks for the national ciphers
    pii_cipher: Literal["aes-256-gcm", "sm4-gcm"] = "aes-256-gcm"
    # region codes accepted (prefixes, e.g. ["3399"]); empty accepts any well-formed code
    region_prefixes: list[str] = Field(default_factory=list)
    # requests arriving while a transaction is written share the next one (group commit), up to this many
    accept_max_group: int = Field(default=64, ge=1, le=1000)
    # groups written at the same time on PostgreSQL (SQLite: one): a second group is decided while the first waits
    # for its round trips (accept alone, server on the same two cores, three runs in turns: 497 against 464
    # tickets/s); more pays where round trips are slower (a database on another host)
    accept_group_writers: int = Field(default=2, ge=1, le=16)
    # merging repeats (并单)
    merge_enabled: bool = True
    merge_threshold: float = 0.45  # different people at the same exact place (building / ~50 m cell)
    merge_person_threshold: float = 0.33  # the same person: containment of the shorter text
    merge_window_days: int = 30
    # uncertain pairs are not merged but recorded as possible repeats (疑似重复) for an operator: the same exact
    # place from this similarity (with no matter against it) up to merge_threshold, the same person from this
    # containment up to merge_person_threshold; at most this many per new ticket
    merge_possible_threshold: float = Field(default=0.30, ge=0, le=1)
    merge_person_possible_threshold: float = Field(default=0.20, ge=0, le=1)
    merge_possible_max: int = Field(default=3, ge=0, le=20)
    merge_index_days: int = 90
    # characters of the content a ticket list shows around the first match (`excerpt`)
    search_excerpt_chars: int = Field(default=80, ge=20, le=500)
    merge_num_perm: int = 64
    merge_bands: int = 32
    merge_candidates: int = 10
    merge_refresh_s: float = 2.0
    # statuses after which a ticket no longer takes repeats
    closed_statuses: list[str] = Field(default_factory=lambda: ["closed", "answered", "transferred"])
    # proofs of "my ticket" (public lookup, front ends' follow-ups; domain.throttle): failed tries per source address
    # per window before 429, the block doubling each time up to the max; per ticket (all sources): after
    # `ticket_slow_after` failures each source gets one try at a time, after `ticket_max_failures` the last four
    # digits are not tried in that window (the token still is)
    public_lookup_max_failures: int = Field(default=10, ge=1, le=1000)
    public_lookup_window_s: float = Field(default=600.0, gt=0)
    public_lookup_backoff_max_s: float = Field(default=86400.0, gt=0)
    public_lookup_ticket_slow_after: int = Field(default=10, ge=1)
    public_lookup_ticket_max_failures: int = Field(default=100, ge=1)
    public_lookup_ticket_window_s: float = Field(default=86400.0, gt=0)
    # platforms in: {name: secret} (more can be registered in the platforms table); timestamp tolerance
    platform_secrets: dict[str, str] = Field(default_factory=dict, repr=False)
    platform_max_skew_s: int = 300
    # callbacks out
    callback_poll_s: float = 1.0
    callback_max_attempts: int = 6
    callback_backoff_base_s: float = 2.0
    callback_backoff_max_s: float = 3600.0
    callback_timeout_s: float = 10.0
    # a replica's claim on a delivery lasts this long (at least three timeouts), then another replica takes it over
    callback_lease_s: float = Field(default=60.0, gt=0)
    # where callbacks may go (SSRF guard): https only unless http is allowed; no loopback, private, link-local,
    # multicast, unspecified or reserved address (checked after DNS resolution at every delivery) unless the host
    # name (`name`, `*.suffix`) or its network (IP or CIDR) is on the allow-list; `allowlist_only`: nothing else
    callback_allow_http: bool = False
    callback_allowed_targets: list[str] = Field(default_factory=list)
    callback_allowlist_only: bool = False
    # a replaced subscription secret keeps signing (a second signature) this long
    callback_secret_overlap_s: int = Field(default=86400, ge=0, le=30 * 86400)
    # Open311: the jurisdiction served (an other jurisdiction_id is 404), the discovery contact, the places of
    # regions ({code: [lat, long]}) a request's lat/long is routed to (the nearest within max km)
    open311_jurisdiction_id: str = "bancheng"
    open311_contact: str = "12345 政务服务便民热线 / 12345 government service hotline"
    open311_places: dict[str, tuple[float, float]] = Field(default_factory=dict)
    open311_place_max_km: float = 30.0
    # SMS: empty gateway URL → messages are only recorded in sms_outbox; otherwise POSTed there
    sms_gateway_url: str = ""
    sms_gateway_token: str = Field(default="", repr=False)
    sms_signature: str = "【办成】"
    sms_poll_s: float = 1.0
    # how long the gateway may take to answer; a replica's claim on a message lasts sms_lease_s (at least three
    # timeouts), after which another replica takes the message over (its holder was killed or hangs)
    sms_timeout_s: float = Field(default=10.0, gt=0)
    sms_lease_s: float = Field(default=60.0, gt=0)
    # a failed message is tried again after base · 2^(n-1) s (at most max; equal jitter: between half and all of
    # it), parked as `failed` after the last try
    sms_backoff_base_s: float = Field(default=30.0, gt=0)
    sms_backoff_max_s: float = Field(default=3600.0, gt=0)
    sms_max_attempts: int = Field(default=5, ge=1, le=50)

    # where the tracking links given to people point: the console's citizen page (its public address); empty →
    # intake's own JSON lookup
    tracking_base_url: str = ""
    # addresses of proxies (the console) whose X-Forwarded-For names the person, so the lookup throttle counts
    # each person rather than the proxy
    trusted_proxies: list[str] = Field(default_factory=list)

    @property
    def base_url(self) -> str:
        """Where the public lookup lives."""
        return self.public_base_url or f"http://{self.host}:{self.port}"

    def tracking_url(self, ticket_no: str, token: str) -> str:
        """The tracking link a person is given: the console's page when configured, else the JSON lookup."""
        if self.tracking_base_url:
            return f"{self.tracking_base_url.rstrip('/')}/track/{ticket_no}?token={token}"
        return f"{self.base_url}/v1/public/tickets/{ticket_no}?token={token}"
