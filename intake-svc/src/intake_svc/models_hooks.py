"""Request and response bodies of the hooks: platforms in, callback subscriptions and deliveries out, Open311
GeoReport v2 (the JSON forms; the XML forms carry the same fields as elements)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints

from bancheng_shared.contracts.limits import NAME_MAX, URL_MAX, Name, no_control_characters
from intake_svc.domain.timeline import FOLLOWED_TYPES

CallbackUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=URL_MAX),
                        Field(description="https URL (http only where an admin allows it); no address inside the "
                                          "network unless an admin allows it / 回调地址")]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200), AfterValidator(no_control_characters),
                   Field(description="签名密钥（≥16 字符；whsec_<base64> 按 Standard Webhooks 解码）/ signing secret "
                                     "(≥16 chars; a whsec_<base64> secret is decoded as Standard Webhooks does)")]
EventType = Annotated[str, StringConstraints(max_length=80), AfterValidator(no_control_characters),
                      Field(json_schema_extra={"enum": ["*", *sorted(FOLLOWED_TYPES)]})]
MAX_OVERLAP_S = 30 * 86400


# ---------------------------------------------------------------- requests


class SubscriptionCreate(BaseModel):
    """A callback subscription."""

    model_config = ConfigDict(extra="forbid")
    name: Name = Field(min_length=1)
    url: CallbackUrl
    event_types: list[EventType] = Field(min_length=1, max_length=100,
                                         description="事件类型，'*' 为全部 / event types, '*' for all")
    secret: Secret


class SubscriptionUpdate(BaseModel):
    """Changes to a subscription. A new `secret` replaces the current one; the replaced one keeps signing (a second
    signature) for `previous_secret_valid_s` seconds (default INTAKE_CALLBACK_SECRET_OVERLAP_S, 0: at once)."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = Field(default=None, min_length=1)
    url: CallbackUrl | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=100)
    secret: Secret | None = None
    previous_secret_valid_s: int | None = Field(
        default=None, ge=0, le=MAX_OVERLAP_S,
        description="旧密钥继续签名的秒数（至多 30 天）/ how long the replaced secret keeps signing (≤ 30 days)")
    active: bool | None = None


class PlatformRegister(BaseModel):
    """A platform's shared secret and where its status callbacks go."""

    model_config = ConfigDict(extra="forbid")
    secret: Secret
    callback_url: CallbackUrl | None = None
    callback_secret: Secret | None = None
    callback_events: list[EventType] = Field(default_factory=lambda: ["*"], min_length=1, max_length=100)


# ---------------------------------------------------------------- responses


class PlatformRegistered(BaseModel):
    """A platform as registered: its name and the subscription of its automatic callbacks (None without a URL)."""

    platform: str
    callback_subscription_id: str | None


class SubscriptionOut(BaseModel):
    """A subscription as shown (never its secrets)."""

    id: str
    name: str = Field(max_length=NAME_MAX)
    url: str
    event_types: list[str]
    platform: str | None = Field(description="设置时只回调该平台交办的工单 / set: only that platform's items")
    active: bool
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="轮换中旧密钥停止签名的时间 / when the replaced secret stops signing (rotation)")


class DeliveryOut(BaseModel):
    """A delivery: one event for one subscription, its state and its last try."""

    id: int
    subscription_id: str
    event_id: str
    event_type: str
    ticket_no: str
    status: str = Field(description="pending, delivered, parked")
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None = Field(description="接收方的 HTTP 状态 / the receiver's HTTP status")
    last_error: str | None = Field(
        description="简短原因（不含接收方的响应内容）/ a short reason (never the receiver's body)")
    created_at: datetime
    delivered_at: datetime | None


class DeliveryAttempt(BaseModel):
    """One try of a delivery."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryLogged(DeliveryOut):
    """A delivery with every try."""

    attempt_log: list[DeliveryAttempt]


# ---------------------------------------------------------------- Open311 GeoReport v2 (JSON)


class Open311Service(BaseModel):
    """A GeoReport service: one of our categories."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class Open311Attribute(BaseModel):
    """An attribute a service asks for (ours ask for none)."""

    model_config = ConfigDict(extra="allow")
    code: str


class Open311ServiceDefinition(BaseModel):
    """A GeoReport service definition."""

    service_code: str
    attributes: list[Open311Attribute]


class Open311ServiceRequest(BaseModel):
    """A ticket as a GeoReport service request; never complainant data. Text, place and media are empty where the
    caller may not see them (a 举报 report to a front end or platform, a request merged into another's ticket)."""

    service_request_id: str
    status: str = Field(description="open / closed")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Open311Created(BaseModel):
    """The answer to a new service request."""

    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None


class Open311Token(BaseModel):
    """The service request a token belongs to."""

    service_request_id: str
    token: str


class Open311Error(BaseModel):
    """A GeoReport error (answered as a list of these, or <errors><error> in XML)."""

    code: int
    description: str


class Open311Endpoint(BaseModel):
    """One API endpoint listed by service discovery."""

    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Open311Discovery(BaseModel):
    """Open311 service discovery: where the GeoReport v2 endpoint is and what it speaks."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]
