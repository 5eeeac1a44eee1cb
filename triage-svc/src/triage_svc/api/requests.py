"""What triage's routes accept: every text bounded by the shared field limits and refused with a 422 naming the
field when it carries a control character (`bancheng_shared.contracts.limits`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from bancheng_shared.contracts.limits import Content, Reason, UnitCode, no_control_characters
from bancheng_shared.contracts.vocab import Category, ResolutionOutcome, Route, Tier
from triage_svc.domain.bounds import KIND_MAX

Kind = Annotated[str, StringConstraints(max_length=KIND_MAX), AfterValidator(no_control_characters)]
MAX_CO_UNITS = 10


class ReturnRequestIn(BaseModel):
    """A unit's return request."""

    reason: Reason = Field(min_length=2, description="为何不属本单位职责 / why it is not our remit")
    basis: Reason = Field(min_length=2, description="依据（三定方案、法规条款）/ the basis")


class ReturnDecisionIn(BaseModel):
    """The work team's ruling on a return request."""

    approved: bool
    reason: Reason = Field(min_length=2)
    new_unit: UnitCode | None = Field(default=None, description="批准时改派的单位 / unit to re-dispatch to")
    co_units: list[UnitCode] = Field(default_factory=list, max_length=MAX_CO_UNITS)


class DispatchIn(BaseModel):
    """A manual dispatch by the work team."""

    lead_unit: UnitCode
    co_units: list[UnitCode] = Field(default_factory=list, max_length=MAX_CO_UNITS)
    reason: Reason = "manual dispatch"


class ProgressIn(BaseModel):
    """A progress note."""

    note: Reason = Field(min_length=1)


class ResolutionIn(BaseModel):
    """The unit's result and the reply given to the person."""

    outcome: ResolutionOutcome
    reply: Content = Field(min_length=2, description="给诉求人的答复 / reply to the person")


class AnswerIn(BaseModel):
    """A direct answer (level 3); empty reuses the knowledge-base suggestion."""

    answer: Content | None = None


class CloseIn(BaseModel):
    """Closing as ruled by the work team."""

    reason: Reason = Field(min_length=2)


class TierIn(BaseModel):
    """A tier set by a person."""

    tier: Tier
    reason: Reason = Field(min_length=2)


class ReclassifyIn(BaseModel):
    """A correction of the decision by the work team."""

    department_kind: Kind | None = None
    category: Category | None = None
    route: Route | None = None
    reason: Reason = Field(min_length=2)


class CatalogueIn(BaseModel):
    """A new catalogue version (the document is checked field by field: errors name the field)."""

    catalogue: dict[str, Any]
    note: Reason | None = None
