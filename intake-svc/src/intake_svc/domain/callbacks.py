"""Callbacks out: who receives which event, a subscription's secrets (rotation with an overlap), and what happens
after each try (delivered; retried with exponential backoff base · 2^(n-1) up to a cap, with jitter; parked after
the last try, when the subscription is gone or when its target is refused)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from bancheng_shared.schedule import backoff_s as backoff_s  # the retry rules are shared by every effect
from bancheng_shared.schedule import jittered_s
from intake_svc.domain.targets import TargetPolicy

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


class Subscription(Protocol):
    """A subscription as the rules read it."""

    owner_key_id: str
    owner_role: str
    event_types: list[str]
    platform: str | None


class Submitted(Protocol):
    """Where a ticket came from."""

    platform: str | None
    submitted_by: str | None


# Payload fields a subscriber never receives: the units' duty numbers (a person's mobile, perhaps) that triage's
# TicketDispatched carries for the 报到 SMS; the directory shows them to the work team, operators and the unit only.
WITHHELD: dict[str, frozenset[str]] = {"TicketDispatched": frozenset({"unit_contacts"})}


def withheld(event_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload a subscriber receives when fields have to be withheld from it, or None: it goes as published."""
    drop = WITHHELD.get(event_type)
    if not drop or not drop & payload.keys():
        return None
    return {k: v for k, v in payload.items() if k not in drop}


def check_event_types(types: list[str], known: Collection[str]) -> list[str]:
    """The event types asked for ('*' for all), sorted; unknown ones are refused (422 naming `event_types`)."""
    unknown = [t for t in types if t != "*" and t not in known]
    if unknown:
        raise Problem(422, "event_types: unknown event types " + ", ".join(unknown), type_="validation",
                      errors=[{"field": "event_types", "message": "unknown: " + ", ".join(unknown)}])
    return sorted(set(types))


def wants(sub: Subscription, event_type: str) -> bool:
    """The subscription asked for this event type."""
    return "*" in sub.event_types or event_type in sub.event_types


def receives(sub: Subscription, ticket: Submitted | None) -> bool:
    """A platform's own callbacks carry only its own items; a platform key's subscription only the tickets it
    submitted; other subscriptions every ticket."""
    if sub.platform is not None and (ticket is None or ticket.platform != sub.platform):
        return False
    return not (sub.owner_role == Role.platform.value and sub.platform is None
                and (ticket is None or ticket.submitted_by != sub.owner_key_id))


def unknown_subscription(sub_id: str) -> Problem:
    """404 for a subscription that does not exist or is not the caller's: the same answer for both."""
    return Problem(404, f"no subscription {sub_id!r}", type_="unknown-subscription")


def check_subscription_id(sub_id: str) -> None:
    """Subscription ids are UUIDs: anything else is unknown (404) without a look in the store."""
    if not _UUID.match(sub_id):
        raise unknown_subscription(sub_id[:40])


def check_owner(who: Principal, sub_id: str, owner_key_id: str | None) -> None:
    """A subscription is seen and changed by its owner (and admins); others get 404 as for a missing one."""
    if owner_key_id is None or (who.role != Role.admin and owner_key_id != who.key_id):
        raise unknown_subscription(sub_id)


# ---------------------------------------------------------------- a subscription's secrets

_RING = "\x00ring\x00"  # secrets are checked free of control characters, so no secret starts like this


@dataclass(frozen=True)
class Secrets:
    """A subscription's signing secrets: the current one and, while a rotation overlaps, the previous one."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def valid(self, now: datetime) -> list[str]:
        """The secrets deliveries are signed with now (the current one first)."""
        if self.previous and self.previous_until and now < self.previous_until:
            return [self.current, self.previous]
        return [self.current]

    def previous_expires_at(self, now: datetime) -> datetime | None:
        """When the previous secret stops signing (None: no overlap now)."""
        return self.previous_until if self.previous and self.previous_until and now < self.previous_until else None


def rotate(old: Secrets, new_secret: str, *, now: datetime, overlap_s: int) -> Secrets:
    """A new secret; the one it replaces keeps signing for `overlap_s` seconds (0: replaced at once)."""
    if new_secret == old.current:
        return old
    if overlap_s <= 0:
        return Secrets(new_secret)
    return Secrets(new_secret, old.current, now + timedelta(seconds=overlap_s))


def encode_secrets(s: Secrets) -> str:
    """The plaintext stored (encrypted) for a subscription: the bare secret, or the ring while a rotation overlaps."""
    if s.previous is None or s.previous_until is None:
        return s.current
    return _RING + json.dumps({"current": s.current, "previous": s.previous,
                               "previous_until": s.previous_until.isoformat()})


def decode_secrets(text: str) -> Secrets:
    """What `encode_secrets` stored (a bare secret from before rotations existed reads as the current one)."""
    if not text.startswith(_RING):
        return Secrets(text)
    d = json.loads(text[len(_RING):])
    return Secrets(d["current"], d.get("previous"), datetime.fromisoformat(d["previous_until"]))


# ---------------------------------------------------------------- retries


@dataclass(frozen=True)
class DeliveryPolicy:
    """The numbers of the retries, where callbacks may go and how long a replaced secret keeps signing
    (settings: INTAKE_CALLBACK_*)."""

    max_attempts: int = 6
    backoff_base_s: float = 2.0
    backoff_max_s: float = 3600.0
    targets: TargetPolicy = field(default_factory=TargetPolicy)
    secret_overlap_s: int = 86400


def after_try(*, attempts: int, error: str | None, status_code: int | None, subscribed: bool, now: datetime,
              policy: DeliveryPolicy, jitter: float = 1.0, refused: bool = False) -> dict[str, Any]:
    """The delivery's new state after its `attempts`-th try (error None: the receiver answered 2xx). A target the
    policy refuses is parked at once (it will not become allowed by waiting; replay it after an admin allows it)."""
    if error is None:
        return {"status": "delivered", "attempts": attempts, "last_status_code": status_code, "last_error": None,
                "delivered_at": now}
    if attempts >= policy.max_attempts or not subscribed or refused:
        return {"status": "parked", "attempts": attempts, "last_status_code": status_code, "last_error": error}
    wait = jittered_s(attempts, policy.backoff_base_s, policy.backoff_max_s, jitter)
    return {"attempts": attempts, "last_status_code": status_code, "last_error": error,
            "next_attempt_at": now + timedelta(seconds=wait)}


def replay_of_deleted() -> Problem:
    """409: a delivery whose subscription was deleted cannot be sent again."""
    return Problem(409, "the delivery's subscription was deleted", type_="subscription-deleted")


def unknown_delivery(delivery_id: int) -> Problem:
    """404 for a delivery that does not exist."""
    return Problem(404, f"no delivery {delivery_id}", type_="unknown-delivery")
