"""The scorecard's pure computations: merges, bookkeeping, accuracy, deadlines, rates, thresholds."""

from __future__ import annotations

from datetime import date

from bancheng_services.simulate.generator import Item
from bancheng_services.simulate.scorecard import Observed, build, compare_rates, log_rates, reference_due


def item(id_: str, kind: str = "complaint", **kw: object) -> Item:
    base = {"day": 0, "content": "x", "channel": "hotline", "phone": id_, "name": "王", "region_code": "339901001001",
            "address": "a", "matter": "m", "dept_kind": "urban_management", "category": "complaint"}
    base.update(kw)
    return Item(id=id_, kind=kind, **base)  # type: ignore[arg-type]


def wo(**kw: object) -> dict[str, object]:
    return {"department_kinds": ["urban_management"], "route": "dispatch", "category": "complaint", "tier": "green",
            "co_units": [], **kw}


def weekdays(d: date) -> bool:
    return d.weekday() < 5


def card_of(items: list[Item], obs: dict[str, Observed], **kw: object) -> dict[str, object]:
    args: dict[str, object] = {"tickets_seen": None, "is_working_day": weekdays, "log": [], "oversight_rates": {},
                               "red_tickets": set(), "case_tickets": set(), **kw}
    return build(items, obs, **args).figures  # type: ignore[arg-type]


def test_false_merges_and_repeats_found() -> None:
    items = [item("a"), item("b"), item("r", "repeat_same", phone="a", merge_with="a", same_person=True),
             item("s", "repeat_same", phone="b", merge_with="b", same_person=True)]
    obs = {"a": Observed("T1", work_order=wo(), has_clock=True), "b": Observed("T1", merged=True),
           "r": Observed("T1", merged=True), "s": Observed("T9")}
    f = card_of(items, obs)
    assert f["false_merges"] == 1 and f["false_merge_rate"] == 0.25
    assert f["same_person_repeats_found"] == 0.5


def test_lost_and_doubled() -> None:
    items = [item("a"), item("b"), item("c")]
    obs = {"a": Observed("T1", work_order=wo(), has_clock=True), "b": Observed(None), "c": Observed("T3")}
    f = card_of(items, obs, tickets_seen=4)
    assert f["lost"] == 2  # no ticket; a ticket without a work order
    assert f["doubled"] == 2  # four work orders for two own tickets
    assert f["observed"] == 2


def test_accuracy_false_transfers_tiers_and_clocks() -> None:
    items = [item("a"), item("b", "lookalike"), item("c", "conduct", min_tier="red"),
             item("d", "multi_unit", units_needed=4)]
    obs = {"a": Observed("T1", work_order=wo(), has_clock=True),
           "b": Observed("T2", work_order=wo(route="legal"), has_clock=False),
           "c": Observed("T3", work_order=wo(tier="yellow"), has_clock=True),
           "d": Observed("T4", work_order=wo(co_units=["x", "y"]), has_clock=True)}
    card = build(items, obs, tickets_seen=4, is_working_day=weekdays, log=[], oversight_rates={}, red_tickets=set(),
                 case_tickets=set())
    assert card.figures["false_transfers"] == 1 and card.figures["false_transfer_rate"] == 0.25
    assert card.figures["tier_at_or_above_min"] == 0.75
    assert card.figures["ordinary_items_red"] == 0.0  # a complaint and a look-alike, neither red
    assert card.figures["items_without_clock"] == 1
    assert card.by_kind["multi_unit"]["units"] == {"right": 0, "of": 1, "rate": 0.0}
    assert card.by_kind["lookalike"]["route"]["right"] == 0
    assert any(f.startswith("false_transfer_rate") for f in card.failures)


def test_units_are_right_only_when_every_needed_department_is_named() -> None:
    need = ["urban_management", "ecology_environment"]
    items = [item(x, "multi_unit", units_needed=2, extra={"kinds": need}) for x in "abc"]
    obs = {"a": Observed("T1", work_order=wo(department_kinds=need, co_units=["u2"]), has_clock=True),
           # two units, but the second is not the one the matter needs (a clause of boilerplate named it)
           "b": Observed("T2", work_order=wo(department_kinds=["urban_management", "education"], co_units=["u3"]),
                         has_clock=True),
           "c": Observed("T3", work_order=wo(department_kinds=["urban_management"]), has_clock=True)}
    card = build(items, obs, tickets_seen=3, is_working_day=weekdays, log=[], oversight_rates={}, red_tickets=set(),
                 case_tickets=set())
    assert card.by_kind["multi_unit"]["units"] == {"right": 1, "of": 3, "rate": 0.3333}


def test_deadline_reference_walks_the_calendar() -> None:
    assert reference_due(date(2026, 10, 16), 1, weekdays) == date(2026, 10, 19)  # Friday + 1 → Monday
    assert reference_due(date(2026, 10, 12), 5, weekdays) == date(2026, 10, 19)
    items = [item("a"), item("b")]
    obs = {"a": Observed("T1", work_order=wo(), has_clock=True, started_on=date(2026, 10, 12), working_days=5,
                         resolve_due_date=date(2026, 10, 19)),
           "b": Observed("T2", work_order=wo(), has_clock=True, started_on=date(2026, 10, 12), working_days=5,
                         resolve_due_date=date(2026, 10, 17))}
    f = card_of(items, obs, tickets_seen=2)
    assert f["deadlines_checked"] == 2 and f["deadlines_differing"] == 1


def test_rates_from_the_log_and_the_comparison() -> None:
    log = [{"what": "dispatched", "unit": "u"}, {"what": "dispatched", "unit": "u"},
           {"what": "signed", "unit": "u", "in_time": True}, {"what": "signed", "unit": "u", "in_time": False},
           {"what": "visit", "unit": "u", "satisfaction": "satisfied", "resolved": "yes"},
           {"what": "visit", "unit": "u", "satisfaction": "unsatisfied", "resolved": "no"},
           {"what": "visit", "unit": "u", "satisfaction": "unreachable"}]
    mine = log_rates(log)
    assert mine["u"] == {"response_rate": 0.5, "resolution_rate": 0.5, "satisfaction_rate": 0.5}
    rows = compare_rates(mine, {"u": {"response_rate": 0.5, "resolution_rate": 0.5, "satisfaction_rate": 1.0}})
    assert [r["same"] for r in rows] == [True, True, False]


def test_red_without_case_and_thresholds() -> None:
    items = [item("a")]
    obs = {"a": Observed("T1", work_order=wo(tier="red"), has_clock=True)}
    card = build(items, obs, tickets_seen=1, is_working_day=weekdays, log=[], oversight_rates={},
                 red_tickets={"T1", "T2"}, case_tickets={"T1"})
    assert card.figures["red_without_case"] == 1
    # no same-person repeats: the figure cannot be measured, which fails too
    assert card.failures == ["same_person_repeats_found = None (want >= 0.95)", "red_without_case = 1 (want <= 0)"]


def test_a_consultation_is_answered_or_handed_on_the_level_3_clock() -> None:
    items = [item(x, "consult", route="answer", category="consult", dept_kind=None) for x in "abc"]
    obs = {"a": Observed("T1", work_order=wo(route="answer", response_level=3), has_clock=True),
           "b": Observed("T2", work_order=wo(route="dispatch", response_level=3), has_clock=True),
           "c": Observed("T3", work_order=wo(route="dispatch", response_level=2), has_clock=True)}
    card = build(items, obs, tickets_seen=3, is_working_day=weekdays, log=[], oversight_rates={}, red_tickets=set(),
                 case_tickets=set())
    # the hotline answers (a) or a unit answers online on the 1-day clock (b); a 5-day dispatch (c) is wrong
    assert card.by_kind["consult"]["route"] == {"right": 2, "of": 3, "rate": 0.6667}
    assert card.figures["department_kind_right"] is None  # consultations carry no department label
