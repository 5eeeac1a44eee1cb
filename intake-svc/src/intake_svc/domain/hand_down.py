"""A hotspot handed down (oversight's HotspotHandedDown) becomes a ticket of channel `hotspot` (pure): the hotline
centre asks, nobody is a complainant; the department kind and unit level ride on its TicketReceived for triage."""

from __future__ import annotations

from typing import Any

from bancheng_shared.contracts.limits import CONTENT_MAX, TITLE_MAX
from bancheng_shared.contracts.oversight import HotspotHandedDown
from bancheng_shared.contracts.vocab import Category, Channel
from bancheng_shared.principal import Principal, Role
from intake_svc.domain import checks

# whose channel ids the hand-downs' hotspot ids are (the submissions' `source`), and who registers them
SOURCE = "oversight"
CENTRE = Principal(key_id="hotspot-hand-down", name="12345热线中心", role=Role.work_team)


def request_of(event: HotspotHandedDown) -> dict[str, Any]:
    """The registration body of a handed-down hotspot: its title and summary, the common region, no complainant."""
    category = event.category if event.category in Category.__members__ else None
    region = event.region_code if event.region_code and checks.region_code_ok(event.region_code) else None
    return {
        "channel": Channel.hotspot, "content": event.summary[:CONTENT_MAX], "title": event.title[:TITLE_MAX],
        "category": category, "external_id": event.hotspot_id,
        "location": {"region_code": region} if region else None,
    }


def routing_of(event: HotspotHandedDown) -> dict[str, Any]:
    """What triage routes a hotspot ticket on (carried by its TicketReceived)."""
    return {"hotspot_id": event.hotspot_id, "department_kind": event.department_kind,
            "unit_level": event.unit_level}
