"""oversight use cases: return visits, accountability, statistics from the rollups, red-track figures,
hotspots, disclosures."""

from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import Principal, Role
from bancheng_shared.contracts.envelope import make_event
from bancheng_shared.contracts.oversight import AccountabilityDecided, RedoOrdered, ReturnVisitRecorded
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import OVERSIGHT_CASES
from oversight_svc import cases as case_ops
from oversight_svc import domain
from oversight_svc.settings import OversightSettings
from oversight_svc.store import (
    accountability,
    cases,
    copies,
    hotspots,
    increment,
    region_received,
    rollups,
    rounds,
    tickets,
    units,
    upsert,
    visits,
)

SERVICE = "oversight-svc"


def settings_of(rt: Runtime) -> OversightSettings:
    """The runtime's oversight settings."""
    return rt.settings  # type: ignore[return-value]


def tz_of(rt: Runtime) -> ZoneInfo:
    """The local time zone of periods."""
    return ZoneInfo(settings_of(rt).timezone)


def check_period(rt: Runtime, start: date, end: date) -> None:
    """Out-of-range or reversed periods → 422 problem."""
    s = settings_of(rt)
    if end < start:
        raise Problem(422, f"to: {end} is before from: {start}", type_="invalid-period")
    for name, d in (("from", start), ("to", end)):
        if not s.stats_min_year <= d.year <= s.stats_max_year:
            raise Problem(422, f"{name}: {d} is out of range ({s.stats_min_year}..{s.stats_max_year})",
                          type_="period-out-of-range")


def _local_bounds(rt: Runtime, start: date, end: date) -> tuple[datetime, datetime]:
    tz = tz_of(rt)
    return (datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC))


# ---- return visits ----

async def record_visit(rt: Runtime, who: Principal, ticket_no: str, body: dict[str, Any]) -> dict[str, Any]:
    """Record the return visit of a ticket's current resolved round; subjective dissatisfaction → redo."""
    now = datetime.now(UTC)
    async with rt.sm() as session, session.begin():
        t = (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()
        if t is None:
            raise Problem(404, f"ticket {ticket_no!r} is unknown to oversight (no triage events seen)",
                          type_="unknown-ticket")
        q = (select(rounds).where(rounds.c.ticket_no == ticket_no, rounds.c.resolved_at.is_not(None))
             .order_by(rounds.c.round.desc()).limit(1))
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            q = q.with_for_update()
        r = (await session.execute(q)).first()
        if r is None or int(r.round) < int(t.round):
            raise Problem(409, f"ticket {ticket_no} has no result for round {t.round} yet (status {t.status}); "
                               "a return visit follows the unit's result", type_="not-resolved",
                          state=t.status, allowed_actions=[])
        if r.visited_at is not None:
            raise Problem(409, f"round {r.round} of {ticket_no} was already visited at {r.visited_at.isoformat()};"
                               " a new visit needs a new result (after redo)", type_="already-visited",
                          state=t.status, allowed_actions=[])
        satisfaction, resolved, cause = body["satisfaction"], body.get("resolved"), body.get("cause")
        if satisfaction == "unsatisfied" and cause is None:
            raise Problem(422, "cause: required when unsatisfied (subjective = the unit's fault, or objective)",
                          type_="validation")
        if satisfaction != "unreachable" and resolved is None:
            raise Problem(422, "resolved: required when the person was reached (yes, partly, no)",
                          type_="validation")
        when = body.get("visited_at") or now
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        if when.tzinfo is None:
            raise Problem(422, "visited_at: needs a time zone offset", type_="validation")
        if when > now + timedelta(minutes=5) or when < r.resolved_at:
            raise Problem(422, f"visited_at: must be between the result ({r.resolved_at.isoformat()}) and now",
                          type_="validation")
        now = when
        redo = domain.visit_orders_redo(satisfaction, cause)
        unit = r.resolve_unit or r.unit
        visit_id = case_ops.new_id("RV")
        await session.execute(insert(visits).values(
            visit_id=visit_id, ticket_no=ticket_no, round=r.round, unit=unit, resolved=resolved,
            satisfaction=satisfaction, cause=cause, notes=body.get("notes"), redo=redo, case_id=body.get("case_id"),
            by_name=who.name, by_role=who.role.value, visited_at=now))
        if satisfaction != "unreachable":  # an unreachable person is tried again
            await session.execute(update(rounds).where(rounds.c.ticket_no == ticket_no, rounds.c.round == r.round)
                                  .values(visited_at=now))
        if unit:
            await increment(session, unit, now.astimezone(tz_of(rt)).date(),
                            domain.visit_deltas(resolved, satisfaction, r.outcome == "resolved", redo))
        events = [make_event(ReturnVisitRecorded(
            resolved=resolved, satisfaction=satisfaction, subjective_cause=cause == "subjective", redo=redo,
            round=r.round, visited_at=now, unit=unit, case_id=body.get("case_id")),
            ticket_id=ticket_no, producer=SERVICE)]
        if redo:
            events.append(make_event(RedoOrdered(
                reason=f"回访不满意（主观原因）unsatisfied through the unit's fault: {body.get('notes') or ''}".strip(),
                round=r.round, ordered_at=now, unit=unit, case_id=body.get("case_id")),
                ticket_id=ticket_no, producer=SERVICE, causation=None, correlation_id=events[0].correlation_id))
        await rt.publish(session, events, OVERSIGHT_CASES)
    rt.relay.wake()
    return {"visit_id": visit_id, "ticket_no": ticket_no, "round": r.round, "unit": unit, "resolved": resolved,
            "satisfaction": satisfaction, "cause": cause, "redo": redo, "visited_at": now}


async def list_visits(rt: Runtime, who: Principal, ticket_no: str) -> list[dict[str, Any]]:
    """A ticket's return visits (a unit key: only its own tickets)."""
    async with rt.sm() as session:
        t = (await session.execute(select(tickets).where(tickets.c.ticket_no == ticket_no))).first()
        if t is None:
            raise Problem(404, f"ticket {ticket_no!r} is unknown", type_="unknown-ticket")
        rows = (await session.execute(select(visits).where(visits.c.ticket_no == ticket_no)
                                      .order_by(visits.c.visited_at))).all()
    if who.role == Role.unit and not any(r.unit == who.unit_code for r in rows) and t.lead_unit != who.unit_code:
        raise Problem(404, f"ticket {ticket_no!r} is unknown", type_="unknown-ticket")
    return [{"visit_id": r.visit_id, "round": r.round, "unit": r.unit, "resolved": r.resolved,
             "satisfaction": r.satisfaction, "cause": r.cause, "redo": r.redo, "notes": r.notes,
             "visited_at": r.visited_at} for r in rows]


async def visits_due(rt: Runtime, limit: int) -> list[dict[str, Any]]:
    """Resolved rounds still waiting for their return visit, earliest due first."""
    q = (select(rounds).where(rounds.c.resolved_at.is_not(None), rounds.c.visited_at.is_(None))
         .order_by(rounds.c.visit_due).limit(limit))
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"ticket_no": r.ticket_no, "round": r.round, "unit": r.resolve_unit, "outcome": r.outcome,
             "resolved_at": r.resolved_at, "visit_due": r.visit_due} for r in rows]


# ---- accountability ----

def _acc_view(r: Any) -> dict[str, Any]:
    return {"record_id": r.record_id, "status": r.status, "unit": r.unit,
            "person": {"name": r.person_name, "post": r.person_post} if r.person_name else None,
            "measure": r.measure, "reason_category": r.reason_category, "reason": r.reason,
            "case_ids": r.case_ids, "ticket_nos": r.ticket_nos, "proposed_at": r.proposed_at,
            "decided_by": r.decided_by, "decided_at": r.decided_at}


async def _decide(rt: Runtime, session: AsyncSession, record_id: str, unit: str, body: dict[str, Any],
                  case_ids: list[str], at: datetime) -> None:
    await increment(session, unit, at.astimezone(tz_of(rt)).date(), {"accountability": 1})
    env = make_event(AccountabilityDecided(record_id=record_id, unit=unit, measure=body["measure"],
                                           reason_category=body["reason_category"], case_ids=case_ids,
                                           decided_at=at),
                     ticket_id=(body.get("ticket_nos") or [None])[0] or record_id, producer=SERVICE)
    await rt.publish(session, [env], OVERSIGHT_CASES)


async def _check_links(session: AsyncSession, case_ids: list[str]) -> None:
    for cid in case_ids:
        if (await session.execute(select(cases.c.case_id).where(cases.c.case_id == cid))).first() is None:
            raise Problem(422, f"case_ids: case {cid!r} is unknown", type_="unknown-case")


async def create_accountability(rt: Runtime, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Record a decided accountability measure."""
    now = datetime.now(UTC)
    decided_at = body.get("decided_at") or now
    record_id = case_ops.new_id("ACC")
    async with rt.sm() as session, session.begin():
        await _check_links(session, body.get("case_ids") or [])
        await session.execute(insert(accountability).values(
            record_id=record_id, status="decided", unit=body["unit"], person_name=body["person"]["name"],
            person_post=body["person"]["post"], measure=body["measure"], reason_category=body["reason_category"],
            reason=body.get("reason"), case_ids=body.get("case_ids") or [], ticket_nos=body.get("ticket_nos") or [],
            decided_by=body.get("decided_by") or who.name, decided_at=decided_at))
        await upsert(session, units, ["unit"], {"unit": body["unit"],
                                                "region_code": domain.unit_region(body["unit"], None)}, update=[])
        await _decide(rt, session, record_id, body["unit"], body, body.get("case_ids") or [], decided_at)
        row = (await session.execute(select(accountability).where(accountability.c.record_id == record_id))).one()
    rt.relay.wake()
    return _acc_view(row)


async def decide_accountability(rt: Runtime, who: Principal, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Decide (or dismiss) a proposed record, e.g. one raised by an unanswered letter."""
    now = datetime.now(UTC)
    async with rt.sm() as session, session.begin():
        r = (await session.execute(select(accountability).where(accountability.c.record_id == record_id))).first()
        if r is None:
            raise Problem(404, f"accountability record {record_id!r} is unknown", type_="unknown-record")
        if r.status != "proposed":
            raise Problem(409, f"record {record_id} is {r.status!r}; only a proposed record is decided",
                          type_="invalid-transition", state=r.status, allowed_actions=[])
        if body.get("dismiss"):
            await session.execute(update(accountability).where(accountability.c.record_id == record_id).values(
                status="dismissed", reason=(r.reason or "") + f" | dismissed: {body.get('reason') or ''}",
                decided_by=body.get("decided_by") or who.name, decided_at=now))
        else:
            for f in ("person", "measure", "reason_category"):
                if not body.get(f):
                    raise Problem(422, f"{f}: required to decide a measure", type_="validation")
            await session.execute(update(accountability).where(accountability.c.record_id == record_id).values(
                status="decided", person_name=body["person"]["name"], person_post=body["person"]["post"],
                measure=body["measure"], reason_category=body["reason_category"],
                reason=body.get("reason") or r.reason, decided_by=body.get("decided_by") or who.name,
                decided_at=now))
            await _decide(rt, session, record_id, r.unit, {**body, "ticket_nos": r.ticket_nos}, r.case_ids, now)
        row = (await session.execute(select(accountability).where(accountability.c.record_id == record_id))).one()
    rt.relay.wake()
    return _acc_view(row)


async def list_accountability(rt: Runtime, who: Principal, *, unit: str | None, status: str | None,
                              case_id: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Records, newest first; a unit key sees only its own unit's."""
    if who.role == Role.unit:
        unit = who.unit_code
    q = select(accountability).order_by(func.coalesce(accountability.c.decided_at, accountability.c.proposed_at)
                                        .desc()).limit(limit).offset(offset)
    if unit:
        q = q.where(accountability.c.unit == unit)
    if status:
        q = q.where(accountability.c.status == status)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    out = [_acc_view(r) for r in rows]
    if case_id:
        out = [r for r in out if case_id in (r["case_ids"] or [])]
    return out


async def get_accountability(rt: Runtime, who: Principal, record_id: str) -> dict[str, Any]:
    """One record (404 for a unit key when it is about another unit)."""
    async with rt.sm() as session:
        r = (await session.execute(select(accountability).where(accountability.c.record_id == record_id))).first()
    if r is None or not who.can_see_unit(r.unit):
        raise Problem(404, f"accountability record {record_id!r} is unknown", type_="unknown-record")
    return _acc_view(r)


# ---- statistics ----

def _period_filter(start: date, end: date, table: Any) -> Any:
    return or_(*(and_(table.c.grain == g, table.c.period >= a, table.c.period <= b)
                 for g, a, b in domain.split_period(start, end)))


ROW_KEYS: tuple[str, ...] = ("unit", "name", "region_code", "level", *domain.METRICS)


def _ranges(segments: list[tuple[int, str, date, date]]) -> Any:
    return or_(*(and_(rollups.c.grain == g, rollups.c.period >= a, rollups.c.period <= b) for _, g, a, b in segments))


def _unit_query(start: date, end: date, unit: str | None, region: str | None) -> Any:
    """One statement: each unit's counters over the period, with its name, region and level."""
    segments = domain.cover_period(start, end)

    def scoped(q: Any) -> Any:
        if unit:
            q = q.where(rollups.c.unit == unit)
        if region:  # before aggregating: a district's units only, not the whole city then filtered
            q = q.where(rollups.c.unit.in_(select(units.c.unit).where(units.c.region_code.like(f"{region}%"))))
        return q

    if len(segments) == 1 and segments[0][2] == segments[0][3]:
        # a whole year, quarter, month or a single day is one rollup row per unit: no GROUP BY at all
        _, g, p, _ = segments[0]
        sub = scoped(select(rollups.c.unit, *(rollups.c[m] for m in domain.METRICS))
                     .where(rollups.c.grain == g, rollups.c.period == p)).subquery("r")
    else:
        pos = [x for x in segments if x[0] > 0]
        neg = [x for x in segments if x[0] < 0]
        parts: Any = scoped(select(rollups.c.unit, *(rollups.c[m] for m in domain.METRICS)).where(_ranges(pos)))
        if neg:  # month minus the days outside the period: those rows enter negated
            parts = union_all(parts, scoped(select(rollups.c.unit, *((-rollups.c[m]).label(m) for m in domain.METRICS))
                                            .where(_ranges(neg))))
        u = parts.subquery("u")
        sub = select(u.c.unit, *(func.sum(u.c[m]).label(m) for m in domain.METRICS)).group_by(u.c.unit).subquery("r")
    return (select(sub.c.unit, units.c.name, units.c.region_code, units.c.level, *(sub.c[m] for m in domain.METRICS))
            .select_from(sub.outerjoin(units, units.c.unit == sub.c.unit)).order_by(sub.c.unit))


async def _unit_tuples(session: AsyncSession, start: date, end: date, unit: str | None,
                       region: str | None) -> list[tuple[Any, ...]]:
    """Rows in ROW_KEYS order, sorted by unit (plain tuples: no per-cell Python work)."""
    stmt = _unit_query(start, end, unit, region)

    def fetch(sync_session: Any) -> list[tuple[Any, ...]]:
        # the driver's own row tuples: SQLAlchemy's Row objects cost ~8 µs each, 160 ms for 20,000 units
        cursor = sync_session.connection().execute(stmt).cursor
        return [r if type(r) is tuple else tuple(r) for r in cursor.fetchall()]

    rows: list[tuple[Any, ...]] = await session.run_sync(fetch)
    if any(sign < 0 for sign, *_ in domain.cover_period(start, end)):
        # a unit whose only rows were in the days taken away nets to all zeros: it had nothing in the period
        rows = [r for r in rows if any(r[4:])]
    return rows


_I = {k: i for i, k in enumerate(ROW_KEYS)}


def _dicts(rows: list[tuple[Any, ...]], s: OversightSettings) -> list[dict[str, Any]]:
    """Row dicts with the rates of domain.with_rates (same keys, values and rounding), computed from the
    tuples by position: this runs for every one of 20,000 units on each query."""
    keys = ROW_KEYS + RATE_KEYS
    return [dict(zip(keys, r + x, strict=True)) for r, x in zip(rows, _rates_of(rows, s), strict=True)]


async def unit_stats(rt: Runtime, start: date, end: date, unit: str | None,
                     region: str | None = None) -> list[dict[str, Any]]:
    """Per-unit counters and rates over [start, end] from the rollups."""
    check_period(rt, start, end)
    async with rt.sm() as session:
        rows = await _unit_tuples(session, start, end, unit, region)
    return _dicts(rows, settings_of(rt))


async def red_track(session: AsyncSession, rt: Runtime, start: date, end: date,
                    region: str | None) -> dict[str, Any]:
    """Seeds' red-track figures: red tickets investigated, problems solved, people held accountable."""
    lo, hi = _local_bounds(rt, start, end)
    from oversight_svc.store import case_tickets, case_units

    def scoped(q: Any) -> Any:
        if region:
            return q.where(cases.c.case_id.in_(select(case_units.c.case_id).join(
                units, units.c.unit == case_units.c.unit).where(units.c.region_code.like(f"{region}%"))))
        return q

    iq = (select(func.count(func.distinct(case_tickets.c.ticket_no)))
          .select_from(cases.join(case_tickets, case_tickets.c.case_id == cases.c.case_id))
          .where(cases.c.red.is_(True), cases.c.registered_at >= lo, cases.c.registered_at < hi))
    investigated = (await session.execute(scoped(iq))).scalar_one()
    solved = (await session.execute(scoped(select(func.count()).select_from(cases).where(
        cases.c.red.is_(True), cases.c.solved.is_(True), cases.c.concluded_at >= lo,
        cases.c.concluded_at < hi)))).scalar_one()
    concluded = (await session.execute(scoped(select(func.count()).select_from(cases).where(
        cases.c.concluded_at >= lo, cases.c.concluded_at < hi)))).scalar_one()
    aq = select(accountability.c.unit, accountability.c.person_name, accountability.c.measure).where(
        accountability.c.status == "decided", accountability.c.decided_at >= lo, accountability.c.decided_at < hi)
    if region:
        aq = aq.where(accountability.c.unit.in_(select(units.c.unit).where(units.c.region_code.like(f"{region}%"))))
    acc = (await session.execute(aq)).all()
    by_measure: dict[str, int] = defaultdict(int)
    for a in acc:
        by_measure[a.measure] += 1
    return {
        "red_tickets_investigated": int(investigated),
        "problems_solved": int(solved),
        "cases_concluded": int(concluded),
        "people_held_accountable": len({(a.unit, a.person_name) for a in acc}),
        "accountability_measures": dict(sorted(by_measure.items())),
    }


def _column_sums(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """Sum each counter over rows (column-wise in C: zip(*rows) and sum, not 25 dict updates per unit)."""
    n = len(ROW_KEYS) - len(domain.METRICS)
    if not rows:
        return dict.fromkeys(domain.METRICS, 0)
    cols = list(zip(*rows, strict=True))[n:]
    return {k: int(sum(c)) for k, c in zip(domain.METRICS, cols, strict=True)}


def _rates_of(rows: list[tuple[Any, ...]], s: OversightSettings) -> list[tuple[Any, ...]]:
    """Per row (same order as rows): response, resolution, satisfaction, self-reported resolution and
    claimed-denied rates and the closes-without-solving flag, as domain.with_rates computes them."""
    gap, sample = s.gap_threshold, s.gap_min_sample
    i_disp, i_sit, i_vis, i_yes, i_sat, i_bas, i_res, i_self, i_cv, i_cd = (_I[k] for k in (
        "dispatched", "signed_in_time", "visited", "visit_yes", "satisfied", "basically_satisfied", "resolved",
        "self_resolved", "claimed_visited", "claimed_denied"))
    # counts per unit are small integers, so the same (numerator, denominator) pairs recur across 20,000
    # units: a dict lookup instead of round() (~0.5 µs each, 100,000 calls per query); same values
    memo: dict[tuple[int, int], float] = {}

    def q(n: int, d: int) -> float | None:
        if not d:
            return None
        v = memo.get((n, d))
        if v is None:
            v = memo[(n, d)] = round(n / d, 4)
        return v

    out = []
    for r in rows:
        vis, cv = r[i_vis], r[i_cv]
        denied = q(r[i_cd], cv)
        out.append((q(r[i_sit], r[i_disp]), q(r[i_yes], vis), q(r[i_sat] + r[i_bas], vis), q(r[i_self], r[i_res]),
                    denied, bool(denied is not None and cv >= sample and denied >= gap)))
    return out


RATE_KEYS: tuple[str, ...] = ("response_rate", "resolution_rate", "satisfaction_rate",
                              "self_reported_resolution_rate", "claimed_denied_rate", "closes_without_solving")
_R = {k: i for i, k in enumerate(RATE_KEYS)}


def _rank(rows: list[tuple[Any, ...]], rates: list[tuple[Any, ...]], key: str, sample_key: str, min_sample: int,
          top: int) -> dict[str, Any]:
    """domain.rank over the tuples (same result), without a dict per unit."""
    ri, si, ui, ni = _R[key], _I[sample_key], _I["unit"], _I["name"]
    eligible = [i for i, r in enumerate(rows) if r[si] >= min_sample and rates[i][ri] is not None]
    best = heapq.nsmallest(top, eligible, key=lambda i: (-rates[i][ri], -rows[i][si], rows[i][ui]))
    worst = heapq.nsmallest(top, eligible, key=lambda i: (rates[i][ri], -rows[i][si], rows[i][ui]))

    def brief(i: int) -> dict[str, Any]:
        return {"unit": rows[i][ui], "name": rows[i][ni], key: rates[i][ri], sample_key: rows[i][si]}

    return {"rate": key, "min_sample": min_sample, "eligible": len(eligible), "not_ranked": len(rows) - len(eligible),
            "best": [brief(i) for i in best], "worst": [brief(i) for i in worst]}


def _overview_of(rt: Runtime, start: date, end: date, region: str | None, tuples: list[tuple[Any, ...]],
                 received_tickets: int, red: dict[str, Any]) -> dict[str, Any]:
    s = settings_of(rt)
    rates = _rates_of(tuples, s)
    by_region_rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for t in tuples:
        by_region_rows[t[2] or "unknown"].append(t)
    totals: dict[str, Any] = _column_sums(tuples)
    totals["tickets_received"] = received_tickets
    domain.with_rates(totals, gap_threshold=s.gap_threshold, min_sample=s.gap_min_sample)
    regions = [domain.with_rates({"region_code": reg, "units": len(ts), **_column_sums(ts)},
                                 gap_threshold=s.gap_threshold, min_sample=s.gap_min_sample)
               for reg, ts in sorted(by_region_rows.items())]
    n, top = s.ranking_min_sample, s.ranking_top
    i_flag, i_den = _R["closes_without_solving"], _R["claimed_denied_rate"]
    flagged = sorted((i for i, x in enumerate(rates) if x[i_flag]), key=lambda i: -(rates[i][i_den] or 0))
    return {
        "from": start, "to": end, "region": region, "units": len(tuples),
        "totals": totals,
        "by_region": regions,
        "rankings": {
            "response_rate": _rank(tuples, rates, "response_rate", "dispatched", n, top),
            "resolution_rate": _rank(tuples, rates, "resolution_rate", "visited", n, top),
            "satisfaction_rate": _rank(tuples, rates, "satisfaction_rate", "visited", n, top),
        },
        "closes_without_solving": [
            {"unit": tuples[i][_I["unit"]], "name": tuples[i][_I["name"]],
             "claimed_visited": tuples[i][_I["claimed_visited"]], "claimed_denied": tuples[i][_I["claimed_denied"]],
             "claimed_denied_rate": rates[i][i_den],
             "self_reported_resolution_rate": rates[i][_R["self_reported_resolution_rate"]],
             "resolution_rate": rates[i][_R["resolution_rate"]]}
            for i in flagged
        ],
        "red_track": red,
        "definitions": domain.RATE_DEFINITIONS,
    }


async def _overview_parts(rt: Runtime, start: date, end: date,
                          region: str | None) -> tuple[list[tuple[Any, ...]], int, dict[str, Any]]:
    check_period(rt, start, end)
    async with rt.sm() as session:
        tuples = await _unit_tuples(session, start, end, None, region)
        rq = select(func.coalesce(func.sum(region_received.c.n), 0)).where(_period_filter(start, end, region_received))
        if region:
            rq = rq.where(region_received.c.region_code.like(f"{region}%"))
        received_tickets = int((await session.execute(rq)).scalar_one())
        red = await red_track(session, rt, start, end, region)
    return tuples, received_tickets, red


async def overview_and_units(rt: Runtime, start: date, end: date,
                             region: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The overview and the per-unit rows from ONE rollup query (what a report needs)."""
    tuples, received_tickets, red = await _overview_parts(rt, start, end, region)
    return (_overview_of(rt, start, end, region, tuples, received_tickets, red),
            _dicts(tuples, settings_of(rt)))


async def overview(rt: Runtime, start: date, end: date, region: str | None) -> dict[str, Any]:
    """Totals, per-region figures, rankings with a minimum sample, flagged units and red-track figures."""
    # no dict per unit: rates, rankings and flags are computed on the fetched tuples
    tuples, received_tickets, red = await _overview_parts(rt, start, end, region)
    return _overview_of(rt, start, end, region, tuples, received_tickets, red)


async def overdue_list(rt: Runtime, start: date, end: date, region: str | None, limit: int) -> list[dict[str, Any]]:
    """Rounds that went overdue, resolved late or still open, in the period (for reports)."""
    lo, hi = _local_bounds(rt, start, end)
    q = (select(rounds, tickets.c.region_code, tickets.c.title, tickets.c.status)
         .join(tickets, tickets.c.ticket_no == rounds.c.ticket_no)
         .where(rounds.c.overdue.is_(True), rounds.c.resolve_due >= lo, rounds.c.resolve_due < hi)
         .order_by(rounds.c.resolve_due).limit(limit))
    if region:
        q = q.where(tickets.c.region_code.like(f"{region}%"))
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"ticket_no": r.ticket_no, "round": r.round, "unit": r.unit, "region_code": r.region_code,
             "title": r.title, "resolve_due": r.resolve_due, "resolved_at": r.resolved_at, "status": r.status}
            for r in rows]


# ---- hotspots ----

async def find_hotspots(rt: Runtime, start: date | None, end: date | None, min_places: int | None,
                        kind: str | None) -> list[dict[str, Any]]:
    """Frequent common problems: same kind and category, similar text, in several places in a window."""
    s = settings_of(rt)
    end = end or datetime.now(tz_of(rt)).date()
    start = start or end - timedelta(days=s.hotspot_window_days)
    check_period(rt, start, end)
    lo, hi = _local_bounds(rt, start, end)
    q = select(tickets.c.ticket_no, tickets.c.kinds, tickets.c.category, tickets.c.region_code,
               tickets.c.title, tickets.c.content).where(tickets.c.received_at >= lo, tickets.c.received_at < hi,
                                                         tickets.c.kinds.is_not(None))
    now = datetime.now(UTC)
    async with rt.sm() as session, session.begin():
        rows = (await session.execute(q)).all()
        items = [domain.HotspotTicket(r.ticket_no, (r.kinds or ["unknown"])[0], r.category, r.region_code,
                                      f"{r.title or ''}{r.content or ''}") for r in rows if r.kinds]
        if kind:
            items = [i for i in items if i.kind == kind]
        found = domain.find_hotspots(items, min_places=min_places or s.hotspot_min_places,
                                     threshold=s.hotspot_similarity, place_digits=s.hotspot_place_digits)
        for h in found:
            await upsert(session, hotspots, ["hotspot_id"], {
                "hotspot_id": h["hotspot_id"], "kind": h["kind"], "category": h["category"], "title": h["title"],
                "ticket_nos": h["ticket_nos"], "places": h["places"], "detected_at": now},
                update=["title", "ticket_nos", "places", "detected_at"])
        known = {r.hotspot_id: r.case_id for r in (await session.execute(
            select(hotspots.c.hotspot_id, hotspots.c.case_id))).all()}
    for h in found:
        h["case_id"] = known.get(h["hotspot_id"])
    return found


async def case_from_hotspot(rt: Runtime, who: Principal, hotspot_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Open a supervision case for a hotspot (handed top-down to the responsible department)."""
    now = datetime.now(UTC)
    async with rt.sm() as session, session.begin():
        h = (await session.execute(select(hotspots).where(hotspots.c.hotspot_id == hotspot_id))).first()
        if h is None:
            raise Problem(404, f"hotspot {hotspot_id!r} is unknown; list /v1/hotspots first", type_="unknown-hotspot")
        if h.case_id:
            raise Problem(409, f"hotspot {hotspot_id} already has case {h.case_id}", type_="already-open",
                          case_id=h.case_id)
        case_id = await case_ops.create_case(
            rt, session, title=body.get("title") or f"热点问题 hotspot: {h.title}", source="hotspot", at=now,
            ticket_nos=list(h.ticket_nos), unit_codes=body.get("units") or [], red=False,
            summary=body.get("summary") or f"{len(h.ticket_nos)} tickets in {len(h.places)} places: "
                                            + ", ".join(h.places),
            hotspot_id=hotspot_id, who=who)
        await session.execute(update(hotspots).where(hotspots.c.hotspot_id == hotspot_id).values(case_id=case_id))
        view = await case_ops.case_view(session, await case_ops.load_case(session, case_id), who)
    rt.relay.wake()
    return view


# ---- tier copies ----

async def list_copies(rt: Runtime, *, purpose: str | None, tier: str | None, ticket_no: str | None,
                      unit: str | None, start: date | None, end: date | None, limit: int,
                      offset: int) -> list[dict[str, Any]]:
    """Copies triage sent by tier (archive, joint scheduling, supervision), newest first, with the ticket's
    title, region and lead unit as oversight knows them."""
    q = (select(copies, tickets.c.title, tickets.c.region_code, tickets.c.lead_unit, tickets.c.status)
         .select_from(copies.outerjoin(tickets, tickets.c.ticket_no == copies.c.ticket_no))
         .order_by(copies.c.issued_at.desc(), copies.c.copy_id))
    if start or end:
        lo_day, hi_day = start or date(settings_of(rt).stats_min_year, 1, 1), end or date(
            settings_of(rt).stats_max_year, 12, 31)
        check_period(rt, lo_day, hi_day)
        lo, hi = _local_bounds(rt, lo_day, hi_day)
        q = q.where(copies.c.issued_at >= lo, copies.c.issued_at < hi)
    for col, val in ((copies.c.purpose, purpose), (copies.c.tier, tier), (copies.c.ticket_no, ticket_no)):
        if val:
            q = q.where(col == val)
    async with rt.sm() as session:
        if unit:
            # to_units is a short JSON list: filter in Python, paging over the matches
            rows = [r for r in (await session.execute(q)).all() if unit in (r.to_units or [])][offset:offset + limit]
        else:
            rows = list((await session.execute(q.limit(limit).offset(offset))).all())
    return [{"copy_id": r.copy_id, "ticket_no": r.ticket_no, "round": r.round, "purpose": r.purpose,
             "tier": r.tier, "to_kinds": r.to_kinds, "to_units": r.to_units, "reason": r.reason,
             "issued_at": r.issued_at, "case_id": r.case_id, "ticket": {
                 "title": r.title, "region_code": r.region_code, "lead_unit": r.lead_unit, "status": r.status}}
            for r in rows]


# ---- disclosures ----

async def list_disclosures(rt: Runtime, limit: int, offset: int) -> list[dict[str, Any]]:
    """Published outcomes (督查回声), newest first, without personal data."""
    from oversight_svc.store import disclosures

    q = select(disclosures).order_by(disclosures.c.published_at.desc()).limit(limit).offset(offset)
    async with rt.sm() as session:
        rows = (await session.execute(q)).all()
    return [{"case_id": r.case_id, "title": r.title, "summary": r.summary, "outcome": r.outcome,
             "units": r.units, "concluded_on": r.concluded_on, "published_at": r.published_at} for r in rows]
