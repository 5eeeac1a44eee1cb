"""What a new request becomes: who asked (or nobody), where, and the TicketReceived / RepeatReceived it publishes.

TicketReceived carries no complainant PII: intake keeps that.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bancheng_shared.contracts.intake import RepeatReceived, TicketReceived
from intake_svc.domain.problems import field_problem

if TYPE_CHECKING:
    from intake_svc.domain.merging import Match
    from intake_svc.models import TicketCreate


def check_region(region_code: str | None, prefixes: Sequence[str], field: str = "") -> None:
    """A region code must be of this platform's directory when prefixes are set (INTAKE_REGION_PREFIXES)."""
    if region_code and prefixes and not any(region_code.startswith(p) for p in prefixes):
        raise field_problem(f"{field}location.region_code", "not a region of this platform's directory")


def is_anonymous(body: TicketCreate) -> bool:
    """Anonymous when the person says so or gives no name, phone or ID number."""
    c = body.complainant
    return c is None or c.anonymous or not (c.name or c.phone or c.id_number)


def received(body: TicketCreate, *, platform: str | None, anonymous: bool, now: datetime,
             routing: dict[str, Any] | None = None) -> TicketReceived:
    """The event of a new ticket (`routing`: a hotspot work order's hotspot id, department kind and unit level)."""
    loc = body.location
    return TicketReceived(
        channel=body.channel, content=body.content, title=body.title, category_hint=body.category,
        region_code=loc.region_code if loc else None, address=loc.address if loc else None,
        longitude=loc.longitude if loc else None, latitude=loc.latitude if loc else None, received_at=now,
        happened_at=body.happened_at, anonymous=anonymous,
        enterprise_name=body.enterprise.name if body.enterprise else None, platform=platform,
        external_id=body.external_id, attachment_count=len(body.attachments), **(routing or {}),
    )


def repeated(body: TicketCreate, match: Match, count: int, now: datetime) -> RepeatReceived:
    """The event of a repeat merged into an open ticket (its `count`-th)."""
    return RepeatReceived(repeat_count=count, content=body.content, same_person=match.same_person,
                          channel=body.channel, received_at=now, similarity=round(match.similarity, 4))
