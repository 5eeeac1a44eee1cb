"""Request and response bodies of intake's HTTP API (identifiers are checked here, naming the field)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from bancheng_shared.contracts.vocab import Category, Channel
from intake_svc.domain import checks


class Complainant(BaseModel):
    """The person who asked (PII: stored protected, masked in answers)."""

    model_config = ConfigDict(extra="forbid")
    anonymous: bool = False
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=30, description="手机或固话 / mobile or landline")
    id_number: str | None = Field(default=None, max_length=18, description="18 位身份证号 / resident ID number")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        p = checks.clean_phone(v)
        if not checks.phone_ok(p):
            raise ValueError("not a mainland mobile (11 digits, 1[3-9]…) or landline (area code + number)")
        return p

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().upper()
        if not checks.id_number_ok(v):
            raise ValueError("not a valid 18-character resident ID number (format, date or check character)")
        return v

    @model_validator(mode="after")
    def _anonymous(self) -> Complainant:
        if self.anonymous and (self.name or self.phone or self.id_number):
            raise ValueError("an anonymous complainant carries no name, phone or ID number")
        return self


class Enterprise(BaseModel):
    """An enterprise that asked."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    credit_code: str | None = Field(default=None, description="统一社会信用代码 (18 chars, GB 32100-2015)")

    @field_validator("credit_code")
    @classmethod
    def _code(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().upper()
        if not checks.credit_code_ok(v):
            raise ValueError("not a valid unified social credit code (18 chars, GB 32100-2015 check character)")
        return v


class Location(BaseModel):
    """Where the matter is."""

    model_config = ConfigDict(extra="forbid")
    region_code: str | None = Field(default=None, max_length=64, description="组织目录中的区划代码 / region code")
    address: str | None = Field(default=None, max_length=500)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    latitude: float | None = Field(default=None, ge=-90, le=90)

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not checks.region_code_ok(v.strip()):
            raise ValueError("not a region code of the directory (2, 4, 6, 9 or 12 digits of a real province)")
        return v.strip()


class Attachment(BaseModel):
    """A reference to a stored file."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl
    name: str = Field(min_length=1, max_length=300)
    size: int = Field(ge=0, le=2_000_000_000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def _content(v: str) -> str:
    if not v.strip():
        raise ValueError("content is blank")
    return v


class TicketCreate(BaseModel):
    """A request from any channel."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel
    content: str = Field(min_length=1, max_length=10000, description="诉求内容 / the request text")
    title: str | None = Field(default=None, max_length=500)
    category: Category | None = Field(default=None, description="来电人所述类别（可选）/ category as stated")
    complainant: Complainant | None = None
    enterprise: Enterprise | None = None
    location: Location | None = None
    external_id: str | None = Field(default=None, max_length=200, description="渠道自身编号 / the channel's own id")
    happened_at: datetime | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)

    _blank = field_validator("content")(_content)

    @field_validator("happened_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("give a time zone (e.g. +08:00)")
        return v


class PlatformItem(BaseModel):
    """An item another government platform transfers in (交办); its own id is required."""

    model_config = ConfigDict(extra="forbid")
    external_id: str = Field(min_length=1, max_length=200, description="平台事项编号 / the platform's item id")
    content: str = Field(min_length=1, max_length=10000)
    title: str | None = Field(default=None, max_length=500)
    category: Category | None = None
    complainant: Complainant | None = None
    enterprise: Enterprise | None = None
    location: Location | None = None
    happened_at: datetime | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)

    _blank = field_validator("content")(_content)

    def as_ticket(self) -> TicketCreate:
        """The same request as a platform-channel registration."""
        return TicketCreate(channel=Channel.platform, **self.model_dump())


class TicketCreated(BaseModel):
    """The answer to a registration (a new ticket, or a repeat merged into an open one)."""

    ticket_no: str
    status: str
    status_label: str
    received_at: datetime
    tracking_token: str = Field(description="公开查询凭证 / token for the public lookup")
    tracking_url: str
    replayed: bool = False
    merged: bool = False
    repeat_count: int = 0
    similarity: float | None = None


class TicketBatch(BaseModel):
    """Many requests handed in at once (批量登记): written together, all of them or none."""

    model_config = ConfigDict(extra="forbid")

    items: list[TicketCreate] = Field(min_length=1, max_length=500,
                                      description="诉求，每批至多 500 件 / the requests, at most 500 per batch")


class TicketBatchCreated(BaseModel):
    """The answer of each request of a batch, in the order given."""

    items: list[TicketCreated]
    created: int = Field(description="新登记的工单数 / new tickets")
    merged: int = Field(description="并入已有工单的诉求数 / requests merged into open tickets")
    replayed: int = Field(description="重复提交、返回首次结果的数目 / repeats of an earlier submission")


class FollowUpCreate(BaseModel):
    """The person adds to their own ticket."""

    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1, max_length=10000)
    phone_last4: str | None = Field(default=None, pattern=r"^\d{4}$")
    token: str | None = Field(default=None, max_length=100)

    _blank = field_validator("content")(_content)


class SubscriptionCreate(BaseModel):
    """A callback subscription."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, max_length=100, description="事件类型，'*' 为全部 / event types")
    secret: str = Field(min_length=16, max_length=200, description="签名密钥 / signing secret (≥16 chars)")


class SubscriptionUpdate(BaseModel):
    """Changes to a subscription."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: AnyHttpUrl | None = None
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    active: bool | None = None


class PlatformRegister(BaseModel):
    """A platform's shared secret and where its status callbacks go."""

    model_config = ConfigDict(extra="forbid")
    secret: str = Field(min_length=16, max_length=200)
    callback_url: AnyHttpUrl | None = None
    callback_secret: str | None = Field(default=None, min_length=16, max_length=200)
    callback_events: list[str] = Field(default_factory=lambda: ["*"])

