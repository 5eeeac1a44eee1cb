"""Request and response bodies of intake's HTTP API (identifiers are checked here, naming the field)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from bancheng_shared.contracts.limits import (
    Address,
    Content,
    ExternalId,
    Name,
    Reason,
    RegionCode,
    TicketNo,
    Title,
    no_control_characters,
)
from bancheng_shared.contracts.vocab import Category, Channel
from intake_svc.domain import checks

FileName = Annotated[str, Field(max_length=300), AfterValidator(no_control_characters)]
Token = Annotated[str, Field(max_length=100), AfterValidator(no_control_characters)]


def aware_in_range(v: datetime | None) -> datetime | None:
    """A time with its zone that is a real UTC instant (years 1 to 9999 once the offset is applied)."""
    if v is None:
        return None
    if v.tzinfo is None:
        raise ValueError("give a time zone (e.g. +08:00)")
    try:
        v.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("out of range: with its offset the time falls outside the years 1 to 9999") from exc
    return v


class Complainant(BaseModel):
    """The person who asked (PII: stored protected, masked in answers)."""

    model_config = ConfigDict(extra="forbid")
    anonymous: bool = False
    name: Name | None = None
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
    name: Name = Field(min_length=1)
    credit_code: str | None = Field(default=None, max_length=30,
                                    description="统一社会信用代码 (18 chars, GB 32100-2015)")

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
    region_code: RegionCode | None = Field(default=None, description="组织目录中的区划代码 / region code")
    address: Address | None = None
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
    """A reference to a stored file (size and digest when known: an Open311 `media_url` carries neither)."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl
    name: FileName = Field(min_length=1)
    size: int | None = Field(default=None, ge=0, le=2_000_000_000)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


def _content(v: str) -> str:
    if not v.strip():
        raise ValueError("content is blank")
    return v


class TicketCreate(BaseModel):
    """A request from any channel."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel
    content: Content = Field(min_length=1, description="诉求内容 / the request text")
    title: Title | None = None
    category: Category | None = Field(default=None, description="来电人所述类别（可选）/ category as stated")
    complainant: Complainant | None = None
    enterprise: Enterprise | None = None
    location: Location | None = None
    external_id: ExternalId | None = Field(default=None, description="渠道自身编号 / the channel's own id")
    happened_at: datetime | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)

    _blank = field_validator("content")(_content)
    _aware = field_validator("happened_at")(aware_in_range)


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
    content: Content = Field(min_length=1)
    phone_last4: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    token: Token | None = None

    _blank = field_validator("content")(_content)




def _reason(v: str) -> str:
    if not v.strip():
        raise ValueError("reason is blank")
    return v.strip()


class MergeCreate(BaseModel):
    """An operator merges this ticket into another as its repeat (并单)."""

    model_config = ConfigDict(extra="forbid")
    into: TicketNo = Field(min_length=1, description="并入的工单编号 / the ticket to merge into")
    reason: Reason = Field(min_length=1, description="并单理由 / why")

    _blank = field_validator("reason")(_reason)


class UnmergeCreate(BaseModel):
    """An operator takes a merged request out of this ticket as its own (撤销并单)."""

    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=1, le=1_000_000, description="重复诉求序号（工单 repeats[].seq）/ the repeat's number "
                     "(`repeats[].seq` of the ticket)")
    reason: Reason = Field(min_length=1, description="撤销理由 / why")

    _blank = field_validator("reason")(_reason)


class RejectCreate(BaseModel):
    """An operator finds a possible repeat is another matter."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1, description="理由 / why")

    _blank = field_validator("reason")(_reason)
