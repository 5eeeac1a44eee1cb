"""A hotspot handed down becomes a registration of channel `hotspot` with nobody as complainant (pure); nobody may
register on that channel by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bancheng_shared.contracts.oversight import HotspotHandedDown
from bancheng_shared.contracts.vocab import Channel
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Role
from intake_svc.domain import hand_down, registration
from intake_svc.domain.channels import check_channel
from intake_svc.models import TicketCreate

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def handed(**kw: object) -> HotspotHandedDown:
    base: dict[str, object] = dict(
        hotspot_id="HS-0123456789", department_kind="housing_construction", category="suggestion",
        title="高频共性问题交办：老旧小区加装电梯",
        summary="共性问题：老旧小区加装电梯。近期共5件同类工单，涉及3个地方（339901、339902、339905）。工单号：BC1、BC2。",
        unit_level=1, region_code="3399", handed_down_at=NOW)
    base.update(kw)
    return HotspotHandedDown(**base)  # type: ignore[arg-type]


def test_the_request_has_no_complainant_and_carries_the_routing() -> None:
    body = TicketCreate.model_validate(hand_down.request_of(handed()))
    assert body.channel == Channel.hotspot and body.complainant is None and registration.is_anonymous(body)
    assert body.external_id == "HS-0123456789" and body.category is not None and body.category.value == "suggestion"
    assert body.location is not None and body.location.region_code == "3399"
    received = registration.received(body, platform=None, anonymous=True, now=NOW,
                                     routing=hand_down.routing_of(handed()))
    assert (received.hotspot_id, received.department_kind, received.unit_level) == (
        "HS-0123456789", "housing_construction", 1)
    assert received.channel == Channel.hotspot and received.content.startswith("共性问题：老旧小区加装电梯")


def test_an_unknown_category_or_region_is_left_out_not_refused() -> None:
    body = TicketCreate.model_validate(hand_down.request_of(handed(category="other", region_code=None)))
    assert body.category is None and body.location is None


@pytest.mark.parametrize("role", [Role.operator, Role.admin, Role.frontend])
def test_nobody_registers_a_hotspot_ticket_by_hand(role: Role) -> None:
    with pytest.raises(Problem) as e:
        check_channel(role, Channel.hotspot)
    assert e.value.status == 403 and "hand-down" in e.value.detail
