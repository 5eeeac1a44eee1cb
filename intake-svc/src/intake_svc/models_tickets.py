"""Response bodies of the ticket routes (staff view, lists, follow-ups, the PII log, the SMS outbox) and of the
public lookup, as the routes answer them today: the documented schema is the real one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TicketSummary(BaseModel):
    """A ticket as lists show it: no complainant fields; the excerpt masked (phone and ID numbers, the person's
    name) for roles that may not see PII."""

    ticket_no: str = Field(description="工单编号 / ticket number")
    channel: str = Field(description="渠道 / channel")
    platform: str | None = Field(description="交办平台（平台渠道）/ the platform an item came from")
    status: str
    status_label: str = Field(description="状态（中文）/ status in words")
    tier: str | None = Field(description="红黄绿灯 / tier")
    category: str | None = Field(description="类别（分类后；此前为来电人所述）/ category (as triaged, else as stated)")
    region_code: str | None
    unit: str | None = Field(description="当前承办单位编码 / the unit the ticket is at")
    unit_name: str | None
    deadline: datetime | None = Field(description="办理时限 / resolution deadline")
    alert_level: str | None = Field(description="预警级别 / alert level")
    repeat_count: int = Field(description="并入的重复诉求数 / repeats merged into it")
    merged_into: str | None = Field(default=None, description="已人工并入的工单 / the ticket an operator merged it "
                                    "into (status `merged`)")
    received_at: datetime
    updated_at: datetime
    title: str | None = Field(default=None, description="标题 / title")
    excerpt: str = Field(default="", description="诉求内容摘录（命中处附近；无权查看个人信息的角色脱敏）/ the content "
                         "around the first match (masked for roles that may not see PII)")


class TicketList(BaseModel):
    """A page of tickets, newest first; `next_cursor` fetches the next page (null: the last one); `total` is the
    exact number of tickets matching the filters (all pages)."""

    items: list[TicketSummary]
    next_cursor: str | None
    total: int = Field(description="符合条件的工单总数（精确）/ tickets matching the filters, all pages (exact)")


class ComplainantShown(BaseModel):
    """The complainant, in full (roles that may see PII; the read is audit-logged) or masked (`masked: true`)."""

    anonymous: bool
    name: str | None
    phone: str | None
    id_number: str | None
    enterprise: EnterpriseShown | None
    masked: bool


class EnterpriseShown(BaseModel):
    """The enterprise that asked."""

    name: str
    credit_code: str | None


class ComplainantWithheld(BaseModel):
    """A report's informant, not shown to the unit reported on."""

    model_config = ConfigDict(extra="forbid")
    hidden: Literal[True]
    reason: str


class ComplainantAnonymous(BaseModel):
    """Nobody to show: the person asked anonymously."""

    model_config = ConfigDict(extra="forbid")
    anonymous: Literal[True]


class AttachmentShown(BaseModel):
    """A file the person attached (a reference to where it is stored)."""

    url: str
    name: str
    size: int | None = None
    sha256: str | None = None


class RepeatShown(BaseModel):
    """A repeat merged into the ticket (并单); its phone per role, as the complainant's."""

    seq: int
    channel: str
    content: str
    same_person: bool
    similarity: float
    received_at: datetime
    phone: str | None
    source_ticket_no: str | None = Field(default=None, description="人工并入的原工单 / the ticket an operator "
                                         "merged in")
    merged_by: str | None = None
    merge_reason: str | None = None
    unmerged_into: str | None = Field(default=None, description="撤销并单后另立的工单 / the ticket it became when "
                                      "taken out")
    unmerged_at: datetime | None = None
    unmerged_by: str | None = None
    unmerge_reason: str | None = None


class PossibleRepeatShown(BaseModel):
    """A ticket this one may repeat (疑似重复): not merged; an operator merges it (confirmed) or rejects it."""

    ticket_no: str = Field(description="可能重复的工单 / the ticket it may repeat")
    similarity: float
    same_person: bool
    state: Literal["open", "confirmed", "rejected", "dropped"]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None


class FollowUpShown(BaseModel):
    """What the person added later."""

    content: str
    added_at: datetime


class StepShown(BaseModel):
    """One step of the ticket's timeline (`public`: the person sees it in the public lookup too)."""

    at: datetime
    event: str
    label: str
    public: bool


class TicketView(TicketSummary):
    """The whole ticket for staff: the request, the complainant per role, repeats, follow-ups, every step."""

    title: str | None
    content: str
    address: str | None
    longitude: float | None
    latitude: float | None
    happened_at: datetime | None
    external_id: str | None
    attachments: list[AttachmentShown]
    complainant: ComplainantShown | ComplainantWithheld | ComplainantAnonymous
    repeats: list[RepeatShown]
    possible_repeats: list[PossibleRepeatShown] = Field(
        description="疑似重复（承办单位不可见）/ possible repeats (not shown to unit keys)")
    follow_ups: list[FollowUpShown]
    timeline: list[StepShown]


class MergeDone(BaseModel):
    """The ticket was merged into another as its repeat number `seq`."""

    ticket_no: str
    into: str
    seq: int
    repeat_count: int = Field(description="并入后目标工单的重复诉求数 / the target's repeats now")
    same_person: bool
    similarity: float
    merged_at: datetime


class UnmergeDone(BaseModel):
    """The merged request is its own ticket now (`ticket_no`, new), registered as a fresh request."""

    ticket_no: str = Field(description="新工单编号 / the new ticket")
    from_ticket_no: str
    seq: int
    repeat_count: int = Field(description="原工单现在的重复诉求数 / the original ticket's repeats now")
    status: str
    unmerged_at: datetime


class PossibleRepeatDecided(BaseModel):
    """A possible repeat was rejected."""

    ticket_no: str
    candidate_no: str
    state: str
    decided_at: datetime


class FollowUpReceipt(BaseModel):
    """A follow-up was added: how many the ticket has now."""

    ticket_no: str
    follow_ups: int
    added_at: datetime


class PiiAccessEntry(BaseModel):
    """One full read of a ticket's complainant data: who, when, which fields, through which route."""

    id: int
    at: datetime
    key_id: str
    key_name: str
    role: str
    ticket_no: str
    fields: list[str]
    route: str


class SmsShown(BaseModel):
    """A text message of the outbox; the number is masked (a unit's is its duty number from the org directory)."""

    id: int
    kind: str = Field(description="ticket_registered, repeat_merged, alert_reported, reply, answered, "
                      "return_approved, extension_approved")
    ticket_no: str
    unit_code: str | None
    to: str | None = Field(description="脱敏号码 / the number, masked")
    text: str
    status: str = Field(description="recorded, pending, sent, failed, no_recipient (a unit without an SMS number)")
    attempts: int
    last_error: str | None = Field(description="the gateway's last error, or why the message is parked")
    next_attempt_at: datetime | None = Field(default=None, description="a failed message's next try (backoff)")
    created_at: datetime
    sent_at: datetime | None


class PublicStep(BaseModel):
    """A step the person may see."""

    at: datetime
    label: str
    reply: str | None = Field(default=None, description="承办单位的答复 / the unit's reply (or the direct answer)")


class PublicTicket(BaseModel):
    """What the person sees of their ticket: status, public steps and the latest reply, nothing about any person."""

    ticket_no: str
    status: str
    status_label: str
    received_at: datetime
    reply: str | None = Field(default=None, description="最新答复 / the latest reply to the person")
    steps: list[PublicStep]


ComplainantShown.model_rebuild()
