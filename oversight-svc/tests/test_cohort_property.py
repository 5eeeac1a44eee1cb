"""Rates by cohort, property-based (hypothesis), pure: random work orders dispatched around a month's edge (local
midnight of 1 April in Shanghai), their facts at random later times, delivered in random orders across topics
(triage's facts in any order, sla's in their own order, return visits after the result), each handled as the
service does (load → rule → save) with the rollup counts kept per unit and local month. Then every rate is in
[0, 1] and every counter equals what the generated facts give directly by dispatch month; the rebuild's rule
(`round_counts` from the stored rounds and visits) gives the same counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from oversight_svc.domain import rounds, visits
from oversight_svc.domain.metrics import AT, COHORT_METRICS, METRICS, ROW_KEYS, Count
from oversight_svc.domain.rates import RatePolicy, rates_of

TZ = ZoneInfo("Asia/Shanghai")
EDGE = datetime(2025, 3, 31, 16, 0, tzinfo=UTC)  # 1 April 00:00 in Shanghai
UNITS = ("339901-market_regulation", "339902-urban_management")
REACHED = ("satisfied", "basically_satisfied", "unsatisfied")


@dataclass
class Round:
    """A round as the rounds table keeps it."""

    unit: str | None = None
    dispatch_day: date | None = None
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
    overdue: bool = False
    extended: bool = False
    visited_at: datetime | None = None
    visits: list[Visit] = field(default_factory=list)


@dataclass
class Visit:
    """A stored return visit."""

    unit: str | None
    resolved: str | None
    satisfaction: str
    redo: bool


@dataclass(frozen=True)
class Order:
    """One generated work order (one round) and its facts."""

    unit: str
    dispatched_at: datetime
    sign: str  # none | unit | deemed | deemed_twice (triage's deemed sign and sla's DeemedSigned)
    sign_after: timedelta
    result: str | None  # None, or the outcome
    result_after: timedelta
    alarm: bool
    extension: timedelta | None  # days added to the deadline
    visits: tuple[tuple[str | None, str], ...]  # (resolved answer, satisfaction)

    @property
    def accept_due(self) -> datetime:
        return self.dispatched_at + timedelta(days=2)

    @property
    def resolve_due(self) -> datetime:
        return self.dispatched_at + timedelta(days=7)


hours = st.integers(min_value=0, max_value=240).map(lambda h: timedelta(hours=h))
visit = st.one_of(st.just((None, "unreachable")),
                  st.tuples(st.sampled_from(["yes", "partly", "no"]), st.sampled_from(REACHED)))
orders = st.builds(
    Order,
    unit=st.sampled_from(UNITS),
    dispatched_at=st.integers(min_value=-4 * 24 * 60, max_value=4 * 24 * 60).map(lambda m: EDGE + timedelta(minutes=m)),
    sign=st.sampled_from(["none", "unit", "deemed", "deemed_twice"]),
    sign_after=hours,
    result=st.one_of(st.none(), st.sampled_from(["resolved", "partially_resolved", "explained"])),
    result_after=hours,
    alarm=st.booleans(),
    extension=st.one_of(st.none(), st.integers(min_value=1, max_value=7).map(lambda d: timedelta(days=d))),
    visits=st.lists(visit, max_size=2).map(tuple),
)


def events(o: Order) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]], list[tuple[str, Any]]]:
    """Triage's facts (any order), sla's facts (in order), the return visits (after the result, in order)."""
    sign_at = o.dispatched_at + o.sign_after
    triage: list[tuple[str, Any]] = [("dispatch", None)]
    sla: list[tuple[str, Any]] = [("clock", None)]
    if o.sign == "unit":
        triage.append(("sign", (sign_at, False)))
    elif o.sign in ("deemed", "deemed_twice"):
        sla.append(("sign", (o.accept_due, True)))
        if o.sign == "deemed_twice":
            triage.append(("sign", (o.accept_due, True)))
    if o.result is not None:
        triage.append(("result", o.dispatched_at + o.result_after))
    if o.alarm:
        sla.append(("alarm", None))
    if o.extension is not None:
        sla.append(("extend", o.resolve_due + o.extension))
    return triage, sla, [("visit", v) for v in o.visits] if o.result is not None else []


class Model:
    """The handlers of oversight over in-memory rounds and rollups (months only)."""

    def __init__(self) -> None:
        self.rounds: dict[int, Round] = defaultdict(Round)
        self.rollups: dict[tuple[str, date], Counter[str]] = defaultdict(Counter)

    def add(self, counts: list[Count]) -> None:
        for unit, day, deltas in counts:
            self.rollups[unit, day.replace(day=1)].update(deltas)

    def apply(self, r: Round, change: rounds.RoundChange | None) -> None:
        if change is not None:
            for k, v in change.values.items():
                setattr(r, k, v)
            self.add(change.counts)

    def handle(self, i: int, o: Order, kind: str, arg: Any) -> None:
        r = self.rounds[i]
        if kind == "dispatch":
            self.apply(r, rounds.dispatch_known(r, lead=o.unit, co_units=[], day=rounds.day_of(o.dispatched_at, TZ),
                                                visits=r.visits))
        elif kind == "clock":
            accept = rounds.accept_due(o.accept_due, o.resolve_due)
            r.accept_due, r.resolve_due, r.unit = accept, o.resolve_due, r.unit or o.unit
            self.apply(r, rounds.clock_known(r, accept_due=accept, resolve_due=o.resolve_due))
        elif kind == "sign":
            at, deemed = arg
            self.apply(r, rounds.signed(r, unit=o.unit, at=at, deemed=deemed, via=None))
        elif kind == "result":
            self.apply(r, rounds.resolved(r, unit=o.unit, at=arg, outcome=o.result or "", visit_due_hours=72))
        elif kind == "alarm":
            self.apply(r, rounds.alarmed(r, unit=o.unit))
        elif kind == "extend":
            self.apply(r, rounds.deadline_moved(r, new_due=arg, extension=True, unit=o.unit))
        elif kind == "visit" and r.resolved_at is not None and r.visited_at is None:
            answer, said = arg
            unit = r.resolve_unit or r.unit
            deltas = visits.deltas(answer, said, r.outcome == "resolved", False)
            r.visits.append(Visit(unit, answer, said, False))
            if said != "unreachable":
                r.visited_at = r.resolved_at
            self.add(rounds.visited(r, unit=unit, deltas=deltas))


def expected(os: list[Order]) -> dict[tuple[str, date], Counter[str]]:
    """The counters straight from the generated facts, by the local month of each order's dispatch."""
    out: dict[tuple[str, date], Counter[str]] = defaultdict(Counter)
    for o in os:
        c = out[o.unit, rounds.day_of(o.dispatched_at, TZ).replace(day=1)]
        c.update({"received": 1, "dispatched": 1})
        if o.sign != "none":
            deemed = o.sign != "unit"
            c.update({"signed": 1, "deemed_signed": int(deemed),
                      "signed_in_time": int(not deemed and o.dispatched_at + o.sign_after <= o.accept_due)})
        if o.result is not None:
            due = o.resolve_due + (o.extension or timedelta(0))
            c.update({"resolved": 1, "self_resolved": int(o.result == "resolved"),
                      "resolved_in_time": int(o.dispatched_at + o.result_after <= due)})
            reached = False
            for answer, said in o.visits:
                if reached:
                    break  # a visited round takes no more visits
                reached = said != "unreachable"
                c.update(visits.deltas(answer, said, o.result == "resolved", False))
        c.update({"overdue": int(o.alarm), "extended": int(o.extension is not None)})
    return out


def row(unit: str, counts: Counter[str]) -> tuple[Any, ...]:
    return (unit, unit, None, 2, *(counts[m] for m in METRICS))


def nonzero(d: dict[tuple[str, date], Counter[str]]) -> dict[tuple[str, date], dict[str, int]]:
    return {k: {m: n for m, n in v.items() if n} for k, v in d.items() if any(v.values())}


@settings(max_examples=300, deadline=None)
@given(os=st.lists(orders, min_size=1, max_size=6), data=st.data())
def test_every_rate_by_dispatch_cohort_whatever_the_timing_and_order(os: list[Order], data: st.DataObject) -> None:
    m = Model()
    queues: list[list[tuple[int, str, Any]]] = []
    for i, o in enumerate(os):
        triage, sla, seen = events(o)
        queues.append([(i, k, a) for k, a in data.draw(st.permutations(triage))])
        queues.append([(i, k, a) for k, a in sla])
        # return visits come after the result was handled: a queue that starts once it is
        queues.append([(i, k, a) for k, a in seen])
    while any(queues):
        ready = [q for q in queues if q and (q[0][1] != "visit" or m.rounds[q[0][0]].resolved_at is not None)]
        if not ready:  # visits whose result never comes
            break
        q = data.draw(st.sampled_from(ready))
        i, kind, arg = q.pop(0)
        m.handle(i, os[i], kind, arg)

    want = expected(os)
    assert nonzero(m.rollups) == nonzero(want)
    keys = sorted(want)
    rows = [row(u, m.rollups[u, p]) for u, p in keys]
    for (u, p), r, rates in zip(keys, rows, rates_of(rows, RatePolicy()), strict=True):
        w = want[u, p]
        for rate in rates[:3]:
            assert rate is None or 0 <= rate <= 1
        assert rates[0] == (round(w["signed_in_time"] / w["dispatched"], 4) if w["dispatched"] else None)
        assert rates[1] == (round(w["visit_yes"] / w["visited"], 4) if w["visited"] else None)
        assert r[AT["signed_in_time"]] <= r[AT["dispatched"]] and r[AT["visit_yes"]] <= r[AT["visited"]]

    # the rebuild's rule, from the stored rounds and visits alone, gives the same cohort counts
    rebuilt = Model()
    for rnd in m.rounds.values():
        assert rnd.dispatch_day is not None
        rebuilt.add(rounds.round_counts(rnd, rnd.visits, rnd.dispatch_day))
    cohort = {k: {n: v for n, v in c.items() if n in COHORT_METRICS} for k, c in nonzero(m.rollups).items()}
    assert nonzero(rebuilt.rollups) == {k: v for k, v in cohort.items() if v}
    assert set(ROW_KEYS[4:]) == set(METRICS)
