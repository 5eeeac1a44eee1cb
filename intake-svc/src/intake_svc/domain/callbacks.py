"""Callbacks out: who receives which event, and what happens after each try (delivered; retried with exponential
backoff base · 2^(n-1) up to a cap; parked after the last try or when the subscription is gone)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role


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


def check_owner(who: Principal, sub_id: str, owner_key_id: str | None) -> None:
    """A subscription is seen and changed by its owner (and admins); others get 404 as for a missing one."""
    if owner_key_id is None or (who.role != Role.admin and owner_key_id != who.key_id):
        raise Problem(404, f"no subscription {sub_id!r}", type_="unknown-subscription")


def backoff_s(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failures: base · 2^(attempts-1), capped."""
    return float(min(cap, base * (2 ** max(0, attempts - 1))))


@dataclass(frozen=True)
class DeliveryPolicy:
    """The numbers of the retries (settings: INTAKE_CALLBACK_*)."""

    max_attempts: int = 6
    backoff_base_s: float = 2.0
    backoff_max_s: float = 3600.0


def after_try(*, attempts: int, error: str | None, status_code: int | None, subscribed: bool, now: datetime,
              policy: DeliveryPolicy) -> dict[str, Any]:
    """The delivery's new state after its `attempts`-th try (error None: the receiver answered 2xx)."""
    if error is None:
        return {"status": "delivered", "attempts": attempts, "last_status_code": status_code, "last_error": None,
                "delivered_at": now}
    if attempts >= policy.max_attempts or not subscribed:
        return {"status": "parked", "attempts": attempts, "last_status_code": status_code, "last_error": error}
    wait = backoff_s(attempts, policy.backoff_base_s, policy.backoff_max_s)
    return {"attempts": attempts, "last_status_code": status_code, "last_error": error,
            "next_attempt_at": now + timedelta(seconds=wait)}


def replay_of_deleted() -> Problem:
    """409: a delivery whose subscription was deleted cannot be sent again."""
    return Problem(409, "the delivery's subscription was deleted", type_="subscription-deleted")


def unknown_delivery(delivery_id: int) -> Problem:
    """404 for a delivery that does not exist."""
    return Problem(404, f"no delivery {delivery_id}", type_="unknown-delivery")
