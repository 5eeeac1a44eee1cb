"""Return visits, pure: resolved in the person's own words, satisfied or not; unsatisfied through the unit's own
fault (主观原因) → redo; the counters a visit adds; what a visit needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.vocab import ResolvedAnswer, Satisfaction
from bancheng_shared.errors import Problem
from oversight_svc.domain import visits

UNIT = "339901-market_regulation"
RESOLVED_AT = datetime(2025, 3, 6, 2, 0, tzinfo=UTC)
NOW = RESOLVED_AT + timedelta(days=1)


@dataclass
class Ticket:
    round: int = 1
    status: str = "resolved"


@dataclass
class Result:
    round: int = 1
    unit: str | None = UNIT
    resolve_unit: str | None = UNIT
    outcome: str | None = "resolved"
    resolved_at: datetime = RESOLVED_AT
    visited_at: datetime | None = None


def visit(resolved: str | None, satisfaction: str, cause: str | None = None, **kw: object) -> visits.VisitOutcome:
    ticket, result = kw.pop("ticket", Ticket()), kw.pop("result", Result())
    args: dict[str, object] = {"ticket_no": "V1", "resolved": ResolvedAnswer(resolved) if resolved else None,
                               "satisfaction": Satisfaction(satisfaction), "cause": cause, "notes": "没人来处理",
                               "case_id": None, "visited_at": None, "by_name": "回访员", "by_role": "work_team",
                               "now": NOW, **kw}
    return visits.record(ticket, result, **args)  # type: ignore[arg-type]


def test_unsatisfied_through_the_units_own_fault_orders_a_redo() -> None:
    assert visits.orders_redo("unsatisfied", "subjective")
    assert not visits.orders_redo("unsatisfied", "objective")
    assert not visits.orders_redo("basically_satisfied", "subjective")
    out = visit("no", "unsatisfied", "subjective")
    recorded, redo = out.events
    assert isinstance(recorded, ReturnVisitRecorded) and recorded.redo and recorded.subjective_cause
    assert isinstance(redo, RedoOrdered) and (redo.round, redo.unit) == (1, UNIT)
    assert redo.reason == "回访不满意（主观原因）unsatisfied through the unit's fault: 没人来处理"
    assert out.view("V1")["redo"] is True and out.deltas["redone"] == 1
    assert [type(e) for e in visit("no", "unsatisfied", "objective").events] == [ReturnVisitRecorded]


def test_the_counters_of_a_visit() -> None:
    assert visits.deltas(None, "unreachable", True, False) == {"unreachable": 1}
    assert visits.deltas("yes", "satisfied", True, False) == {
        "visited": 1, "satisfied": 1, "redone": 0, "visit_yes": 1, "claimed_visited": 1, "claimed_denied": 0}
    # the unit said resolved, the person says partly: a denied claim
    d = visits.deltas("partly", "basically_satisfied", True, False)
    assert d["visit_partly"] == 1 and d["claimed_denied"] == 1 and "visit_yes" not in d
    assert "claimed_visited" not in visits.deltas("no", "unsatisfied", False, True)  # unit reported partly


def test_an_unreachable_person_is_tried_again() -> None:
    out = visit(None, "unreachable")
    assert out.mark_visited is False and out.deltas == {"unreachable": 1}
    assert visit("yes", "satisfied").mark_visited is True


def test_what_a_visit_needs() -> None:
    cases = [
        ({"result": None}, 409, "not-resolved"),
        ({"ticket": Ticket(round=2, status="reopened")}, 409, "not-resolved"),  # the redo round has no result yet
        ({"result": Result(visited_at=NOW)}, 409, "already-visited"),
        ({"visited_at": RESOLVED_AT - timedelta(hours=1)}, 422, "validation"),
        ({"visited_at": NOW + timedelta(hours=1)}, 422, "validation"),
        ({"visited_at": datetime(2025, 3, 6, 12, 0)}, 422, "validation"),  # no time zone
    ]
    for kw, status, type_ in cases:
        with pytest.raises(Problem) as e:
            visit("yes", "satisfied", **kw)
        assert (e.value.status, e.value.type_) == (status, type_), kw
    with pytest.raises(Problem) as e:
        visit("no", "unsatisfied")
    assert e.value.detail.startswith("cause:")
    with pytest.raises(Problem) as e:
        visit(None, "satisfied")
    assert e.value.detail.startswith("resolved:")
    assert visit("yes", "satisfied", visited_at=NOW + timedelta(minutes=4)).visit["visited_at"] > NOW  # clock skew
