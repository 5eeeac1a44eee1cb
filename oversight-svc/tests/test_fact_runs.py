"""A run of triage's and sla's facts written together (handlers.facts.on_facts) leaves the database exactly as the
events' own handlers, one after the other, do: the same tickets, rounds, units, rollups and cases, on each backend,
for a city's mix of work orders (plain ones, red ones that open cases, direct answers, co-units, re-dispatches,
clocks before and after their dispatch, signs and results that came first) in the order a consumer gets them.
And it does so with far fewer statements."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from oversight_helpers import at, ev
from sqlalchemy import event, select

from bancheng_services.testing import Databases, RunningService, run_service
from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.contracts.envelope import EVENT_TOPIC
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.sla import AlertRaised, ClockStarted
from bancheng_shared.contracts.triage import (
    ResolutionSubmitted,
    TicketDispatched,
    TicketSigned,
    TicketTriaged,
    TierCopyIssued,
)
from bancheng_shared.contracts.vocab import Route, Tier
from bancheng_shared.sqlite_session import twin_of
from bancheng_shared.topics import topic_name
from oversight_svc.adapters.tables import (
    case_tickets,
    case_units,
    cases,
    copies,
    region_received,
    rollups,
    rounds,
    tickets,
    units,
)

UNITS = [("339901-urban_management", "东湖区城市管理局", 3), ("339902-market_regulation", "西山区市场监督管理局", 3),
         ("339901001-street_office", "东湖区湖滨街道办事处", 4), ("3399-housing", "市住房和城乡建设局", 2)]
CENTRE = "3399-hotline_centre"
PLACES = ["339901001", "339902003", "339903", None]
TEXTS = ["小区门口的路灯坏了两个月，晚上一片漆黑，老人出行很不方便，多次反映无人处理",
         "某餐馆油烟直排，气味很大，楼上住户无法开窗，希望有关部门尽快核查处理",
         "学校门口早高峰车辆乱停乱放，孩子上学很危险，请交警和城管联合整治"]


def _tickets(seed: int, n: int, mix: bool = True) -> tuple[list[EventEnvelope], list[EventEnvelope]]:
    """The events of n work orders: what came in an earlier batch (receptions, red triages that opened a case,
    signs and results seen before their dispatch) and the batch under test. Without `mix`, only the common
    flow: a ticket triaged green or yellow, dispatched, its clock started."""
    rng = random.Random(seed)
    before: list[EventEnvelope] = []
    main: list[EventEnvelope] = []
    for i in range(n):
        t = f"T{seed:02d}{i:04d}"
        region = rng.choice(PLACES)
        start = at(hours=rng.uniform(-30, 30))  # around a day's edge (the cohort's day)
        before.append(ev(TicketReceived(channel="hotline", content=rng.choice(TEXTS), title=f"工单{i}",
                                        region_code=region, received_at=start), t, "intake-svc", start))
        kind = rng.random() if mix else 0.5
        tier = "red" if kind < 0.12 else rng.choice(["green", "green", "yellow"])
        answer = kind > 0.92
        triaged = TicketTriaged(category="complaint", domain="public_service", department_kinds=["urban_management"],
                                tier=tier, response_level=3 if answer else 2, route="answer" if answer else "dispatch",
                                region_code=region, answer_unit=CENTRE if answer else None)
        lead, name, level = rng.choice(UNITS)
        co = [u for u, _, _ in rng.sample(UNITS, rng.randint(0, 2)) if u != lead]
        sent = start + timedelta(minutes=rng.randint(5, 300))
        dispatched = TicketDispatched(lead_unit=lead, lead_unit_name=name, co_units=co, unit_level=level,
                                      region_code=region, tier=tier, response_level=2, dispatched_at=sent)
        accept_due, resolve_due = sent + timedelta(hours=rng.choice([2, 24])), sent + timedelta(days=rng.randint(1, 7))
        clock = ClockStarted(unit=lead, started_at=sent, accept_due=accept_due, resolve_due=resolve_due,
                             working_days=5, calendar_version="2025.1")
        early = rng.random() if mix else 1.0
        if early < 0.15:  # a red triage of an earlier batch: the case is open when the dispatch comes
            red = triaged.model_copy(update={"tier": Tier.red, "route": Route.dispatch, "answer_unit": None})
            before.append(ev(red, t, "triage-svc", start))
        elif early < 0.25:  # the unit's sign and result reached oversight before the dispatch did
            done = sent + timedelta(hours=rng.uniform(1, 200))
            before += [ev(TicketSigned(unit=lead, signed_at=sent + timedelta(hours=1)), t, "triage-svc", done),
                       ev(ResolutionSubmitted(unit=lead, outcome="resolved", reply="已处理", submitted_at=done),
                          t, "triage-svc", done)]
        mine = [ev(triaged, t, "triage-svc", start), ev(dispatched, t, "triage-svc", sent)]
        if tier != "green":  # triage's tier copy: joint scheduling for yellow, supervision for red
            purpose = "supervision" if tier == "red" else "joint_scheduling"
            copy = TierCopyIssued(tier=tier, purpose=purpose, to_kinds=["business_environment"], reason="分级抄送",
                                  issued_at=sent)
            mine += [ev(copy, t, "triage-svc", sent)] * (2 if mix and rng.random() < 0.2 else 1)  # issued again
        if mix and rng.random() < 0.3:  # signed late before the clock is known: counted in time, corrected by the clock
            mine.append(ev(TicketSigned(unit=lead, signed_at=accept_due + timedelta(hours=1)), t, "triage-svc",
                           accept_due + timedelta(hours=1)))
        if mix and rng.random() < 0.1:  # dispatched again to another unit (the same round)
            other, other_name, other_level = rng.choice(UNITS)
            mine.append(ev(dispatched.model_copy(update={"lead_unit": other, "lead_unit_name": other_name,
                                                         "unit_level": other_level, "redispatch": True,
                                                         "co_units": []}), t, "triage-svc", sent))
        main += mine
        main += [ev(clock, t, "sla-svc", sent),
                 ev(AlertRaised(level="reported", unit=lead, raised_at=sent, deadline=resolve_due), t, "sla-svc", sent)]
        if mix and rng.random() < 0.15:  # overdue: the alarm step counts once per round
            alarm = AlertRaised(level="alarm", unit=lead, raised_at=resolve_due, deadline=resolve_due)
            main += [ev(alarm, t, "sla-svc", resolve_due)] * rng.randint(1, 2)
    return before, main


def _batches(envs: list[EventEnvelope], prefix: str, seed: int, size: int) -> list[dict[TopicPartition, list[Any]]]:
    """The envelopes as a consumer polls them: by topic and partition (a ticket's events in order in theirs),
    partitions in a shuffled order, `size` records a poll."""
    rng = random.Random(seed)
    by_tp: dict[TopicPartition, list[ConsumerRecord]] = {}
    for e in envs:
        tp = TopicPartition(topic_name(EVENT_TOPIC[e.type], prefix), int(e.ticket_no[-4:]) % 3)
        value = e.to_bytes()
        recs = by_tp.setdefault(tp, [])
        recs.append(ConsumerRecord(topic=tp.topic, partition=tp.partition, offset=len(recs), timestamp=0,
                                   timestamp_type=0, key=e.ticket_no.encode(), value=value, checksum=None,
                                   serialized_key_size=len(e.ticket_no), serialized_value_size=len(value),
                                   headers=()))
    order = list(by_tp)
    rng.shuffle(order)
    flat = [(tp, r) for tp in order for r in by_tp[tp]]
    out: list[dict[TopicPartition, list[Any]]] = []
    for start in range(0, len(flat), size):
        batch: dict[TopicPartition, list[Any]] = {}
        for tp, r in flat[start : start + size]:
            batch.setdefault(tp, []).append(r)
        out.append(batch)
    return out


@pytest.fixture
async def two(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[list[RunningService]]:
    """Two oversight services on fresh databases, their consumers not polling (the test hands them batches)."""
    quiet = {"consumers_enabled": False, "relay_enabled": False, "scheduler_enabled": False}
    a_url, b_url = await databases.new("oversight"), await databases.new("oversight")
    async with run_service("oversight", database_url=a_url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix, **quiet) as a, \
            run_service("oversight", database_url=b_url, kafka_bootstrap=kafka_bootstrap,
                        topic_prefix=topic_prefix, **quiet) as b:
        yield [a, b]


def _count_statements(svc: RunningService) -> list[int]:
    n = [0]
    engine = twin_of(svc.runtime.engine) or svc.runtime.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        n[0] += 1
    return n


async def _snapshot(svc: RunningService) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with svc.runtime.sm() as s:
        for table in (tickets, rounds, units, rollups, region_received):
            out[table.name] = sorted((tuple(r) for r in (await s.execute(select(table))).all()), key=repr)
        # case ids are new on each side: cases by their ticket
        out["cases"] = sorted(tuple(r) for r in (await s.execute(
            select(case_tickets.c.ticket_no, cases.c.red, cases.c.state, cases.c.sources)
            .join(cases, cases.c.case_id == case_tickets.c.case_id))).all())
        out["copies"] = sorted((tuple(r) for r in (await s.execute(
            select(copies.c.ticket_no, copies.c.round, copies.c.purpose, copies.c.tier, copies.c.to_kinds,
                   copies.c.issued_at, copies.c.event_id, copies.c.case_id.is_(None)))).all()), key=repr)
        out["case_units"] = sorted(tuple(r) for r in (await s.execute(
            select(case_tickets.c.ticket_no, case_units.c.unit)
            .join(case_units, case_units.c.case_id == case_tickets.c.case_id))).all())
    return out


@pytest.mark.parametrize("seed", [3, 11])
async def test_a_run_of_facts_leaves_what_the_events_one_by_one_leave(two: list[RunningService], seed: int) -> None:
    together, one_by_one = two
    before, main = _tickets(seed, 120)
    prefix = together.settings.topic_prefix
    consumers = [svc.runtime.consumers[0] for svc in two]
    one_by_one.runtime.consumers[0].batch_handler = None  # every event through its own handler
    for batch in [*_batches(before, prefix, seed, 500), *_batches(main, prefix, seed + 1, 170)]:
        for c in consumers:
            await c.process(batch)
    left, right = await _snapshot(together), await _snapshot(one_by_one)
    for name in left:
        assert left[name] == right[name], name
    # the mix reached every path: cases opened and named, corrections of late signs, co-units counted
    assert left["case_units"] and left["cases"] and left["copies"]
    overdue = list(rounds.c.keys()).index("overdue")
    assert any(r[overdue] for r in left["rounds"])
    in_time = list(rounds.c.keys()).index("sign_in_time")
    assert any(r[in_time] is False for r in left["rounds"]) and any(r[in_time] for r in left["rounds"])
    assert len(left["units"]) == len(UNITS) + 1


async def test_the_common_flow_takes_a_few_statements_a_run(two: list[RunningService], db_backend: str) -> None:
    together, one_by_one = two
    before, main = _tickets(5, 200, mix=False)
    prefix = together.settings.topic_prefix
    one_by_one.runtime.consumers[0].batch_handler = None
    for svc in two:
        await svc.runtime.consumers[0].process(_batches(before, prefix, 5, 1000)[0])
    statements = [_count_statements(svc) for svc in two]
    for batch in _batches(main, prefix, 6, 500):
        for svc in two:
            await svc.runtime.consumers[0].process(batch)
    assert await _snapshot(together) == await _snapshot(one_by_one)
    # alone, an event costs two to three statements (the round claimed, the ticket, units, round, rollups written,
    # the open cases read); a run costs about ten in all (PostgreSQL; SQLite claims each round with its own)
    ours, theirs = statements[0][0], statements[1][0]
    assert theirs > 2 * len(main)
    assert ours < (len(main) / 5 if db_backend == "postgresql" else theirs / 2), statements
