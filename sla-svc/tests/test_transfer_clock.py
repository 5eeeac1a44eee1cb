"""A transfer to 信访 (petition) or 涉法涉诉 (legal) runs on its own clock: the receiving organ is due to sign for it
within N working days (SLA_TRANSFER_WORKING_DAYS, 2), on the ladder (no signing window of its own: no `warning`,
no deemed signing), stopped by the organ's receipt (`transfer_received`); a transfer with no organ is flagged."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sla_helpers import dispatched, feed, local, published, signed, sla_service

from bancheng_services.testing import TEST_UNIT, Databases, auth, eventually
from bancheng_shared.calendar import seed_years
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.sla import ClockFlagged
from bancheng_shared.contracts.triage import TicketDispatched, TicketTransferred
from bancheng_shared.contracts.vocab import Route, Tier
from sla_svc.domain import CalendarBook, Policy, rounds
from sla_svc.domain.ladder import plan_timers

PETITION = "339901-petition"
LEGAL = "339901-political_legal"
SH = ZoneInfo("Asia/Shanghai")
BOOK = CalendarBook(seed_years([2026]), tz=SH)


def transferred(ticket: str, at: datetime, route: Route = Route.petition,
                to_unit: str | None = PETITION) -> EventEnvelope:
    return make_event(TicketTransferred(route=route, to_unit=to_unit, reason="route: 信访事项", transferred_at=at),
                      ticket_id=ticket, producer="triage-svc")


async def _rounds(svc, ticket: str) -> list[dict]:  # type: ignore[no-untyped-def]
    r = await svc.client.get(f"/v1/clocks/{ticket}", headers=auth("work_team"))
    return list(r.json()["rounds"]) if r.status_code == 200 else []


# ------------------------------------------------------------------ pure rules


def _clock(**over: object) -> dict:  # type: ignore[type-arg]
    c = {"ticket_no": "T", "round": 1, "unit": PETITION, "state": "running", "signed": True,
         "transfer_route": "petition", "started_at": local("2026-11-02 10:00")}
    c.update(over)
    return c


def test_a_transfer_starts_the_organs_clock_and_without_an_organ_is_flagged() -> None:
    at = local("2026-11-02 10:00")
    event = TicketTransferred(route=Route.petition, to_unit=PETITION, reason="r", transferred_at=at)
    assert rounds.on_transfer(None, event) == "start"
    assert rounds.on_transfer(_clock(unit=TEST_UNIT, transfer_route=None, signed=False), event) == "restart"
    assert rounds.on_transfer(_clock(started_at=at), event) == "ignore"  # a replay
    assert rounds.on_transfer(_clock(started_at=local("2026-11-01 09:00")), event) == "restart"  # transferred again
    no_organ = TicketTransferred(route=Route.legal, to_unit=None, reason="r", transferred_at=at)
    assert rounds.on_transfer(None, no_organ) == "no_organ"
    flag = rounds.no_organ(no_organ, 1, at)
    assert flag.unit == "" and "no receiving organ" in flag.reason and "legal" in flag.reason


def test_the_organs_receipt_stops_a_transfer_clock_and_no_one_elses() -> None:
    assert rounds.on_signed(_clock(), PETITION) == "received"
    assert rounds.on_signed(_clock(), TEST_UNIT) == "ignore"  # another unit
    assert rounds.on_signed(_clock(state="transfer_received"), PETITION) == "ignore"  # received already
    assert rounds.on_signed(None, PETITION) == "ignore"
    # a unit's round: its sign closes the acceptance window once
    assert rounds.on_signed(_clock(unit=TEST_UNIT, transfer_route=None, signed=False), TEST_UNIT) == "sign"
    assert rounds.on_signed(_clock(unit=TEST_UNIT, transfer_route=None, signed=True), TEST_UNIT) == "ignore"


def test_a_transfer_clock_counts_its_own_working_days_with_no_signing_window() -> None:
    def start(at: datetime, book: CalendarBook) -> rounds.Started:
        return rounds.start_round(ticket_no="T", round_=1, unit=PETITION, region_code=None, complex_=False,
                                  response_level=3, started_at=at, existing=None, now=at, book=book,
                                  policy=Policy(tz=SH, transfer_days=3), accepted=True, transfer_route="petition")

    s = start(local("2026-11-06 18:00"), BOOK)  # Friday: 3 working days to Wednesday, whatever the level
    c = s.clock
    assert (c["working_days"], c["transfer_route"], c["resolve_due_date"].isoformat(), c["signed"]) == (
        3, "petition", "2026-11-11", True)
    assert [k for k, _ in plan_timers(BOOK, Policy(tz=SH), c)] == ["urgent", "alarm"]  # no accept step
    assert not any(isinstance(e, ClockFlagged) for e in s.events)
    # a year the calendar does not know: no deadline guessed, flagged
    late = start(local("2026-12-30 10:00"), BOOK)
    assert late.clock["resolve_due"] is None and late.clock["unknown_year"]
    assert any(isinstance(e, ClockFlagged) and e.years_missing == [2027] for e in late.events)
    # a unit's round keeps the resolution days
    unit = rounds.start_round(ticket_no="T", round_=1, unit=TEST_UNIT, region_code=None, complex_=False,
                              response_level=2, started_at=local("2026-11-02 10:00"), existing=None,
                              now=local("2026-11-02 10:00"), book=BOOK, policy=Policy(tz=SH, transfer_days=3))
    assert (unit.clock["working_days"], unit.clock["transfer_route"]) == (5, None)


def test_a_dispatch_takes_a_ticket_back_from_the_transfer_track() -> None:
    at = local("2026-11-03 09:00")
    back = TicketDispatched(lead_unit=TEST_UNIT, lead_unit_name="u", unit_level=2, tier=Tier.green,
                            response_level=2, round=1, dispatched_at=at)
    assert rounds.on_dispatch(_clock(), back) == "restart"  # the organ's clock gives way to the unit's
    assert rounds.on_dispatch(_clock(unit=TEST_UNIT), back) == "restart"  # even to the organ itself, as a unit
    # no organ: the unit's stopped clock runs again
    assert rounds.on_dispatch(_clock(transfer_route=None, state="transferred", unit=TEST_UNIT), back) == "restart"
    assert rounds.on_dispatch(_clock(started_at=at, transfer_route=None, unit=TEST_UNIT), back) == "ignore"
    # negative: a unit's round stopped otherwise stays stopped
    assert rounds.on_dispatch(_clock(transfer_route=None, state="resolved", unit="x"), back) == "ignore"


# ------------------------------------------------------------------ the service


async def test_a_transfer_runs_on_the_organs_clock_until_it_signs(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        # Friday evening: the petition office signs for it by the end of Tuesday (2 working days)
        await feed(svc, transferred("X1", local("2026-11-06 18:00")))
        (c,) = await _rounds(svc, "X1")
        assert (c["unit"], c["working_days"], c["resolve_due_date"], c["state"], c["transfer_route"]) == (
            PETITION, 2, "2026-11-10", "running", "petition")
        assert c["started_at"].startswith("2026-11-06T10:00")  # UTC
        started = (await published(svc, "X1", "ClockStarted"))[0]["payload"]
        assert started["unit"] == PETITION and started["working_days"] == 2
        assert [e["payload"]["level"] for e in await published(svc, "X1", "AlertRaised")] == ["reported"]
        # another unit's sign changes nothing; the organ's receipt on Monday stops it, in time
        await feed(svc, signed("X1", local("2026-11-09 09:00"), unit=TEST_UNIT))
        assert (await _rounds(svc, "X1"))[0]["state"] == "running"
        await feed(svc, signed("X1", local("2026-11-09 10:00"), unit=PETITION))
        (c,) = await _rounds(svc, "X1")
        assert (c["state"], c["stop_reason"]) == ("transfer_received", "transfer_received")
        stopped = (await published(svc, "X1", "ClockStopped"))[-1]["payload"]
        assert stopped["reason"] == "transfer_received" and stopped["met_deadline"] is True
        assert stopped["unit"] == PETITION


async def test_an_unreceived_transfer_climbs_the_ladder_without_deemed_signing(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url, transfer_working_days=3) as svc:
        await feed(svc, transferred("X2", local("2026-11-02 10:00"), route=Route.legal, to_unit=LEGAL))
        (c,) = await _rounds(svc, "X2")
        assert (c["working_days"], c["resolve_due_date"], c["transfer_route"]) == (3, "2026-11-05", "legal")
        r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-09T10:00:00+08:00"})
        assert r.status_code == 200, r.text

        async def laddered() -> bool:
            levels = [e["payload"]["level"] for e in await published(svc, "X2", "AlertRaised")]
            return "alarm" in levels

        await eventually(laddered)
        levels = [e["payload"]["level"] for e in await published(svc, "X2", "AlertRaised")]
        assert "urgent" in levels and "warning" not in levels  # the receipt is its only step
        assert await published(svc, "X2", "DeemedSigned") == []
        assert await published(svc, "X2", "UrgeIssued") != []
        await feed(svc, signed("X2", local("2026-11-09 11:00"), unit=LEGAL))
        stopped = (await published(svc, "X2", "ClockStopped"))[-1]["payload"]
        assert stopped["reason"] == "transfer_received" and stopped["met_deadline"] is False


async def test_a_reclassified_dispatch_becomes_the_organs_clock_and_can_come_back(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        # dispatched to a unit, then the work team finds it is a petition matter: the unit's clock stops, the
        # organ's starts in the same round (its receipt names the work order's round)
        await feed(svc, dispatched("X3", local("2026-11-02 10:00")),
                   transferred("X3", local("2026-11-02 15:00")))
        (c,) = await _rounds(svc, "X3")
        assert (c["round"], c["unit"], c["transfer_route"], c["working_days"]) == (1, PETITION, "petition", 2)
        assert [r["unit"] for r in c["restarts"]] == [TEST_UNIT]
        stops = [e["payload"] for e in await published(svc, "X3", "ClockStopped")]
        assert [(s["unit"], s["reason"]) for s in stops] == [(TEST_UNIT, "transferred")]
        # a replay of the transfer changes nothing
        before = len(await published(svc, "X3"))
        await feed(svc, transferred("X3", local("2026-11-02 15:00")))
        assert len(await published(svc, "X3")) == before
        # the work team takes it back and dispatches it: the unit's clock runs again (no transfer any more)
        await feed(svc, dispatched("X3", local("2026-11-03 09:00")))
        (c,) = await _rounds(svc, "X3")
        assert (c["unit"], c["transfer_route"], c["working_days"], c["state"]) == (TEST_UNIT, None, 5, "running")


async def test_a_transfer_with_no_organ_is_flagged_not_silently_clockless(databases: Databases) -> None:
    url = await databases.new("sla")
    async with sla_service(url) as svc:
        await feed(svc, transferred("X4", local("2026-11-02 10:00"), to_unit=None))
        assert await _rounds(svc, "X4") == []
        (flag,) = await published(svc, "X4", "ClockFlagged")
        assert "no receiving organ" in flag["payload"]["reason"] and flag["payload"]["round"] == 1
        # a dispatched one: its unit's clock stops as transferred and the transfer is flagged
        await feed(svc, dispatched("X5", local("2026-11-02 10:00")),
                   transferred("X5", local("2026-11-02 15:00"), to_unit=None))
        (c,) = await _rounds(svc, "X5")
        assert c["state"] == "transferred" and c["transfer_route"] is None
        assert len(await published(svc, "X5", "ClockFlagged")) == 1
        # the work team then dispatches it again: its clock runs again
        await feed(svc, dispatched("X5", local("2026-11-03 09:00")))
        (c,) = await _rounds(svc, "X5")
        assert (c["state"], c["unit"]) == ("running", TEST_UNIT)
