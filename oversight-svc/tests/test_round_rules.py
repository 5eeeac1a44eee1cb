"""What a ticket round counts, pure: signed in time within the 2-working-day acceptance window (deemed signing is
not, except after a rejected return request ruled in time), resolved in time by the deadline (5 working days, or
extended once), overdue once, and the corrections when sla's clock arrives after the unit's action. Every fact of a
round counts on the round's dispatch day (its cohort), also when it arrives before the dispatch.

Changed for cohorts: the counts below used to fall on the day of the fact (sign day, result day, alarm day,
extension day); they now fall on the round's dispatch day DAY, and the rules take no time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from oversight_svc.domain import rounds

TZ = ZoneInfo("Asia/Shanghai")
UNIT = "339901-market_regulation"
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
DAY = date(2025, 3, 3)


def at(hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, days=days)


@dataclass
class Round:
    unit: str | None = UNIT
    dispatch_day: date | None = DAY
    accept_due: datetime | None = None
    resolve_due: datetime | None = None
    visit_due: datetime | None = None
    signed_at: datetime | None = None
    sign_unit: str | None = None
    sign_in_time: bool | None = None
    sign_deemed: bool | None = None
    resolved_at: datetime | None = None
    resolve_unit: str | None = None
    outcome: str | None = None
    resolve_in_time: bool | None = None
    extended: bool | None = False
    overdue: bool | None = False


WINDOW = Round(accept_due=at(days=2), resolve_due=at(days=7))


def test_a_dispatch_counts_for_the_lead_and_the_co_units() -> None:
    assert rounds.dispatched(UNIT, ["339901-urban_management"], DAY) == [
        (UNIT, DAY, {"received": 1, "dispatched": 1}), ("339901-urban_management", DAY, {"received": 1})]


def test_signed_in_time_only_by_the_unit_itself_within_the_window() -> None:
    c = rounds.signed(WINDOW, unit=UNIT, at=at(hours=3), deemed=False, via=None)
    assert c is not None and c.values["sign_in_time"] is True
    assert c.counts == [(UNIT, DAY, {"signed": 1, "deemed_signed": 0, "signed_in_time": 1})]
    late = rounds.signed(WINDOW, unit=UNIT, at=at(hours=72), deemed=False, via=None)
    assert late is not None and late.values["sign_in_time"] is False
    deemed = rounds.signed(WINDOW, unit=UNIT, at=at(days=2, hours=1), deemed=True, via=None)
    assert deemed is not None and deemed.counts[0][2] == {"signed": 1, "deemed_signed": 1, "signed_in_time": 0}
    assert rounds.signed(Round(signed_at=at(1)), unit=UNIT, at=at(2), deemed=True, via=None) is None  # once


def test_a_sign_after_a_rejected_return_is_in_time_when_ruled_in_the_window() -> None:
    ruled_in_time = rounds.signed(WINDOW, unit=UNIT, at=at(hours=30), deemed=True, via="return_rejected")
    ruled_late = rounds.signed(WINDOW, unit=UNIT, at=at(hours=72), deemed=True, via="return_rejected")
    assert ruled_in_time is not None and ruled_in_time.counts[0][2]["signed_in_time"] == 1
    assert ruled_late is not None and ruled_late.counts[0][2]["signed_in_time"] == 0
    assert ruled_in_time.counts[0][2]["deemed_signed"] == 1  # still a deemed sign


def test_an_organ_acknowledging_a_transfer_is_not_a_units_response() -> None:
    # nothing was dispatched to the 信访 / 政法 organ: its receipt must not enter the response rate
    assert rounds.signed(WINDOW, unit="3399-petition", at=at(hours=3), deemed=False, via="transfer") is None
    assert rounds.signed(WINDOW, unit=UNIT, at=at(hours=3), deemed=False, via="other") is not None


def test_the_clock_takes_back_provisional_counts() -> None:
    # signed at 72 h before sla's clock was known: counted in time provisionally; the window was 2 days
    signed = Round(signed_at=at(hours=72), sign_unit=UNIT, sign_in_time=True, resolved_at=at(days=8),
                   resolve_unit=UNIT, resolve_in_time=True)
    c = rounds.clock_known(signed, accept_due=at(days=2), resolve_due=at(days=7))
    assert c is not None and c.values == {"sign_in_time": False, "resolve_in_time": False}
    assert c.counts == [(UNIT, DAY, {"signed_in_time": -1}), (UNIT, DAY, {"resolved_in_time": -1})]
    assert rounds.clock_known(Round(signed_at=at(1), sign_unit=UNIT, sign_in_time=True), accept_due=at(days=2),
                              resolve_due=None) is None
    extended = Round(resolved_at=at(days=8), resolve_unit=UNIT, resolve_in_time=True, extended=True)
    assert rounds.clock_known(extended, accept_due=None, resolve_due=at(days=7)) is None


def test_a_result_once_in_time_by_the_deadline_and_due_for_a_visit() -> None:
    c = rounds.resolved(WINDOW, unit=UNIT, at=at(days=4), outcome="resolved", visit_due_hours=72)
    assert c is not None and c.values["resolve_in_time"] is True and c.values["visit_due"] == at(days=7)
    assert c.counts == [(UNIT, DAY, {"resolved": 1, "self_resolved": 1, "resolved_in_time": 1})]
    partly = rounds.resolved(WINDOW, unit=UNIT, at=at(days=8), outcome="partially_resolved", visit_due_hours=72)
    assert partly is not None and partly.counts[0][2] == {"resolved": 1, "self_resolved": 0, "resolved_in_time": 0}
    sla_due = Round(visit_due=at(days=5))
    c = rounds.resolved(sla_due, unit=UNIT, at=at(days=4), outcome="resolved", visit_due_hours=72)
    assert c is not None and c.values["visit_due"] == at(days=5)  # sla's due time came first
    once = rounds.resolved(Round(resolved_at=at(1)), unit=UNIT, at=at(2), outcome="resolved", visit_due_hours=72)
    assert once is None


def test_an_extension_of_5_working_days_counts_once_and_rejudges_the_result() -> None:
    late = Round(resolve_due=at(days=2), resolved_at=at(days=3), resolve_unit=UNIT, resolve_in_time=False)
    c = rounds.deadline_moved(late, new_due=at(days=9), extension=True, unit=UNIT)
    assert c.values == {"resolve_due": at(days=9), "extended": True, "resolve_in_time": True}
    assert c.counts == [(UNIT, DAY, {"extended": 1}), (UNIT, DAY, {"resolved_in_time": 1})]
    again = Round(resolve_due=at(days=9), extended=True)
    c = rounds.deadline_moved(again, new_due=at(days=10), extension=True, unit=UNIT)
    assert c.counts == []  # one extension per round is counted
    c = rounds.deadline_moved(WINDOW, new_due=None, extension=False, unit=None)
    assert c.values == {"resolve_due": at(days=7), "extended": False} and c.counts == []


def test_overdue_once_and_the_visit_due_day() -> None:
    c = rounds.alarmed(Round(), unit=UNIT)
    assert c is not None and c.counts == [(UNIT, DAY, {"overdue": 1})]
    assert rounds.alarmed(Round(overdue=True), unit=UNIT) is None
    assert rounds.visit_due_at(None, date(2025, 3, 7), TZ) == datetime(2025, 3, 7, 23, 59, 59, tzinfo=TZ)
    assert rounds.visit_due_at(at(days=4), None, TZ) == at(days=4)


def test_a_direct_answer_counts_for_the_hotline_centre_only_when_first_given_to_it() -> None:
    hotline = "3399-hotline_center"
    assert rounds.answer_unit(route="answer", answer_unit=hotline, reclassified=False) == hotline
    assert rounds.answer_unit(route="answer", answer_unit=hotline, reclassified=True) is None
    assert rounds.answer_unit(route="dispatch", answer_unit=hotline, reclassified=False) is None
    assert rounds.answer_unit(route="answer", answer_unit=None, reclassified=False) is None


def test_acceptance_is_never_due_after_the_rounds_own_deadline() -> None:
    # a level-3 matter (1 working day) answered on day two is late; a 5-day round keeps its 2-day window
    assert rounds.accept_due(at(days=2), at(days=1)) == at(days=1)
    assert rounds.accept_due(at(days=2), at(days=7)) == at(days=2)
    assert rounds.accept_due(None, at(days=1)) is None  # not known yet: provisional, corrected later
    assert rounds.accept_due(at(days=2), None) == at(days=2)
    answered_day_two = Round(accept_due=rounds.accept_due(at(days=2), at(days=1)))
    late = rounds.signed(answered_day_two, unit=UNIT, at=at(days=1, hours=2), deemed=False, via=None)
    assert late is not None and late.values["sign_in_time"] is False


@dataclass
class Visit:
    unit: str | None
    resolved: str | None
    satisfaction: str
    redo: bool = False


MARCH_31 = date(2025, 3, 31)


def test_a_fact_counts_on_the_dispatch_day_not_its_own() -> None:
    # dispatched on 31 March 20:00, signed on 1 April: the sign belongs to March (the probe)
    march = Round(dispatch_day=MARCH_31, accept_due=datetime(2025, 4, 2, 12, tzinfo=UTC))
    c = rounds.signed(march, unit=UNIT, at=datetime(2025, 4, 1, 2, tzinfo=UTC), deemed=False, via=None)
    assert c is not None and c.counts == [(UNIT, MARCH_31, {"signed": 1, "deemed_signed": 0, "signed_in_time": 1})]
    assert rounds.visited(march, unit=UNIT, deltas={"visited": 1}) == [(UNIT, MARCH_31, {"visited": 1})]


def test_facts_before_the_dispatch_wait_for_it_and_count_once() -> None:
    unknown = Round(dispatch_day=None, unit=None)
    sign = rounds.signed(unknown, unit=UNIT, at=at(hours=3), deemed=True, via=None)
    result = rounds.resolved(unknown, unit=UNIT, at=at(days=4), outcome="resolved", visit_due_hours=72)
    assert sign is not None and sign.counts == [] and sign.values["sign_deemed"] is True
    assert result is not None and result.counts == []
    alarm = rounds.alarmed(unknown, unit=UNIT)
    assert alarm is not None and alarm.counts == [] and alarm.values == {"overdue": True}
    assert rounds.deadline_moved(unknown, new_due=at(days=9), extension=True, unit=UNIT).counts == []
    assert rounds.visited(unknown, unit=UNIT, deltas={"visited": 1}) == []
    stored = Round(dispatch_day=None, unit=None, signed_at=at(hours=3), sign_unit=UNIT, sign_in_time=False,
                   sign_deemed=True, resolved_at=at(days=4), resolve_unit=UNIT, outcome="resolved",
                   resolve_in_time=True, overdue=True, extended=True)
    seen = [Visit(UNIT, None, "unreachable"), Visit(UNIT, "partly", "unsatisfied", redo=True)]
    c = rounds.dispatch_known(stored, lead=UNIT, co_units=["339901-urban_management"], day=DAY, visits=seen)
    assert c.values == {"unit": UNIT, "dispatch_day": DAY}
    assert c.counts == [
        (UNIT, DAY, {"received": 1, "dispatched": 1}), ("339901-urban_management", DAY, {"received": 1}),
        (UNIT, DAY, {"signed": 1, "deemed_signed": 1, "signed_in_time": 0}),
        (UNIT, DAY, {"resolved": 1, "self_resolved": 1, "resolved_in_time": 1}),
        (UNIT, DAY, {"overdue": 1, "extended": 1}),
        (UNIT, DAY, {"unreachable": 1}),
        (UNIT, DAY, {"visited": 1, "unsatisfied": 1, "redone": 1, "visit_partly": 1, "claimed_visited": 1,
                     "claimed_denied": 1})]
    # a second dispatch of the same round counts only itself: the round's facts were counted with the first
    again = rounds.dispatch_known(Round(**{**stored.__dict__, "dispatch_day": DAY}), lead=UNIT, co_units=[],
                                  day=DAY + timedelta(days=1))
    assert again.values == {"unit": UNIT} and again.counts == [(UNIT, DAY + timedelta(days=1),
                                                                {"received": 1, "dispatched": 1})]


def test_a_clock_before_the_dispatch_corrects_the_judgement_without_counting() -> None:
    early = Round(dispatch_day=None, signed_at=at(hours=72), sign_unit=UNIT, sign_in_time=True)
    c = rounds.clock_known(early, accept_due=at(days=2), resolve_due=None)
    assert c is not None and c.values == {"sign_in_time": False} and c.counts == []


def test_rounds_stored_before_dispatch_days_get_an_estimate() -> None:
    first = Round(dispatch_day=None, signed_at=at(hours=3), sign_in_time=True, accept_due=at(days=2))
    deemed = Round(dispatch_day=None, signed_at=at(days=9), sign_in_time=False, accept_due=at(days=8))
    received = datetime(2025, 3, 2, 17, tzinfo=UTC)  # 3 March 01:00 in Shanghai
    fills = rounds.legacy_fill([first, deemed], [1, 2], received_at=received, visited_at=[at(days=5), None], tz=TZ)
    assert fills == {1: {"dispatch_day": DAY, "sign_deemed": False},
                     2: {"dispatch_day": DAY + timedelta(days=5), "sign_deemed": True}}
    assert rounds.legacy_fill([Round()], [1], received_at=None, visited_at=[None], tz=TZ) == {}
    assert rounds.estimated_dispatch_day(2, received_at=None, previous_visited_at=None, own=(None, at(days=4)),
                                         tz=TZ) == DAY + timedelta(days=4)
