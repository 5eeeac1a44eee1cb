"""What callers ask triage to do: the work team, the units, the operators (one command per API action)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bancheng_shared.contracts.vocab import Category, ResolutionOutcome, Route, Tier
from bancheng_shared.messagebus import Command
from bancheng_shared.principal import Principal


@dataclass(frozen=True, kw_only=True)
class Dispatch(Command):
    """The work team dispatches a work order that is not with a unit (manual dispatch)."""

    actor: Principal
    ticket_no: str
    lead_unit: str
    co_units: list[str] = field(default_factory=list)
    reason: str = "manual dispatch"


@dataclass(frozen=True, kw_only=True)
class Sign(Command):
    """The lead unit signs for its work order."""

    actor: Principal
    ticket_no: str


@dataclass(frozen=True, kw_only=True)
class RequestReturn(Command):
    """The lead unit asks to return a work order outside its remit."""

    actor: Principal
    ticket_no: str
    reason: str
    basis: str


@dataclass(frozen=True, kw_only=True)
class DecideReturn(Command):
    """The work team rules on a return request."""

    actor: Principal
    ticket_no: str
    approved: bool
    reason: str
    new_unit: str | None = None
    co_units: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ReportProgress(Command):
    """The lead unit or a co-unit reports progress."""

    actor: Principal
    ticket_no: str
    note: str


@dataclass(frozen=True, kw_only=True)
class SubmitResolution(Command):
    """The lead unit submits its result and the reply to the person."""

    actor: Principal
    ticket_no: str
    outcome: ResolutionOutcome
    reply: str


@dataclass(frozen=True, kw_only=True)
class Answer(Command):
    """The operator answers a simple consultation directly (None: reuse the knowledge base's answer)."""

    actor: Principal
    ticket_no: str
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class Close(Command):
    """The work team closes a ticket as ruled."""

    actor: Principal
    ticket_no: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChangeTier(Command):
    """A person sets the tier, with a reason."""

    actor: Principal
    ticket_no: str
    tier: Tier
    reason: str


@dataclass(frozen=True, kw_only=True)
class Reclassify(Command):
    """The work team corrects the decision (at least one of kind, category, route)."""

    actor: Principal
    ticket_no: str
    kind: str | None = None
    category: Category | None = None
    route: Route | None = None
    reason: str


@dataclass(frozen=True, kw_only=True)
class ImportDirectory(Command):
    """The work team imports directory rows (all or nothing), upserting them or replacing the directory."""

    actor: Principal
    rows: list[dict[str, Any]]
    replace: bool = False


@dataclass(frozen=True, kw_only=True)
class PublishCatalogue(Command):
    """The work team stores a new catalogue version and makes it the active one."""

    actor: Principal
    catalogue: dict[str, Any]
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class ActivateCatalogue(Command):
    """The work team makes an earlier catalogue version active again (0: the shipped one)."""

    actor: Principal
    version: int
