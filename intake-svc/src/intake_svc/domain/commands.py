"""What callers ask intake to do (each has one handler in handlers/, named in handlers.COMMANDS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bancheng_shared.messagebus import Command
from bancheng_shared.principal import Principal

if TYPE_CHECKING:
    from intake_svc.models import TicketCreate


@dataclass(frozen=True, kw_only=True)
class RegisterTicket(Command):
    """Register a request from any channel, or merge it into the open ticket it repeats (once per key)."""

    actor: Principal
    body: TicketCreate
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class RegisterBatch(Command):
    """Register many requests in one transaction: all of them or none."""

    actor: Principal
    items: tuple[TicketCreate, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReceivePlatformItem(Command):
    """Another platform hands an item in (交办): signed raw JSON, registered once per its item id."""

    actor: Principal
    platform: str
    raw: bytes
    timestamp: str | None
    signature: str | None


@dataclass(frozen=True, kw_only=True)
class ViewTicket(Command):
    """The staff view of a ticket; full complainant data is shown per role and audit-logged."""

    actor: Principal
    ticket_no: str
    route: str


@dataclass(frozen=True, kw_only=True)
class AddFollowUp(Command):
    """The person adds to their own ticket (front ends pass the person's proof, counted per `source` address)."""

    actor: Principal
    ticket_no: str
    content: str
    phone_last4: str | None = None
    token: str | None = None
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class LookUpTicket(Command):
    """The person's own lookup, without a credential: the ticket number with a proof (the last four phone digits or
    the tracking token), or the token alone (`ticket_no` None); tries are counted per `source` address and ticket."""

    ticket_no: str | None
    phone_last4: str | None = None
    token: str | None = None
    source: str


@dataclass(frozen=True, kw_only=True)
class RegisterPlatform(Command):
    """Set a platform's secret and, optionally, where its status callbacks go."""

    actor: Principal
    platform: str
    secret: str
    callback_url: str | None = None
    callback_secret: str | None = None
    callback_events: tuple[str, ...] = ("*",)


@dataclass(frozen=True, kw_only=True)
class CreateSubscription(Command):
    """Subscribe a URL to some event types, signed with a secret."""

    actor: Principal
    name: str
    url: str
    event_types: tuple[str, ...]
    secret: str


@dataclass(frozen=True, kw_only=True)
class UpdateSubscription(Command):
    """Change a subscription's name, URL, event types, secret or whether it is active (None: unchanged); a replaced
    secret keeps signing for `previous_secret_valid_s` (None: the setting's overlap)."""

    actor: Principal
    subscription_id: str
    name: str | None = None
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    secret: str | None = None
    previous_secret_valid_s: int | None = None
    active: bool | None = None


@dataclass(frozen=True, kw_only=True)
class DeleteSubscription(Command):
    """Remove a subscription; its undelivered deliveries are parked and kept."""

    actor: Principal
    subscription_id: str


@dataclass(frozen=True, kw_only=True)
class ReplayDelivery(Command):
    """Send a delivery again (parked or delivered), with a fresh series of tries."""

    actor: Principal
    delivery_id: int


@dataclass(frozen=True, kw_only=True)
class MergeTicket(Command):
    """An operator merges ticket `ticket_no` into ticket `into` as its repeat (并单), with a reason."""

    actor: Principal
    ticket_no: str
    into: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class UnmergeRequest(Command):
    """An operator takes the request merged into `ticket_no` as its repeat number `seq` out as its own ticket."""

    actor: Principal
    ticket_no: str
    seq: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class RejectPossibleRepeat(Command):
    """An operator finds that `ticket_no` does not repeat its possible repeat `candidate_no`."""

    actor: Principal
    ticket_no: str
    candidate_no: str
    reason: str
