"""Extension (延期): once per ticket and round, 1..N working days (N = 5 by default, a setting), asked by the unit
before the deadline while its clock runs, approved or rejected by the work team; approved moves the deadline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bancheng_shared.errors import Problem
from sla_svc.domain.ladder import ACTIVE


def check_days(days: int, max_days: int) -> None:
    """The working days asked for must be 1..max_days."""
    if not 1 <= days <= max_days:
        raise Problem(422, f"days: {days} is outside 1..{max_days} working days", type_="validation",
                      errors=[{"field": "days", "message": f"must be 1..{max_days}"}])


def check_request(c: Mapping[str, Any], *, now: datetime, prior: Mapping[str, Any] | None, tz: ZoneInfo) -> None:
    """A unit may ask while its clock runs, its deadline is known and not passed, and it has not asked this round."""
    if c["state"] not in ACTIVE:
        raise Problem(409, f"the clock of round {c['round']} is {c['state']}; nothing to extend",
                      type_="clock-not-running", state=c["state"])
    if c["resolve_due"] is None:
        raise Problem(409, "the deadline is not computed yet (calendar year missing); ask again once it is",
                      type_="deadline-unknown")
    if now > c["resolve_due"]:
        raise Problem(409, f"the deadline {c['resolve_due'].astimezone(tz).isoformat()} has passed; "
                      "an extension must be asked before it", type_="deadline-passed")
    if prior is not None:
        raise Problem(409, f"an extension was already requested for round {c['round']} "
                      f"(request {prior['id']}, {prior['state']}); only one per ticket and round",
                      type_="extension-already-requested", request_id=prior["id"])


def check_decision(request: Mapping[str, Any], c: Mapping[str, Any], *, approved: bool) -> None:
    """A request is ruled on once; it can be approved only while the same unit's clock still runs."""
    if request["state"] != "pending":
        raise Problem(409, f"extension request {request['id']} was already {request['state']}",
                      type_="already-decided", state=request["state"])
    if approved and (c["state"] not in ACTIVE or c["unit"] != request["unit"]):
        raise Problem(409, f"the clock of round {c['round']} is {c['state']} (unit {c['unit']}); "
                      "the request can only be rejected", type_="clock-not-running")
