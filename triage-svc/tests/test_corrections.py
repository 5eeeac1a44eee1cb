"""The work team's corrections: kept for the model, and a work order not yet with a signing unit re-routed (pure)."""

from __future__ import annotations

import pytest
from triage_helpers import NOW, WORK_TEAM, catalogue, directory, event_types, work_order

from bancheng_shared.contracts.triage import TicketDispatched, TicketTransferred, TicketTriaged
from bancheng_shared.contracts.vocab import Category, Route
from bancheng_shared.errors import Problem
from triage_svc.domain.corrections import reclassify
from triage_svc.domain.work_order import WorkOrder

NO = "BC20250303000001"
TEXT = "东湖区城关街道小区门口的电动车充电桩经常坏，车充不了电"


def correct(wo: WorkOrder, *, kind: str | None = None, route: Route | None = None,
            category: Category | None = None) -> tuple:  # type: ignore[type-arg]
    return reclassify(wo, WORK_TEAM, kind=kind, category=category, route=route, reason="充电设施安全隐患属应急管理",
                      ticket_no=NO, catalogue=catalogue(), directory=directory(), now=NOW)


def test_a_new_kind_is_kept_and_the_dispatched_work_order_goes_to_that_kind_in_a_new_round() -> None:
    wo = work_order(content=TEXT, department_kinds=["housing_construction"], lead_unit="339901-housing_construction")
    out, correction = correct(wo, kind="emergency")
    assert (correction.content, correction.kind, correction.created_by) == (TEXT, "emergency", "work_team:工作专班")
    assert correction.previous == {"kinds": ["housing_construction"], "category": "complaint", "route": "dispatch"}
    assert out.changes["department_kinds"] == ["emergency", "housing_construction"]
    assert out.changes["state"] == "dispatched" and out.changes["round"] == 2
    assert out.changes["lead_unit"] == "3399-emergency"
    triaged, dispatched = out.events
    assert isinstance(triaged, TicketTriaged) and triaged.reclassified and triaged.lead_kind == "emergency"
    assert isinstance(dispatched, TicketDispatched) and dispatched.redispatch and dispatched.round == 2
    assert out.view == {"ticket_no": NO, "state": "dispatched",
                        "correction": {"kind": "emergency", "category": "complaint", "route": "dispatch"},
                        "rerouted": True}


def test_a_petition_correction_transfers_it_to_the_petition_office() -> None:
    out, _ = correct(work_order(), route=Route.petition)
    assert out.changes["state"] == "transferred" and out.changes["lead_unit"] is None
    assert out.changes["transfer_unit"] == "339901-petition"
    transfer = out.events[-1]
    assert isinstance(transfer, TicketTransferred) and transfer.to_unit == "339901-petition"
    # taken back from the transfer track to a unit: the organ no longer has it
    back, _ = correct(work_order(state="transferred", route="petition", lead_unit=None,
                                 transfer_unit="339901-petition"), kind="emergency", route=Route.dispatch)
    assert back.changes["state"] == "dispatched" and back.changes["transfer_unit"] is None


def test_a_signed_work_order_is_not_re_routed() -> None:
    out, correction = correct(work_order(state="signed"), kind="emergency")
    assert correction.kind == "emergency" and out.changes["state"] == "signed" and out.view["rerouted"] is False
    assert event_types(out) == ["TicketTriaged"]


def test_a_correction_of_the_category_only() -> None:
    out, correction = correct(work_order(), category=Category.report)
    assert correction.category == "report" and out.changes["category"] == "report" and not out.view["rerouted"]


def test_an_unknown_kind_is_refused_naming_the_field() -> None:
    with pytest.raises(Problem) as info:
        correct(work_order(), kind="spaceport")
    assert info.value.status == 422 and info.value.extra["errors"] == [{"field": "kind", "message": "unknown kind"}]


def test_a_closed_work_order_cannot_be_corrected() -> None:
    with pytest.raises(Problem) as info:
        correct(work_order(state="closed"), kind="emergency")
    assert info.value.status == 409
