"""triage use cases: triage and dispatch received tickets, the work-order lifecycle, the directory,
the routing catalogue and the work team's corrections."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import structlog
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.auth import Principal, Role
from bancheng_shared.contracts import EventEnvelope, EventPayload, make_event, parse_payload
from bancheng_shared.contracts.intake import RepeatReceived, TicketReceived
from bancheng_shared.contracts.oversight import RedoOrdered, ReturnVisitRecorded
from bancheng_shared.contracts.sla import AlertRaised, DeemedSigned
from bancheng_shared.contracts.triage import (
    ProgressReported,
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketClosed,
    TicketDispatched,
    TicketReopened,
    TicketSigned,
    TicketTransferred,
    TicketTriaged,
    TierChanged,
    TierCopyIssued,
)
from bancheng_shared.contracts.vocab import TIER_ORDER, AlertLevel, Category, Route, Satisfaction, Tier
from bancheng_shared.db import update_statement
from bancheng_shared.outbox import add_events
from bancheng_shared.problems import Problem
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from triage_svc import classifier, domain, tiers
from triage_svc.directory import DirectoryIndex, UnitRef, validate_rows
from triage_svc.lifecycle import REROUTABLE, Action, State, TransitionRefused, transition
from triage_svc.store import catalogue_versions, corrections, meta, plumbing, units, work_order_log, work_orders

SERVICE = "triage-svc"
log = structlog.get_logger("triage")
SATISFIED = {Satisfaction.satisfied, Satisfaction.basically_satisfied}


# ---------------------------------------------------------------- statements built once
# Building a statement per call (coercions, cache key) costs several times what SQLite takes to run it:
# these are built at import and every call only brings parameters.

# What tells a replica its caches are stale, read in one round trip: the active catalogue version (NULL: the
# shipped one), the newest correction and the directory generation. Another replica's change (catalogue,
# correction, import) shows in the next read, so it takes effect at once everywhere.
_STAMP_COLUMNS = (
    select(catalogue_versions.c.version).where(catalogue_versions.c.active.is_(True)).limit(1)
    .scalar_subquery().label("catalogue_version"),
    select(func.coalesce(func.max(corrections.c.id), 0)).scalar_subquery().label("last_correction"),
    select(meta.c.value).where(meta.c.key == "directory_generation").scalar_subquery()
    .label("directory_generation"),
)
_STAMPS = select(*_STAMP_COLUMNS)
# a received ticket also asks whether it already has a work order, in the same round trip
_RECEIVED = select(
    select(work_orders.c.ticket_no).where(work_orders.c.ticket_no == bindparam("no")).scalar_subquery()
    .label("known"), *_STAMP_COLUMNS)
_ACTIVE_CATALOGUE = select(catalogue_versions.c.version, catalogue_versions.c.doc).where(
    catalogue_versions.c.active.is_(True))
_CATALOGUE_DOC = select(catalogue_versions.c.doc).where(catalogue_versions.c.version == bindparam("version"))
_ACTIVE_UNITS = select(units.c.code, units.c.name, units.c.level, units.c.kind, units.c.region_code,
                       units.c.parent_code).where(units.c.active.is_(True))
_RECENT_CORRECTIONS = select(corrections).order_by(corrections.c.id.desc()).limit(2000)
_ROW = select(work_orders).where(work_orders.c.ticket_no == bindparam("no"))
_ROW_LOCKED = _ROW.with_for_update()
_INSERT_WORK_ORDER = insert(work_orders)
_INSERT_LOG = insert(work_order_log)


async def _update(session: AsyncSession, ticket_no: str, values: dict[str, Any]) -> None:
    await session.execute(update_statement(work_orders, sorted(values), ["ticket_no"]),
                          {**values, "k_ticket_no": ticket_no})


# ---------------------------------------------------------------- caches (per process, checked per use)

@dataclass
class _Caches:
    # keyed by database too: tests run several databases in one process
    directory: tuple[tuple[str, int], DirectoryIndex] | None = None
    brain: tuple[tuple[str, int, int], classifier.Compiled] | None = None
    default: classifier.Compiled | None = None  # the shipped catalogue without corrections: same everywhere
    shipped: dict[str, Any] | None = None  # the shipped catalogue file, parsed (it does not change at run time)


_CACHES = _Caches()


class Stamps(NamedTuple):
    """The counters that tell whether the cached catalogue, model and directory are still current."""

    catalogue_version: int  # 0: the shipped catalogue
    last_correction: int
    directory_generation: int


def _db(session: AsyncSession) -> str:
    bind = session.bind
    return str(getattr(bind, "url", "")) if bind is not None else ""


def _shipped_catalogue() -> dict[str, Any]:
    """The shipped catalogue, read once; callers must not change it (copy it first)."""
    if _CACHES.shipped is None:
        _CACHES.shipped = domain.load_catalogue()
    return _CACHES.shipped


def _as_stamps(row: Any) -> Stamps:
    return Stamps(int(row.catalogue_version or 0), int(row.last_correction or 0), int(row.directory_generation or 0))


async def stamps(session: AsyncSession) -> Stamps:
    """The current catalogue version, last correction and directory generation (one statement)."""
    return _as_stamps((await session.execute(_STAMPS)).one())


async def warm_up(_rt: Runtime) -> None:
    """Compile the shipped catalogue before consumers start (scikit-learn import and training take seconds)."""
    if _CACHES.default is None:
        _CACHES.default = await asyncio.to_thread(classifier.compile_catalogue, _shipped_catalogue(), 0)


async def _bump(session: AsyncSession, key: str) -> int:
    cur = (await session.execute(select(meta.c.value).where(meta.c.key == key).with_for_update())
           ).scalar_one_or_none()
    if cur is None:
        await session.execute(insert(meta).values(key=key, value=1))
        return 1
    await session.execute(update(meta).where(meta.c.key == key).values(value=cur + 1))
    return int(cur) + 1


async def directory_index(session: AsyncSession, current: Stamps | None = None) -> DirectoryIndex:
    """The routing index of the active directory (rebuilt when another import bumped the generation)."""
    s = current or await stamps(session)
    gen = (_db(session), s.directory_generation)
    cached = _CACHES.directory
    if cached is not None and cached[0] == gen:
        return cached[1]
    rows = (await session.execute(_ACTIVE_UNITS)).all()
    idx = DirectoryIndex.build(UnitRef(*r) for r in rows)
    _CACHES.directory = (gen, idx)
    return idx


async def _catalogue_doc(session: AsyncSession, version: int) -> dict[str, Any]:
    """A stored version's document (versions are never changed once stored); 0 is the shipped one."""
    if version == 0:
        return _shipped_catalogue()
    return dict((await session.execute(_CATALOGUE_DOC, {"version": version})).scalar_one())


async def active_catalogue(session: AsyncSession) -> tuple[int, dict[str, Any]]:
    """The active catalogue version and document (version 0 = the default shipped with the service)."""
    row = (await session.execute(_ACTIVE_CATALOGUE)).first()
    if row is None:
        return 0, copy.deepcopy(_shipped_catalogue())  # a copy: the caller may change its document
    return int(row.version), dict(row.doc)


async def brain(session: AsyncSession, current: Stamps | None = None) -> classifier.Compiled:
    """The compiled catalogue and model, retrained when the catalogue or the corrections changed."""
    s = current or await stamps(session)
    version, last_corr = s.catalogue_version, s.last_correction
    key = (_db(session), version, last_corr)
    cached = _CACHES.brain
    if cached is not None and cached[0] == key:
        return cached[1]
    doc = await _catalogue_doc(session, version)
    if version == 0 and last_corr == 0:
        dflt = _CACHES.default
        if dflt is None:
            dflt = await asyncio.to_thread(classifier.compile_catalogue, doc, 0)
            _CACHES.default = dflt
        _CACHES.brain = (key, dflt)
        return dflt
    rows = (await session.execute(_RECENT_CORRECTIONS)).all()
    corr = [classifier.Correction(r.id, frozenset(classifier.ngrams(r.content)), r.kind, r.category, r.route,
                                  r.reason) for r in rows]
    # corrections teach the model too, weighted above the catalogue's own examples
    extra = [(r.content, r.kind, 3.0) for r in rows if r.kind]
    compiled = await asyncio.to_thread(classifier.compile_catalogue, doc, version, corr, extra)
    _CACHES.brain = (key, compiled)
    return compiled


# ---------------------------------------------------------------- helpers

def _now() -> datetime:
    return datetime.now(UTC)


def _ev(payload: EventPayload, ticket_no: str, cause: EventEnvelope | None = None,
        correlation_id: str | None = None) -> EventEnvelope:
    return make_event(payload, ticket_id=ticket_no, producer=SERVICE, causation=cause, correlation_id=correlation_id)


async def _log(session: AsyncSession, ticket_no: str, action: str, actor: str, rnd: int, frm: str | None,
               to: str | None, detail: dict[str, Any] | None = None) -> None:
    await session.execute(_INSERT_LOG, {
        "ticket_no": ticket_no, "at": _now(), "action": action, "actor": actor, "round": rnd, "from_state": frm,
        "to_state": to, "detail": detail})


async def _row(session: AsyncSession, ticket_no: str, lock: bool = False) -> Any:
    return (await session.execute(_ROW_LOCKED if lock else _ROW, {"no": ticket_no})).first()


def _visible(row: Any, who: Principal) -> bool:
    return who.role != Role.unit or who.unit_code in {row.lead_unit, *(row.co_units or [])}


def _tier_facts(row: Any, **over: Any) -> tiers.TierFacts:
    units_n = (1 if row.lead_unit else 0) + len(row.co_units or [])
    f = tiers.TierFacts(content=row.content, units=max(1, units_n), repeats=row.repeat_count or 0,
                        urgent=bool(row.urgent), returns=row.returns_count or 0)
    for k, v in over.items():
        setattr(f, k, v)
    return f


def _copy_events(idx: DirectoryIndex, ticket_no: str, tier: Tier, on: str, rules: dict[str, Any],
                 region: str | None, copies: list[str], rnd: int, cause: EventEnvelope | None,
                 corr: str | None, reason: str) -> tuple[list[EventEnvelope], list[str]]:
    rule = tiers.copy_rule(tier, on, rules)
    key = f"{tier.value}:{on}"
    if rule is None or key in copies:
        return [], copies
    to_units = [u.code for k in rule["to_kinds"] if (u := idx.choose(k, region)) is not None]
    ev = _ev(TierCopyIssued(tier=tier, purpose=rule["purpose"], to_kinds=list(rule["to_kinds"]), to_units=to_units,
                            reason=reason, issued_at=_now(), round=rnd), ticket_no, cause, corr)
    return [ev], [*copies, key]


async def _raise_tier(session: AsyncSession, row: Any, facts: tiers.TierFacts, cause: EventEnvelope | None,
                      corr: str | None = None) -> tuple[dict[str, Any], list[EventEnvelope]]:
    """Automatic tier move: only up. Returns the column updates and the events."""
    current = await stamps(session)  # one read serves both caches
    b = await brain(session, current)
    decision = tiers.evaluate(facts, b.tier_rules)
    old = Tier(row.tier)
    if TIER_ORDER[decision.tier] <= TIER_ORDER[old]:
        return {}, []
    now = _now()
    reason = "; ".join(decision.reasons)
    events = [_ev(TierChanged(old_tier=old, new_tier=decision.tier, reason=reason, automatic=True, changed_at=now,
                              round=row.round), row.ticket_no, cause, corr)]
    idx = await directory_index(session, current)
    copies_ev, copies = _copy_events(idx, row.ticket_no, decision.tier, "tier", b.tier_rules, row.region_code,
                                     list(row.copies or []), row.round, cause, corr, reason)
    events += copies_ev
    upd: dict[str, Any] = {
        "tier": decision.tier.value, "copies": copies, "complex": tiers.is_complex(decision.tier, b.tier_rules),
        "explanation": [*(row.explanation or []), f"tier raised {old.value} → {decision.tier.value}: {reason}"],
    }
    if row.route != Route.answer.value:
        upd["response_level"] = tiers.response_level(decision.tier, b.tier_rules)
    return upd, events


# ---------------------------------------------------------------- triage of a received ticket

@dataclass
class Triage:
    """The full decision for a received ticket."""

    decision: classifier.Decision
    region_code: str | None
    place_source: str
    tier: tiers.TierDecision
    lead: UnitRef | None
    co: list[UnitRef]
    response_level: int
    complex: bool


def decide(text: str, region_code: str | None, address: str | None, hint: Category | None,
           b: classifier.Compiled, idx: DirectoryIndex) -> Triage:
    """Classify, place, tier and route a request (no I/O): what the consumer and the benchmark run."""
    d = classifier.classify(text, b, hint)
    place_source = "given" if region_code else "none"
    if not region_code:
        region_code, why = idx.resolve_place(f"{address or ''} {text}")
        if region_code:
            place_source = "address_text"
            d.explanation.extend(why)
        else:
            d.explanation.append("place: no region code and no directory name in the text; city level")
    lead: UnitRef | None = None
    co: list[UnitRef] = []
    if d.route == Route.dispatch:
        rule = b.by_kind.get(d.department_kinds[0])
        lead = idx.choose(d.department_kinds[0], region_code, rule.level if rule else b.fallback_level)
        if lead is None:
            d.explanation.append(f"no unit of kind {d.department_kinds[0]} near the place: local government")
            lead = idx.choose(b.fallback_kind, region_code, b.fallback_level)
        for k in d.department_kinds[1:]:
            r = b.by_kind.get(k)
            u = idx.choose(k, region_code, r.level if r else 4)
            if u is not None and lead is not None and u.code != lead.code:
                co.append(u)
    elif d.route in (Route.petition, Route.legal):
        lead = None
    t = tiers.evaluate(tiers.TierFacts(content=text, units=1 + len(co)), b.tier_rules)
    level = 3 if d.route == Route.answer else tiers.response_level(t.tier, b.tier_rules)
    d.explanation.extend(t.reasons or ["tier green: no tier rule fired"])
    d.explanation.append(f"response level {level}")
    return Triage(d, region_code, place_source, t, lead, co, level, tiers.is_complex(t.tier, b.tier_rules))


async def on_ticket_received(session: AsyncSession, env: EventEnvelope) -> None:
    """Classify, tier, route and dispatch a new ticket (consumer of TicketReceived)."""
    p = parse_payload(env, TicketReceived)
    found = (await session.execute(_RECEIVED, {"no": env.ticket_id})).one()
    if found.known is not None:
        return  # already triaged (a replayed copy under a new event id)
    current = _as_stamps(found)
    b = await brain(session, current)
    idx = await directory_index(session, current)
    t = decide(p.content, p.region_code, p.address, p.category_hint, b, idx)
    d = t.decision
    now = _now()
    no = env.ticket_id
    events = [_ev(TicketTriaged(category=d.category, domain=d.domain, department_kinds=d.department_kinds,
                                tier=t.tier.tier, response_level=t.response_level, route=d.route,
                                region_code=t.region_code, complex=t.complex, explanation=d.explanation,
                                lead_kind=d.target_kind, place_source=t.place_source, catalogue_version=b.version),
                  no, env)]
    copies: list[str] = []
    ev_copy, copies = _copy_events(idx, no, t.tier.tier, "tier", b.tier_rules, t.region_code, copies, 1, env, None,
                                   "; ".join(t.tier.reasons))
    events += ev_copy
    lead = t.lead
    if d.route in (Route.petition, Route.legal):
        kind = classifier.ROUTE_TARGET_KIND[d.route]
        target = idx.choose(kind, t.region_code)
        state = State.transferred
        events.append(_ev(TicketTransferred(route=d.route, to_unit=target.code if target else None,
                                            reason=next((w for w in reversed(d.explanation)
                                                         if w.startswith("route")), d.route.value),
                                            transferred_at=now), no, env))
    elif d.route == Route.answer:
        state = State.awaiting_answer
    elif lead is None:
        state = State.triaged
        d.explanation.append("no unit found in the directory: waits for a manual dispatch")
    else:
        state = State.dispatched
        events.append(_ev(TicketDispatched(lead_unit=lead.code, lead_unit_name=lead.name,
                                           co_units=[u.code for u in t.co],
                                           unit_level=lead.level, region_code=t.region_code, tier=t.tier.tier,
                                           response_level=t.response_level, complex=t.complex, round=1,
                                           dispatched_at=now), no, env))
    dispatched = state == State.dispatched
    await session.execute(_INSERT_WORK_ORDER, {
        "ticket_no": no, "state": state.value, "content": p.content, "address": p.address,
        "channel": p.channel.value, "category": d.category.value, "domain": d.domain.value,
        "department_kinds": d.department_kinds, "tier": t.tier.tier.value, "response_level": t.response_level,
        "complex": t.complex, "route": d.route.value, "region_code": t.region_code, "place_source": t.place_source,
        "lead_unit": lead.code if lead and dispatched else None,
        "lead_unit_name": lead.name if lead and dispatched else None,
        "co_units": [u.code for u in t.co] if dispatched else [], "round": 1, "returns_count": 0,
        "repeat_count": 0, "urgent": False, "deemed_signed": False, "dispatched_at": now if dispatched else None,
        "suggested_answer": d.suggested_answer, "knowledge_id": d.knowledge_id, "copies": copies,
        "catalogue_version": b.version, "explanation": d.explanation, "created_at": now, "updated_at": now,
    })
    await _log(session, no, "triage", "system", 1, None, state.value,
               {"kind": d.target_kind, "route": d.route.value, "scores": d.scores})
    await add_events(session, plumbing, events, TRIAGE_WORK_ORDERS)


# ---------------------------------------------------------------- consumed events of other services

async def on_repeat_received(session: AsyncSession, env: EventEnvelope) -> None:
    """A repeat was merged into the ticket: count it; repeats raise the tier."""
    p = parse_payload(env, RepeatReceived)
    row = await _row(session, env.ticket_id, lock=True)
    if row is None or row.state == State.closed.value:
        log.info("repeat_ignored", ticket_id=env.ticket_id, reason="unknown or closed")
        return
    count = max(row.repeat_count or 0, p.repeat_count)
    upd, events = await _raise_tier(session, row, _tier_facts(row, repeats=count), env)
    await _update(session, row.ticket_no, {"repeat_count": count, "updated_at": _now(), **upd})
    await _log(session, row.ticket_no, "repeat", "intake", row.round, row.state, row.state,
               {"repeat_count": count, "tier": upd.get("tier", row.tier)})
    await add_events(session, plumbing, events, TRIAGE_WORK_ORDERS)


async def on_alert_raised(session: AsyncSession, env: EventEnvelope) -> None:
    """sla's `urgent`: the deadline is near; with repeats the ticket turns red."""
    p = parse_payload(env, AlertRaised)
    if p.level not in (AlertLevel.urgent, AlertLevel.alarm):
        return
    row = await _row(session, env.ticket_id, lock=True)
    if row is None or row.state == State.closed.value or p.round != row.round:
        return
    upd, events = await _raise_tier(session, row, _tier_facts(row, urgent=True), env)
    await _update(session, row.ticket_no, {"urgent": True, "updated_at": _now(), **upd})
    await add_events(session, plumbing, events, TRIAGE_WORK_ORDERS)


async def on_deemed_signed(session: AsyncSession, env: EventEnvelope) -> None:
    """sla says the acceptance window passed: the work order counts as signed; the return window closes."""
    p = parse_payload(env, DeemedSigned)
    row = await _row(session, env.ticket_id, lock=True)
    if row is None or row.lead_unit != p.unit or p.round != row.round:
        return
    if row.state == State.return_requested.value:
        # asked in time: the ruling still decides; remember the window has passed
        await _update(session, row.ticket_no, {"deemed_signed": True, "updated_at": _now()})
        return
    if row.state != State.dispatched.value:
        return
    await _update(session, row.ticket_no, {"state": State.signed.value, "deemed_signed": True, "signed_at": p.at,
                                           "updated_at": _now()})
    await _log(session, row.ticket_no, Action.deem_signed.value, "sla", row.round, row.state, State.signed.value)
    await add_events(session, plumbing, [_ev(TicketSigned(unit=p.unit, signed_at=p.at, deemed=True, round=row.round,
                                                           via="deemed"), row.ticket_no, env)], TRIAGE_WORK_ORDERS)


async def _reopen(session: AsyncSession, row: Any, reason: str, actor: str, cause: EventEnvelope | None,
                  corr: str | None) -> list[EventEnvelope]:
    to = transition(row.state, Action.reopen, has_unit=bool(row.lead_unit))
    now = _now()
    rnd = row.round + 1
    events: list[EventEnvelope] = [_ev(TicketReopened(unit=row.lead_unit or "", round=rnd, reason=reason,
                                                      reopened_at=now), row.ticket_no, cause, corr)]
    if to == State.dispatched:
        # a new TicketDispatched of the next round makes sla start the new clock
        events.append(_ev(TicketDispatched(lead_unit=row.lead_unit, lead_unit_name=row.lead_unit_name or row.lead_unit,
                                           co_units=list(row.co_units or []), unit_level=_level(row),
                                           region_code=row.region_code, tier=Tier(row.tier),
                                           response_level=row.response_level, complex=row.complex, round=rnd,
                                           redispatch=False, dispatched_at=now), row.ticket_no, cause, corr))
    await _update(session, row.ticket_no, {
        "state": to.value, "round": rnd, "signed_at": None, "deemed_signed": False, "return_request": None,
        "resolution": None, "closed_at": None, "dispatched_at": now if to == State.dispatched else row.dispatched_at,
        "urgent": False, "updated_at": now})
    await _log(session, row.ticket_no, Action.reopen.value, actor, rnd, row.state, to.value, {"reason": reason})
    return events


def _level(row: Any) -> int:
    idx = _CACHES.directory[1] if _CACHES.directory else None
    u = idx.by_code.get(row.lead_unit) if idx and row.lead_unit else None
    return u.level if u else 2


async def on_redo_ordered(session: AsyncSession, env: EventEnvelope) -> None:
    """oversight's redo (发回重办): a new round with the same unit and a new clock."""
    p = parse_payload(env, RedoOrdered)
    row = await _row(session, env.ticket_id, lock=True)
    if row is None:
        return
    if p.round < row.round:
        log.info("redo_stale", ticket_id=row.ticket_no, redo_round=p.round, round=row.round)
        return
    await directory_index(session)
    try:
        events = await _reopen(session, row, p.reason, "oversight", env, None)
    except TransitionRefused as exc:
        log.warning("redo_refused", ticket_id=row.ticket_no, state=row.state, error=str(exc))
        return
    await add_events(session, plumbing, events, TRIAGE_WORK_ORDERS)


async def on_return_visit(session: AsyncSession, env: EventEnvelope) -> None:
    """oversight's return visit: satisfied (and no redo) closes the ticket."""
    p = parse_payload(env, ReturnVisitRecorded)
    if p.satisfaction not in SATISFIED or p.redo:
        return
    row = await _row(session, env.ticket_id, lock=True)
    if row is None or p.round < row.round:
        return
    try:
        to = transition(row.state, Action.close)
    except TransitionRefused:
        log.info("visit_close_ignored", ticket_id=row.ticket_no, state=row.state)
        return
    now = _now()
    await _update(session, row.ticket_no, {"state": to.value, "closed_at": now, "updated_at": now})
    await _log(session, row.ticket_no, Action.close.value, "oversight", row.round, row.state, to.value,
               {"satisfaction": p.satisfaction.value})
    await add_events(session, plumbing, [_ev(TicketClosed(reason=f"return visit: {p.satisfaction.value}",
                                                          closed_at=now, round=row.round), row.ticket_no, env)],
                     TRIAGE_WORK_ORDERS)


# ---------------------------------------------------------------- actions through the API

Body = dict[str, Any]
Effect = Callable[[AsyncSession, Any, State], Awaitable[tuple[dict[str, Any], list[EventEnvelope], Body]]]


def _refused(exc: TransitionRefused, ticket_no: str) -> Problem:
    return Problem(409, f"ticket {ticket_no}: {exc}", type_="invalid-transition", state=exc.state.value,
                   action=exc.action.value, allowed_actions=[a.value for a in exc.allowed])


async def _act(rt: Runtime, ticket_no: str, who: Principal, action: Action, effect: Effect, *,
               lead_only: bool = True, has_unit: bool | None = None) -> Body:
    """Run one lifecycle action: scope, state machine, effect, log and events in one transaction."""
    async with rt.sm() as session, session.begin():
        row = await _row(session, ticket_no, lock=True)
        if row is None or not _visible(row, who):
            raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
        if lead_only and who.role == Role.unit and who.unit_code != row.lead_unit:
            raise Problem(403, f"only the lead unit {row.lead_unit} may {action.value} this work order; "
                               "co-units report progress", type_="forbidden")
        try:
            to = transition(row.state, action, has_unit=bool(row.lead_unit) if has_unit is None else has_unit)
        except TransitionRefused as exc:
            raise _refused(exc, ticket_no) from None
        upd, events, out = await effect(session, row, to)
        final = State(upd.pop("state", to.value))
        await _update(session, ticket_no, {"state": final.value, "updated_at": _now(), **upd})
        await _log(session, ticket_no, action.value, f"{who.role.value}:{who.name}", upd.get("round", row.round),
                   row.state, final.value, out.get("log"))
        await rt.publish(session, events, TRIAGE_WORK_ORDERS)
    rt.relay.wake()
    out.pop("log", None)
    return {"ticket_no": ticket_no, "state": final.value, **out}


async def sign(rt: Runtime, ticket_no: str, who: Principal, correlation_id: str) -> Body:
    """The lead unit signs for its work order."""
    async def eff(_s: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        now = _now()
        return ({"signed_at": now}, [_ev(TicketSigned(unit=row.lead_unit, signed_at=now, round=row.round),
                                         ticket_no, correlation_id=correlation_id)], {"signed_at": now})
    return await _act(rt, ticket_no, who, Action.sign, eff)


async def request_return(rt: Runtime, ticket_no: str, who: Principal, reason: str, basis: str,
                         correlation_id: str) -> Body:
    """The lead unit asks to return a work order outside its remit (before it is signed or deemed signed)."""
    async def eff(_s: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        now = _now()
        req = {"unit": row.lead_unit, "reason": reason, "basis": basis, "requested_at": now.isoformat(),
               "round": row.round}
        return ({"return_request": req},
                [_ev(ReturnRequested(unit=row.lead_unit, reason=reason, basis=basis, requested_at=now,
                                     round=row.round), ticket_no, correlation_id=correlation_id)],
                {"return_request": req, "log": req})
    return await _act(rt, ticket_no, who, Action.request_return, eff)


async def decide_return(rt: Runtime, ticket_no: str, who: Principal, *, approved: bool, reason: str,
                        new_unit: str | None, co_units: list[str], correlation_id: str) -> Body:
    """The work team rules: approve → re-dispatch to the new unit (new round), reject → the unit keeps it."""
    action = Action.approve_return if approved else Action.reject_return

    async def eff(session: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        now = _now()
        events: list[EventEnvelope] = []
        if not approved:
            events.append(_ev(ReturnDecided(unit=row.lead_unit, approved=False, reason=reason, decided_at=now,
                                            round=row.round), ticket_no, correlation_id=correlation_id))
            # the unit goes on with it: counted as signed so the acceptance clock stops
            events.append(_ev(TicketSigned(unit=row.lead_unit, signed_at=now, deemed=True, round=row.round,
                                           via="return_rejected"), ticket_no, correlation_id=correlation_id))
            return ({"signed_at": now, "return_request": {**(row.return_request or {}), "decision": "rejected",
                                                          "decision_reason": reason}},
                    events, {"decision": "rejected", "reason": reason, "log": {"reason": reason}})
        idx = await directory_index(session)
        target = await _pick_unit(session, row, idx, new_unit)
        cos = await _units_exist(session, co_units)
        rnd = row.round + 1
        returns = (row.returns_count or 0) + 1
        events.append(_ev(ReturnDecided(unit=row.lead_unit, approved=True, reason=reason, new_unit=target.code,
                                        decided_at=now, round=row.round), ticket_no, correlation_id=correlation_id))
        fake = _Shadow(row, lead_unit=target.code, co_units=cos, returns_count=returns)
        tier_upd, tier_events = await _raise_tier(session, fake, _tier_facts(fake), None, correlation_id)
        tier = Tier(tier_upd.get("tier", row.tier))
        events.append(_ev(TicketDispatched(lead_unit=target.code, lead_unit_name=target.name, co_units=cos,
                                           unit_level=target.level, region_code=row.region_code, tier=tier,
                                           response_level=tier_upd.get("response_level", row.response_level),
                                           complex=tier_upd.get("complex", row.complex), round=rnd,
                                           redispatch=True, dispatched_at=now), ticket_no,
                          correlation_id=correlation_id))
        events += tier_events
        upd = {"lead_unit": target.code, "lead_unit_name": target.name, "co_units": cos, "round": rnd,
               "returns_count": returns, "dispatched_at": now, "signed_at": None, "deemed_signed": False,
               "urgent": False, "return_request": {**(row.return_request or {}), "decision": "approved",
                                                   "decision_reason": reason, "new_unit": target.code},
               **tier_upd}
        upd["department_kinds"] = [target.kind, *[k for k in row.department_kinds if k != target.kind]]
        return upd, events, {"decision": "approved", "new_unit": target.code, "round": rnd,
                             "log": {"reason": reason, "new_unit": target.code, "from": row.lead_unit}}

    return await _act(rt, ticket_no, who, action, eff)


class _Shadow:
    """A work-order row with some columns replaced (to evaluate rules on the state to be)."""

    def __init__(self, row: Any, **over: Any) -> None:
        self._row = row
        self._over = over

    def __getattr__(self, name: str) -> Any:
        return self._over[name] if name in self._over else getattr(self._row, name)


async def _units_exist(session: AsyncSession, codes: list[str]) -> list[str]:
    if not codes:
        return []
    found = set((await session.execute(select(units.c.code).where(units.c.code.in_(codes),
                                                                  units.c.active.is_(True)))).scalars())
    missing = [c for c in codes if c not in found]
    if missing:
        raise Problem(422, f"unknown or inactive units: {', '.join(missing)}", type_="unknown-unit",
                      errors=[{"field": "co_units", "message": f"unknown unit {c}"} for c in missing])
    return list(dict.fromkeys(codes))


async def _pick_unit(session: AsyncSession, row: Any, idx: DirectoryIndex, code: str | None,
                     field_name: str = "new_unit") -> UnitRef:
    if code:
        u = idx.by_code.get(code)
        if u is None:
            raise Problem(422, f"{field_name}: unknown or inactive unit {code!r}", type_="unknown-unit",
                          errors=[{"field": field_name, "message": "unknown or inactive unit"}])
        return u
    # no unit named: the next kind of the decision, else the local government of the place
    for k in [*row.department_kinds[1:], "local_government"]:
        u = idx.choose(k, row.region_code, 3)
        if u is not None and u.code != row.lead_unit:
            return u
    raise Problem(422, f"{field_name}: name the unit to re-dispatch to", type_="unknown-unit")


async def dispatch(rt: Runtime, ticket_no: str, who: Principal, *, lead_unit: str, co_units: list[str],
                   reason: str, correlation_id: str) -> Body:
    """The work team dispatches a work order that is not with a unit (manual dispatch)."""
    async def eff(session: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        idx = await directory_index(session)
        lead = await _pick_unit(session, row, idx, lead_unit, "lead_unit")
        cos = [c for c in await _units_exist(session, co_units) if c != lead.code]
        now = _now()
        fake = _Shadow(row, lead_unit=lead.code, co_units=cos)
        tier_upd, tier_events = await _raise_tier(session, fake, _tier_facts(fake), None, correlation_id)
        level = tier_upd.get("response_level", row.response_level if row.response_level != 3 else
                             tiers.response_level(Tier(tier_upd.get("tier", row.tier))))
        events = [_ev(TicketDispatched(lead_unit=lead.code, lead_unit_name=lead.name, co_units=cos,
                                       unit_level=lead.level, region_code=row.region_code,
                                       tier=Tier(tier_upd.get("tier", row.tier)), response_level=level,
                                       complex=tier_upd.get("complex", row.complex), round=row.round,
                                       dispatched_at=now), ticket_no, correlation_id=correlation_id), *tier_events]
        return ({"lead_unit": lead.code, "lead_unit_name": lead.name, "co_units": cos, "dispatched_at": now,
                 "route": Route.dispatch.value, "response_level": level,
                 **{k: v for k, v in tier_upd.items() if k != "response_level"}},
                events, {"lead_unit": lead.code, "co_units": cos, "log": {"reason": reason, "lead_unit": lead.code}})
    return await _act(rt, ticket_no, who, Action.dispatch, eff)


async def progress(rt: Runtime, ticket_no: str, who: Principal, note: str, correlation_id: str) -> Body:
    """The lead unit (or a co-unit) reports progress."""
    async def eff(_s: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        unit = who.unit_code if who.role == Role.unit else row.lead_unit
        now = _now()
        return ({}, [_ev(ProgressReported(unit=unit, note=note, reported_at=now, round=row.round), ticket_no,
                         correlation_id=correlation_id)], {"log": {"unit": unit, "note": note}})
    return await _act(rt, ticket_no, who, Action.progress, eff, lead_only=False)


async def resolve(rt: Runtime, ticket_no: str, who: Principal, outcome: str, reply: str,
                  correlation_id: str) -> Body:
    """The lead unit submits its result and the reply to the person; green tickets are copied for the archive."""
    async def eff(session: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        from bancheng_shared.contracts.vocab import ResolutionOutcome

        now = _now()
        res = {"outcome": outcome, "reply": reply, "submitted_at": now.isoformat(), "unit": row.lead_unit}
        events = [_ev(ResolutionSubmitted(unit=row.lead_unit, outcome=ResolutionOutcome(outcome), reply=reply,
                                          submitted_at=now, round=row.round), ticket_no,
                      correlation_id=correlation_id)]
        b = await brain(session)
        idx = await directory_index(session)
        ce, copies = _copy_events(idx, ticket_no, Tier(row.tier), "resolution", b.tier_rules, row.region_code,
                                  list(row.copies or []), row.round, None, correlation_id,
                                  f"{row.tier} ticket completed: {outcome}")
        return {"resolution": res, "copies": copies}, events + ce, {"resolution": res, "log": res}
    return await _act(rt, ticket_no, who, Action.resolve, eff)


async def answer(rt: Runtime, ticket_no: str, who: Principal, text: str | None, correlation_id: str) -> Body:
    """The operator answers a simple consultation directly (response level 3)."""
    async def eff(_s: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        reply = text or row.suggested_answer
        if not reply:
            raise Problem(422, "answer: no knowledge-base answer to reuse; write the answer", type_="validation",
                          errors=[{"field": "answer", "message": "required"}])
        now = _now()
        return ({"answer": reply, "route": Route.answer.value, "response_level": 3},
                [_ev(TicketAnswered(answer=reply, answered_at=now, knowledge_id=row.knowledge_id if not text else None),
                     ticket_no, correlation_id=correlation_id)], {"answer": reply, "log": {"answer": reply}})
    return await _act(rt, ticket_no, who, Action.answer, eff)


async def close(rt: Runtime, ticket_no: str, who: Principal, reason: str, correlation_id: str) -> Body:
    """The work team closes a ticket as ruled (e.g. the person could not be reached)."""
    async def eff(_s: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        now = _now()
        return ({"closed_at": now}, [_ev(TicketClosed(reason=reason, closed_at=now, round=row.round), ticket_no,
                                         correlation_id=correlation_id)], {"log": {"reason": reason}})
    return await _act(rt, ticket_no, who, Action.close, eff)


async def change_tier(rt: Runtime, ticket_no: str, who: Principal, tier: Tier, reason: str,
                      correlation_id: str) -> Body:
    """A person moves the tier (down needs the work team or an admin, always with a reason)."""
    async def eff(session: AsyncSession, row: Any, _to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        old = Tier(row.tier)
        if tier == old:
            raise Problem(409, f"the tier is already {tier.value}", type_="no-change", state=row.state)
        now = _now()
        b = await brain(session)
        events = [_ev(TierChanged(old_tier=old, new_tier=tier, reason=reason, automatic=False, changed_at=now,
                                  by=f"{who.role.value}:{who.name}", round=row.round), ticket_no,
                      correlation_id=correlation_id)]
        copies = list(row.copies or [])
        if TIER_ORDER[tier] > TIER_ORDER[old]:
            idx = await directory_index(session)
            ce, copies = _copy_events(idx, ticket_no, tier, "tier", b.tier_rules, row.region_code, copies, row.round,
                                      None, correlation_id, reason)
            events += ce
        upd: dict[str, Any] = {"tier": tier.value, "copies": copies, "complex": tiers.is_complex(tier, b.tier_rules),
               "explanation": [*(row.explanation or []), f"tier set {old.value} → {tier.value} by "
                                                         f"{who.role.value}: {reason}"]}
        if row.route != Route.answer.value:
            upd["response_level"] = tiers.response_level(tier, b.tier_rules)
        return upd, events, {"tier": tier.value, "log": {"from": old.value, "to": tier.value, "reason": reason}}
    return await _act(rt, ticket_no, who, Action.change_tier, eff, lead_only=False)


async def reclassify(rt: Runtime, ticket_no: str, who: Principal, *, kind: str | None, category: Category | None,
                     route: Route | None, reason: str, correlation_id: str) -> Body:
    """The work team corrects a decision: stored as a correction (the model learns from it) and, while the
    work order is not yet with a signing unit, re-routed."""
    async def eff(session: AsyncSession, row: Any, to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        b = await brain(session)
        known = set(b.by_kind) | {"local_government", "petition", "political_legal"}
        if kind is not None and kind not in known:
            raise Problem(422, f"kind: {kind!r} is not a kind of the catalogue", type_="validation",
                          errors=[{"field": "kind", "message": "unknown kind"}])
        now = _now()
        prev = {"kinds": row.department_kinds, "category": row.category, "route": row.route}
        await session.execute(insert(corrections).values(
            ticket_no=ticket_no, content=row.content, kind=kind, category=category.value if category else None,
            route=route.value if route else None, previous=prev, reason=reason,
            created_by=f"{who.role.value}:{who.name}", created_at=now))
        kinds = [kind, *[k for k in row.department_kinds if k != kind]] if kind else list(row.department_kinds)
        new_route = route or (Route.dispatch if kind and row.route in (Route.answer.value,) else Route(row.route))
        new_cat = category or Category(row.category)
        expl = [*(row.explanation or []), f"reclassified by {who.role.value}: kind {kind or '-'}, category "
                                          f"{category.value if category else '-'}, route "
                                          f"{route.value if route else '-'}; reason: {reason}"]
        upd: dict[str, Any] = {"department_kinds": kinds, "category": new_cat.value, "route": new_route.value,
                               "explanation": expl}
        rd = b.by_kind.get(kinds[0])
        events: list[EventEnvelope] = [_ev(TicketTriaged(
            category=new_cat, domain=rd.domain if rd else row.domain, department_kinds=kinds, tier=Tier(row.tier),
            response_level=row.response_level, route=new_route, region_code=row.region_code, complex=row.complex,
            explanation=expl, lead_kind=kinds[0], catalogue_version=b.version, reclassified=True, reason=reason),
            ticket_no, correlation_id=correlation_id)]
        out: Body = {"correction": {"kind": kind, "category": new_cat.value, "route": new_route.value}}
        rerouted = False
        if State(row.state) in REROUTABLE:
            idx = await directory_index(session)
            if new_route in (Route.petition, Route.legal) and row.route != new_route.value:
                target = idx.choose(classifier.ROUTE_TARGET_KIND[new_route], row.region_code)
                events.append(_ev(TicketTransferred(route=new_route, to_unit=target.code if target else None,
                                                    reason=reason, transferred_at=now), ticket_no,
                                  correlation_id=correlation_id))
                upd.update(state_override=State.transferred.value, lead_unit=None, lead_unit_name=None, co_units=[])
                rerouted = True
            elif new_route == Route.dispatch and kind and (kind != (idx.by_code[row.lead_unit].kind
                                                                   if row.lead_unit in idx.by_code else None)):
                r = b.by_kind.get(kind)
                lead = idx.choose(kind, row.region_code, r.level if r else 4)
                if lead is not None:
                    rnd = row.round + (1 if row.lead_unit else 0)
                    events.append(_ev(TicketDispatched(
                        lead_unit=lead.code, lead_unit_name=lead.name, co_units=[], unit_level=lead.level,
                        region_code=row.region_code, tier=Tier(row.tier),
                        response_level=row.response_level if row.response_level != 3 else
                        tiers.response_level(Tier(row.tier), b.tier_rules), complex=row.complex, round=rnd,
                        redispatch=bool(row.lead_unit), dispatched_at=now), ticket_no, correlation_id=correlation_id))
                    upd.update(state_override=State.dispatched.value, lead_unit=lead.code, lead_unit_name=lead.name,
                               co_units=[], round=rnd, dispatched_at=now, signed_at=None, deemed_signed=False,
                               urgent=False)
                    if row.response_level == 3:
                        upd["response_level"] = tiers.response_level(Tier(row.tier), b.tier_rules)
                    rerouted = True
        out["rerouted"] = rerouted
        out["log"] = {"reason": reason, **out["correction"], "rerouted": rerouted}
        return upd, events, out

    return await _act_with_override(rt, ticket_no, who, eff)


async def _act_with_override(rt: Runtime, ticket_no: str, who: Principal, eff: Effect) -> Body:
    """Like _act for reclassify, whose effect may move the state (re-routing) itself."""
    async def wrapped(session: AsyncSession, row: Any, to: State) -> tuple[dict[str, Any], list[EventEnvelope], Body]:
        upd, events, out = await eff(session, row, to)
        if "state_override" in upd:
            upd["state"] = upd.pop("state_override")
        return upd, events, out

    return await _act(rt, ticket_no, who, Action.reclassify, wrapped, lead_only=False)


# ---------------------------------------------------------------- reads

async def get_work_order(rt: Runtime, ticket_no: str, who: Principal) -> Body:
    """A work order as its unit or the work team sees it, with its decision and its log."""
    async with rt.sm() as session:
        row = await _row(session, ticket_no)
        if row is None or not _visible(row, who):
            raise Problem(404, f"no work order for ticket {ticket_no!r}", type_="unknown-ticket")
        logs = (await session.execute(select(work_order_log).where(work_order_log.c.ticket_no == ticket_no)
                                      .order_by(work_order_log.c.id))).all()
    out = dict(row._mapping)
    from triage_svc.lifecycle import allowed_actions

    out["allowed_actions"] = [a.value for a in allowed_actions(State(row.state))]
    out["log"] = [{k: v for k, v in dict(r._mapping).items() if k not in ("id", "ticket_no")} for r in logs]
    return out


async def list_work_orders(rt: Runtime, who: Principal, *, state: str | None, unit: str | None, tier: str | None,
                           limit: int, offset: int) -> list[Body]:
    """Work orders by filters; a unit key sees only its own."""
    q = select(work_orders.c.ticket_no, work_orders.c.state, work_orders.c.tier, work_orders.c.category,
               work_orders.c.route, work_orders.c.lead_unit, work_orders.c.lead_unit_name, work_orders.c.round,
               work_orders.c.response_level, work_orders.c.updated_at).order_by(work_orders.c.updated_at.desc())
    if who.role == Role.unit:
        q = q.where(work_orders.c.lead_unit == who.unit_code)
    elif unit:
        q = q.where(work_orders.c.lead_unit == unit)
    if state:
        q = q.where(work_orders.c.state == state)
    if tier:
        q = q.where(work_orders.c.tier == tier)
    async with rt.sm() as session:
        return [dict(r._mapping) for r in (await session.execute(q.limit(limit).offset(offset))).all()]


# ---------------------------------------------------------------- directory

async def import_units(session: AsyncSession, rows: list[dict[str, Any]], *, replace: bool = False,
                       extra_kinds: list[str] | None = None) -> int:
    """Validate and upsert directory rows in the caller's transaction (all-or-nothing); Problem 422 on errors."""
    existing: dict[str, int] = {}
    if not replace:
        parents = {str(r.get("parent_code")) for r in rows if isinstance(r, dict) and r.get("parent_code")}
        codes = {str(r.get("code")) for r in rows if isinstance(r, dict)}
        missing = list(parents - codes)
        for start in range(0, len(missing), 500):
            res = await session.execute(select(units.c.code, units.c.level)
                                        .where(units.c.code.in_(missing[start: start + 500])))
            existing.update({r.code: r.level for r in res})
    clean, errors = validate_rows(rows, existing, extra_kinds or [])
    if errors:
        raise Problem(422, f"{len(errors)} error(s) in the import; nothing was imported. First: row "
                           f"{errors[0].row}, {errors[0].field}: {errors[0].message}", type_="invalid-import",
                      errors=[e.as_dict() for e in errors[:200]])
    if replace:
        await session.execute(units.delete())
    else:
        codes_l = [r["code"] for r in clean]
        for start in range(0, len(codes_l), 500):
            await session.execute(units.delete().where(units.c.code.in_(codes_l[start: start + 500])))
    for start in range(0, len(clean), 2000):
        await session.execute(insert(units), clean[start: start + 2000])
    await _bump(session, "directory_generation")
    return len(clean)


async def import_directory(rt: Runtime, rows: list[dict[str, Any]], *, replace: bool,
                           extra_kinds: list[str]) -> Body:
    """Import a directory through the API (one transaction)."""
    async with rt.sm() as session, session.begin():
        n = await import_units(session, rows, replace=replace, extra_kinds=extra_kinds)
        total = int((await session.execute(select(func.count()).select_from(units))).scalar_one())
    return {"imported": n, "total": total, "mode": "replace" if replace else "upsert"}


async def count_units(rt: Runtime) -> int:
    """How many units the directory holds."""
    async with rt.sm() as session:
        return int((await session.execute(select(func.count()).select_from(units))).scalar_one())


async def list_units(rt: Runtime, *, level: int | None, kind: str | None, region: str | None,
                     parent: str | None = None, active: bool | None = None, limit: int = 100,
                     offset: int = 0) -> list[Body]:
    """Directory units by filters."""
    q = select(units).order_by(units.c.code)
    if level is not None:
        q = q.where(units.c.level == level)
    if kind:
        q = q.where(units.c.kind == kind)
    if region:
        q = q.where(units.c.region_code.startswith(region))
    if parent:
        q = q.where(units.c.parent_code == parent)
    if active is not None:
        q = q.where(units.c.active.is_(active))
    async with rt.sm() as session:
        return [dict(r._mapping) for r in (await session.execute(q.limit(limit).offset(offset))).all()]


async def get_unit(rt: Runtime, code: str) -> Body:
    """One unit with its children count."""
    async with rt.sm() as session:
        row = (await session.execute(select(units).where(units.c.code == code))).first()
        if row is None:
            raise Problem(404, f"no unit {code!r} in the directory", type_="unknown-unit")
        n = (await session.execute(select(func.count()).select_from(units).where(units.c.parent_code == code))
             ).scalar_one()
    return {**dict(row._mapping), "children": int(n)}


async def export_units(rt: Runtime) -> list[Body]:
    """Every unit, for export."""
    async with rt.sm() as session:
        return [dict(r._mapping) for r in (await session.execute(select(units).order_by(units.c.code))).all()]


# ---------------------------------------------------------------- catalogue

def validate_catalogue(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of a catalogue document, each naming its field."""
    from bancheng_shared.contracts.vocab import Domain

    errs: list[dict[str, str]] = []
    rules = doc.get("rules")
    if not isinstance(rules, list) or not rules:
        return [{"field": "rules", "message": "a non-empty list of rules is required"}]
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            errs.append({"field": f"rules.{i}", "message": "must be an object"})
            continue
        if not isinstance(r.get("kind"), str) or not r.get("kind"):
            errs.append({"field": f"rules.{i}.kind", "message": "required"})
        elif r["kind"] in seen:
            errs.append({"field": f"rules.{i}.kind", "message": f"kind {r['kind']} appears twice"})
        else:
            seen.add(r["kind"])
        if r.get("domain") not in {d.value for d in Domain}:
            errs.append({"field": f"rules.{i}.domain", "message": "must be a domain of the glossary"})
        if r.get("level", 2) not in (1, 2, 3, 4):
            errs.append({"field": f"rules.{i}.level", "message": "must be 1-4"})
        for f in ("keywords", "strong", "examples"):
            v = r.get(f, [])
            if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
                errs.append({"field": f"rules.{i}.{f}", "message": "must be a list of non-empty strings"})
        if not r.get("keywords") and not r.get("strong") and not r.get("examples"):
            errs.append({"field": f"rules.{i}", "message": "needs keywords, strong keywords or examples"})
    for f in ("petition_words", "legal_words"):
        v = doc.get(f, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            errs.append({"field": f, "message": "must be a list of non-empty strings"})
    cues = doc.get("category_cues", [])
    for i, c in enumerate(cues if isinstance(cues, list) else [None]):
        if not (isinstance(c, list) and len(c) == 2 and c[0] in {x.value for x in Category}):
            errs.append({"field": f"category_cues.{i}", "message": "must be [category, [cues...]]"})
    tr = doc.get("tier_rules")
    if tr is not None and not isinstance(tr, dict):
        errs.append({"field": "tier_rules", "message": "must be an object"})
    return errs


async def get_catalogue(rt: Runtime, version: int | None = None) -> Body:
    """The active catalogue (or one version)."""
    async with rt.sm() as session:
        if version is None:
            v, doc = await active_catalogue(session)
            return {"version": v, "active": True, "catalogue": doc}
        row = (await session.execute(select(catalogue_versions).where(catalogue_versions.c.version == version))
               ).first()
        if row is None:
            if version == 0:
                return {"version": 0, "active": False, "catalogue": domain.load_catalogue()}
            raise Problem(404, f"no catalogue version {version}", type_="unknown-version")
        return {"version": row.version, "active": row.active, "note": row.note, "created_by": row.created_by,
                "created_at": row.created_at, "catalogue": row.doc}


async def put_catalogue(rt: Runtime, who: Principal, doc: dict[str, Any], note: str | None) -> Body:
    """Store a new catalogue version and make it the active one."""
    errs = validate_catalogue(doc)
    if errs:
        raise Problem(422, f"catalogue invalid: {errs[0]['field']}: {errs[0]['message']}", type_="validation",
                      errors=errs)
    doc = copy.deepcopy(doc)
    try:
        await asyncio.to_thread(classifier.compile_catalogue, doc, -1)
    except Exception as exc:  # a catalogue that does not compile must not become active
        raise Problem(422, f"catalogue does not compile: {exc}", type_="validation") from None
    async with rt.sm() as session, session.begin():
        await session.execute(select(meta.c.value).where(meta.c.key == "catalogue").with_for_update())
        v = int((await session.execute(select(func.coalesce(func.max(catalogue_versions.c.version), 0)))
                 ).scalar_one()) + 1
        await session.execute(update(catalogue_versions).values(active=False))
        await session.execute(insert(catalogue_versions).values(
            version=v, doc=doc, active=True, note=note, created_by=f"{who.role.value}:{who.name}",
            created_at=_now()))
    return {"version": v, "active": True}


async def activate_catalogue(rt: Runtime, version: int) -> Body:
    """Make an earlier version active again (roll back)."""
    async with rt.sm() as session, session.begin():
        if version == 0:
            await session.execute(update(catalogue_versions).values(active=False))
            return {"version": 0, "active": True}
        found = (await session.execute(select(catalogue_versions.c.version)
                                       .where(catalogue_versions.c.version == version))).first()
        if found is None:
            raise Problem(404, f"no catalogue version {version}", type_="unknown-version")
        await session.execute(update(catalogue_versions).values(active=False))
        await session.execute(update(catalogue_versions).where(catalogue_versions.c.version == version)
                              .values(active=True))
    return {"version": version, "active": True}


async def list_catalogue_versions(rt: Runtime) -> list[Body]:
    """Every stored version (version 0 is the shipped default)."""
    async with rt.sm() as session:
        rows = (await session.execute(select(catalogue_versions.c.version, catalogue_versions.c.active,
                                             catalogue_versions.c.note, catalogue_versions.c.created_by,
                                             catalogue_versions.c.created_at)
                                      .order_by(catalogue_versions.c.version))).all()
    out = [dict(r._mapping) for r in rows]
    return [{"version": 0, "active": not any(r["active"] for r in out), "note": "default shipped with triage-svc",
             "created_by": "triage-svc", "created_at": None}, *out]


async def list_corrections(rt: Runtime, limit: int) -> list[Body]:
    """The work team's corrections, newest first."""
    async with rt.sm() as session:
        rows = (await session.execute(select(corrections).order_by(corrections.c.id.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]
