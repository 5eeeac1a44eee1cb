"""A matter answered directly (route `answer`, level 3) runs on the hotline centre's 1-working-day clock from
triage: no signing step, the ladder up to `alarm`, stopped by the answer (met or not); a later dispatch to a unit
restarts it for that unit."""

from __future__ import annotations

from datetime import datetime

from sla_helpers import dispatched, feed, local, published, sla_service

from bancheng_services.testing import Databases, auth
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.triage import TicketAnswered, TicketTriaged
from bancheng_shared.contracts.vocab import Category, Domain, Route, Tier

HOTLINE = "339901-hotline_center"


def triaged(ticket: str, at: datetime, route: Route = Route.answer, level: int = 3,
            answer_unit: str | None = HOTLINE) -> EventEnvelope:
    return make_event(TicketTriaged(category=Category.consult, domain=Domain.public_service,
                                    department_kinds=["human_resources"], tier=Tier.green, response_level=level,
                                    route=route, region_code="339901001", answer_unit=answer_unit),
                      ticket_id=ticket, producer="triage-svc", occurred_at=at)


def answered(ticket: str, at: datetime) -> EventEnvelope:
    return make_event(TicketAnswered(answer="灵活就业人员可在社保经办窗口或线上登记缴费", answered_at=at),
                      ticket_id=ticket, producer="triage-svc")


async def _rounds(svc, ticket: str) -> list[dict]:  # type: ignore[no-untyped-def]
    r = await svc.client.get(f"/v1/clocks/{ticket}", headers=auth("work_team"))
    return list(r.json()["rounds"]) if r.status_code == 200 else []


async def test_a_direct_answer_runs_on_one_working_day(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        # Friday evening: due at the end of Monday
        await feed(svc, triaged("A1", local("2026-11-06 18:00")))
        (c,) = await _rounds(svc, "A1")
        assert (c["unit"], c["working_days"], c["resolve_due_date"], c["state"]) == (
            HOTLINE, 1, "2026-11-09", "running")
        started = (await published(svc, "A1", "ClockStarted"))[0]["payload"]
        assert started["unit"] == HOTLINE and started["working_days"] == 1
        # answered on Monday: stopped, in time
        await feed(svc, answered("A1", local("2026-11-09 11:00")))
        (c,) = await _rounds(svc, "A1")
        assert c["state"] == "answered"
        stopped = (await published(svc, "A1", "ClockStopped"))[0]["payload"]
        assert stopped["reason"] == "answered" and stopped["met_deadline"] is True


async def test_no_signing_step_and_the_ladder_reaches_alarm(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        await feed(svc, triaged("A2", local("2026-11-02 10:00")))  # Monday: due end of Tuesday
        r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-06T10:00:00+08:00"})
        assert r.status_code == 200, r.text
        levels = [e["payload"]["level"] for e in await published(svc, "A2", "AlertRaised")]
        assert "alarm" in levels and "warning" not in levels  # the hotline has it: nothing to sign
        assert await published(svc, "A2", "DeemedSigned") == []
        await feed(svc, answered("A2", local("2026-11-06 10:30")))
        stopped = (await published(svc, "A2", "ClockStopped"))[0]["payload"]
        assert stopped["met_deadline"] is False


async def test_only_direct_answers_start_on_triage_and_a_dispatch_takes_over(sqlite_databases: Databases) -> None:
    url = await sqlite_databases.new("sla")
    async with sla_service(url) as svc:
        # dispatched matters start on their dispatch; no answering unit named: nothing to start
        await feed(svc, triaged("A3", local("2026-11-02 10:00"), route=Route.dispatch, level=2, answer_unit=None),
                   triaged("A4", local("2026-11-02 10:00"), answer_unit=None))
        assert await _rounds(svc, "A3") == [] and await _rounds(svc, "A4") == []
        # the work team hands a direct answer to a unit for an online answer: the clock restarts for it, level 3
        await feed(svc, triaged("A5", local("2026-11-02 10:00")),
                   dispatched("A5", local("2026-11-02 14:00"), level=3))
        (c,) = await _rounds(svc, "A5")
        assert c["unit"] != HOTLINE and c["working_days"] == 1 and c["resolve_due_date"] == "2026-11-03"
        # a replayed triage changes nothing
        await feed(svc, triaged("A5", local("2026-11-02 10:00")))
        assert len(await _rounds(svc, "A5")) == 1
