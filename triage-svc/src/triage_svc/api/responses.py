"""What triage's routes answer (2xx): one typed model per body, so the OpenAPI document says what comes back.

The bodies are the ones the routes always returned (same fields, names and values); only the catalogue document,
a log line's detail and the scores are open objects, keyed by data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bancheng_shared.contracts.vocab import Category, Channel, Domain, ResolutionOutcome, Route, Tier
from triage_svc.domain.lifecycle import Action, State

# ------------------------------------------------------------------------------------------ work orders


class LogLineOut(BaseModel):
    """A line of a work order's log: what happened, by whom, in which round, from which state to which."""

    at: datetime
    action: str = Field(description="动作 / the action (an Action, or triage / repeat)")
    actor: str = Field(description="操作者：角色:密钥名称，或 system / intake / sla / oversight / who acted")
    round: int
    from_state: State | None = None
    to_state: State | None = None
    detail: dict[str, Any] | None = Field(default=None, description="动作的细节 / what the action carried")


class WorkOrderOut(BaseModel):
    """A work order: its decision and the reasons, where it stands, who has it, what may be done, its log."""

    ticket_no: str
    state: State
    content: str = Field(description="诉求内容 / the request's text")
    address: str | None = None
    channel: Channel | None = None
    category: Category
    domain: Domain
    department_kinds: list[str] = Field(description="部门类别（第一个为主办）/ department kinds, the lead's first")
    tier: Tier
    response_level: int = Field(ge=1, le=3)
    complex: bool
    route: Route
    region_code: str | None = None
    place_source: str | None = Field(default=None, description="given / address_text / none")
    lead_unit: str | None = None
    lead_unit_name: str | None = None
    co_units: list[str] | None = None
    transfer_unit: str | None = Field(default=None, description="转办接收机关（信访部门 / 政法机关）：它签收 / the "
                                      "receiving organ of a transfer (petition office, political-legal organs); "
                                      "it signs for the item")
    round: int
    returns_count: int
    repeat_count: int
    own_repeat_count: int = Field(default=0, description="同一人重复诉求次数 / repeats from the same person (they "
                                  "raise the tier; other people's merged requests are counted in repeat_count only)")
    urgent: bool
    deemed_signed: bool
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    return_request: dict[str, Any] | None = Field(default=None, description="退回申请及审核 / the return request")
    resolution: dict[str, Any] | None = Field(default=None, description="办理结果 / the unit's result")
    suggested_answer: str | None = None
    knowledge_id: str | None = None
    answer: str | None = None
    copies: list[str] | None = Field(default=None, description="已抄送 / copies issued (tier:on)")
    catalogue_version: int | None = None
    explanation: list[str] | None = Field(default=None, description="每一步决定的理由 / why, step by step")
    closed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[Action] = Field(description="当前状态允许的动作 / what the state allows")
    log: list[LogLineOut]


class WorkOrderSummary(BaseModel):
    """A work order in a list."""

    ticket_no: str
    state: State
    tier: Tier
    category: Category
    route: Route
    lead_unit: str | None = None
    lead_unit_name: str | None = None
    transfer_unit: str | None = None
    round: int
    response_level: int
    updated_at: datetime


class ActedOut(BaseModel):
    """A work order after an action: its ticket number and the state it is in now."""

    ticket_no: str
    state: State


class DispatchedOut(ActedOut):
    """Dispatched by hand: the lead unit and the co-units."""

    lead_unit: str
    co_units: list[str]


class SignedOut(ActedOut):
    """Signed for (by the lead unit, or by the receiving organ of a transfer)."""

    signed_at: datetime
    transfer_unit: str | None = Field(default=None, description="the receiving organ, when it signed for a transfer")


class ReturnRequestOut(BaseModel):
    """A return request as kept on the work order."""

    unit: str | None = None
    reason: str
    basis: str
    requested_at: str = Field(description="ISO 8601")
    round: int


class ReturnRequestedOut(ActedOut):
    """The return request, waiting for the work team's ruling."""

    return_request: ReturnRequestOut


class ReturnRuledOut(ActedOut):
    """The ruling: `rejected` with its reason (the unit goes on), or `approved` with the new unit and round."""

    decision: Literal["approved", "rejected"]
    reason: str | None = Field(default=None, description="rejected: the reason")
    new_unit: str | None = Field(default=None, description="approved: the unit it went to")
    round: int | None = Field(default=None, description="approved: the new round")


class ResolutionOut(BaseModel):
    """The unit's result as kept on the work order."""

    outcome: ResolutionOutcome
    reply: str
    submitted_at: str = Field(description="ISO 8601")
    unit: str | None = None


class ResolvedOut(ActedOut):
    """The result, submitted."""

    resolution: ResolutionOut


class AnsweredOut(ActedOut):
    """The answer given."""

    answer: str


class TierSetOut(ActedOut):
    """The tier set."""

    tier: Tier


class CorrectionSummary(BaseModel):
    """What a correction says the work order is now."""

    kind: str | None = None
    category: Category
    route: Route


class ReclassifiedOut(ActedOut):
    """The correction kept; `rerouted` when the work order went to another unit or track."""

    correction: CorrectionSummary
    rerouted: bool


class CorrectionOut(BaseModel):
    """A correction by the work team: the request's text, what it should have been, what it was, why."""

    id: int
    ticket_no: str
    content: str
    kind: str | None = None
    category: Category | None = None
    route: Route | None = None
    previous: dict[str, Any] | None = Field(default=None, description="the decision before (kinds, category, "
                                                                       "route)")
    reason: str
    created_by: str
    created_at: datetime


# ------------------------------------------------------------------------------------------ directory


class UnitOut(BaseModel):
    """A unit of the org directory. `contacts` (SMS numbers) only for the work team, operators, admins and the unit
    itself; null for every other caller."""

    code: str
    name: str
    level: int = Field(ge=1, le=4, description="1 市 city, 2 区县 district, 3 镇街 street/town, 4 村社 community")
    kind: str
    region_code: str
    parent_code: str | None = None
    contacts: dict[str, Any] | None = Field(default=None, description="联系方式（短信号码）/ contact numbers")
    active: bool


class UnitDetailOut(UnitOut):
    """A unit and how many units it has right below it."""

    children: int


class ImportedOut(BaseModel):
    """An import's count: rows imported, units in the directory now, and the mode; the imported active units
    without an SMS-capable contact (their 报到 SMS is parked in intake as `no_recipient`)."""

    imported: int
    total: int
    mode: Literal["upsert", "replace"]
    without_sms: int = Field(default=0, description="导入的单位中没有可收短信号码的数量 / imported active units "
                             "without an SMS-capable contact")
    without_sms_units: list[str] = Field(default_factory=list, description="其单位编码（前 50 个）/ their codes "
                                         "(the first 50)")


# ------------------------------------------------------------------------------------------ catalogue


class CatalogueOut(BaseModel):
    """A catalogue version and its document; a stored version also says who made it, when and why."""

    version: int
    active: bool
    note: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    catalogue: dict[str, Any] = Field(description="派单目录文档 / the routing catalogue document")


class CatalogueVersionOut(BaseModel):
    """A catalogue version in the list (0: the one shipped with the service)."""

    version: int
    active: bool
    note: str | None = None
    created_by: str
    created_at: datetime | None = None


class CatalogueActiveOut(BaseModel):
    """The version that is active now."""

    version: int
    active: bool
