"""Signed requests both ways, platforms in and callbacks out (pure): who receives an event, retries with backoff
2 s · 2^(n-1) up to an hour, parked after 6 tries; a signature more than 300 s off, wrong or seen is refused."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from intake_svc.domain import callbacks, platforms, signing
from intake_svc.domain.timeline import FOLLOWED_TYPES

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
SECRET = "duch-secret-0123456789"
BODY = '{"external_id": "DUCH-2026-001", "content": "国务院互联网+督查平台转办：某企业反映开办登记拖延"}'.encode()


@dataclass
class Sub:
    owner_key_id: str = "k-op"
    owner_role: str = "operator"
    event_types: list[str] = field(default_factory=lambda: ["*"])
    platform: str | None = None


@dataclass
class Ticket:
    platform: str | None = None
    submitted_by: str | None = "k-op"


def test_who_receives_an_event() -> None:
    assert callbacks.wants(Sub(), "TicketClosed") and callbacks.wants(Sub(event_types=["TicketClosed"]), "TicketClosed")
    assert not callbacks.wants(Sub(event_types=["TicketReceived"]), "TicketClosed")
    assert callbacks.receives(Sub(), Ticket()) and callbacks.receives(Sub(), None)  # an operator: every ticket
    own = Sub(owner_role="admin", platform="prov")  # a platform's automatic callbacks: its own items only
    assert callbacks.receives(own, Ticket(platform="prov")) and not callbacks.receives(own, Ticket())
    assert not callbacks.receives(own, None)
    key = Sub(owner_key_id="k-prov", owner_role="platform")  # a platform key's subscription: what it submitted
    assert callbacks.receives(key, Ticket(submitted_by="k-prov")) and not callbacks.receives(key, Ticket())


def test_event_types_and_owners() -> None:
    assert callbacks.check_event_types(["TicketReceived", "*", "TicketReceived"], FOLLOWED_TYPES) == [
        "*", "TicketReceived"]
    with pytest.raises(Problem) as err:
        callbacks.check_event_types(["Nope", "CalendarYearLoaded"], FOLLOWED_TYPES)
    assert err.value.status == 422 and err.value.extra["errors"][0]["field"] == "event_types"
    op = Principal("k-op", "话务员", Role.operator)
    callbacks.check_owner(op, "s1", "k-op")
    callbacks.check_owner(Principal("k-admin", "管理员", Role.admin), "s1", "k-op")
    for owner in ("k-other", None):
        with pytest.raises(Problem) as err:
            callbacks.check_owner(op, "s1", owner)
        assert err.value.status == 404 and err.value.type_ == "unknown-subscription"


def test_retries_back_off_and_park_after_the_last_try() -> None:
    policy = callbacks.DeliveryPolicy()  # the seed: 6 tries, 2 s base, at most an hour
    assert [callbacks.backoff_s(n, 2.0, 3600.0) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert callbacks.backoff_s(20, 2.0, 3600.0) == 3600.0
    retry = callbacks.after_try(attempts=1, error="HTTP 500", status_code=500, subscribed=True, now=NOW,
                                policy=policy)
    assert retry == {"attempts": 1, "last_status_code": 500, "last_error": "HTTP 500",
                     "next_attempt_at": NOW + timedelta(seconds=2)}
    assert callbacks.after_try(attempts=6, error="HTTP 500", status_code=500, subscribed=True, now=NOW,
                               policy=policy)["status"] == "parked"
    assert callbacks.after_try(attempts=1, error="subscription deleted or inactive", status_code=None,
                               subscribed=False, now=NOW, policy=policy)["status"] == "parked"
    done = callbacks.after_try(attempts=2, error=None, status_code=200, subscribed=True, now=NOW, policy=policy)
    assert done == {"status": "delivered", "attempts": 2, "last_status_code": 200, "last_error": None,
                    "delivered_at": NOW}


def test_signatures_verified_stale_tampered_missing() -> None:
    ts = "1795397400"
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, ts, BODY) == expected
    assert signing.verify(SECRET, BODY, ts, f"sha256={expected}", now_s=1795397400 + 300, max_skew_s=300) == expected
    cases = [
        (ts, f"sha256={expected}", 1795397400 + 301, "stale-timestamp"),
        (ts, f"sha256={expected}", 1795397400 - 301, "stale-timestamp"),
        (None, f"sha256={expected}", 1795397400, "bad-signature"),
        ("yesterday", f"sha256={expected}", 1795397400, "bad-signature"),
        (ts, None, 1795397400, "bad-signature"),
        (ts, "sha256=" + "0" * 64, 1795397400, "bad-signature"),
    ]
    for stamp, sig, now_s, kind in cases:
        with pytest.raises(Problem) as err:
            signing.verify(SECRET, BODY, stamp, sig, now_s=now_s, max_skew_s=300)
        assert err.value.status == 401 and err.value.type_ == kind
    with pytest.raises(Problem):
        signing.verify(SECRET, BODY.replace("拖延".encode(), "顺利".encode()), ts, f"sha256={expected}",
                       now_s=1795397400, max_skew_s=300)
    assert signing.replayed().status == 409
    assert signing.forget_before(NOW, 300) == NOW - timedelta(minutes=10)


def test_platform_names_and_secrets() -> None:
    platforms.check_name("gov-duch")
    for bad in ("G", "Gov", "-gov", "a" * 65, "省平台"):
        with pytest.raises(Problem) as err:
            platforms.check_name(bad)
        assert err.value.status == 422 and err.value.extra["errors"][0]["field"] == "platform"
    assert platforms.secret_of("prov", "registered-secret-0123", {"prov": "configured"}) == "registered-secret-0123"
    assert platforms.secret_of("gov-duch", None, {"gov-duch": SECRET}) == SECRET
    with pytest.raises(Problem) as err:
        platforms.secret_of("nobody", None, {})
    assert err.value.status == 404 and err.value.type_ == "unknown-platform"


def test_a_subscriber_never_receives_the_units_duty_numbers() -> None:
    payload = {"lead_unit": "339901-urban_management", "co_units": [], "unit_contacts": {
        "339901-urban_management": "13900007777"}}
    assert callbacks.withheld("TicketDispatched", payload) == {"lead_unit": "339901-urban_management", "co_units": []}
    assert callbacks.withheld("TicketDispatched", {"lead_unit": "U1"}) is None  # an older event: as it is
    assert callbacks.withheld("TicketSigned", {"unit": "U1"}) is None
