"""Request and response bodies of intake's HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from bancheng_shared.contracts.vocab import Category, Channel


class Complainant(BaseModel):
    """The person who asked (PII: stored protected, masked in answers)."""

    model_config = ConfigDict(extra="forbid")
    anonymous: bool = False
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)


class Enterprise(BaseModel):
    """An enterprise that asked."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    credit_code: str | None = Field(default=None, description="统一社会信用代码 (18 chars)")


class Location(BaseModel):
    """Where the matter is."""

    model_config = ConfigDict(extra="forbid")
    region_code: str | None = Field(default=None, max_length=64, description="组织目录中的区划代码 / region code")
    address: str | None = Field(default=None, max_length=500)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    latitude: float | None = Field(default=None, ge=-90, le=90)


class Attachment(BaseModel):
    """A reference to a stored file."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000)
    name: str = Field(max_length=300)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


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


class TicketCreated(BaseModel):
    """The answer to a registration."""

    ticket_no: str
    status: str
    status_label: str
    received_at: datetime
    tracking_url: str
    replayed: bool = False
