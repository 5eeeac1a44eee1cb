"""triage's tier copies (TierCopyIssued): red → one supervision case with the business-environment office and
discipline inspection as supervisors (no duplicate, idempotent, either order), yellow → joint-scheduling copy,
green → archive copy, listed for the business-environment office at GET /v1/copies. And a signing after a
rejected return request (TicketSigned deemed, via=return_rejected): in time only by the acceptance deadline.
Real broker, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from oversight_helpers import at, by_unit, ev, outbox_events, produce

from bancheng_services.testing import Databases, auth, eventually, run_service
from bancheng_shared.contracts.sla import ClockStarted
from bancheng_shared.contracts.triage import (
    TicketDispatched,
    TicketSigned,
    TicketTriaged,
    TierChanged,
    TierCopyIssued,
)

UNIT = "339901-market_regulation"
BE, DISC = "339901-business_environment", "339901-discipline"


def triaged(no: str, tier: str) -> Any:
    return ev(TicketTriaged(category="complaint", domain="market_supervision", department_kinds=["market_regulation"],
                            tier=tier, response_level=1, route="dispatch", region_code="339901001"), no)


def copy(no: str, tier: str, purpose: str, kinds: list[str], units: list[str], rnd: int = 1) -> Any:
    return ev(TierCopyIssued(tier=tier, purpose=purpose, to_kinds=kinds, to_units=units, reason=f"{tier} rule",
                             issued_at=at(hours=1), round=rnd), no)


async def test_tier_copies(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix, letter_check_interval_s=3600) as svc:
        red = copy("R1", "red", "supervision", ["business_environment", "discipline"], [BE, DISC])
        await produce(kafka_bootstrap, topic_prefix, [
            # R1: triaged red (opens the case), then the red copy, then the same copy issued again
            triaged("R1", "red"), red, copy("R1", "red", "supervision", ["business_environment", "discipline"],
                                            [BE, DISC]),
            # R2: the copy first, the tier change after it (order across producers is not guaranteed)
            copy("R2", "red", "supervision", ["business_environment", "discipline"], [BE]),
            ev(TierChanged(old_tier="yellow", new_tier="red", reason="conduct words", automatic=True,
                           changed_at=at(hours=1)), "R2"),
            triaged("Y1", "yellow"), copy("Y1", "yellow", "joint_scheduling", ["business_environment"], [BE]),
            triaged("G1", "green"), copy("G1", "green", "archive", ["business_environment"], [BE]),
        ])
        # the broker redelivers an event already handled: the inbox and the copy key both hold; R1's dispatch
        # after it (same partition) tells us it was processed
        await produce(kafka_bootstrap, topic_prefix, [red, ev(TicketDispatched(
            lead_unit=UNIT, lead_unit_name="东湖区市场监管局", unit_level=2, region_code="339901001", tier="red",
            response_level=1, dispatched_at=at(hours=2)), "R1")])

        async def listed() -> Any:
            r = await svc.client.get("/v1/copies", headers=auth("business_environment"))
            assert r.status_code == 200, r.text
            return r.json() if len(r.json()) >= 4 else None

        rows = await eventually(listed)

        async def r1_dispatched() -> Any:
            r = await svc.client.get("/v1/cases", params={"ticket_no": "R1"}, headers=auth("inspector"))
            return r.json() if r.json() and r.json()[0]["units"] == [UNIT] else None

        await eventually(r1_dispatched)
        rows = await eventually(listed)
        assert sorted((c["ticket_no"], c["purpose"], c["tier"]) for c in rows) == [
            ("G1", "archive", "green"), ("R1", "supervision", "red"), ("R2", "supervision", "red"),
            ("Y1", "joint_scheduling", "yellow")]

        async def cases_of(no: str) -> list[dict[str, Any]]:
            r = await svc.client.get("/v1/cases", params={"ticket_no": no}, headers=auth("inspector"))
            assert r.status_code == 200, r.text
            return list(r.json())

        # one case per red ticket, with the supervisors; the copy names it
        for no, units in (("R1", [BE, DISC]), ("R2", [BE])):
            cs = await cases_of(no)
            assert len(cs) == 1, cs
            assert cs[0]["red"] and cs[0]["sources"] == ["red_ticket"]
            assert cs[0]["supervisors"] == ["business_environment", "discipline"]
            assert cs[0]["supervisor_units"] == units
            assert next(c for c in rows if c["ticket_no"] == no)["case_id"] == cs[0]["case_id"]
            full = (await svc.client.get(f"/v1/cases/{cs[0]['case_id']}", headers=auth("business_environment"))).json()
            assert [d["kind"] for d in full["documents"]].count("supervision_copy") == 1
        assert await cases_of("Y1") == [] and await cases_of("G1") == []
        assert sorted(e.ticket_id for e in await outbox_events(svc, "CaseOpened")) == ["R1", "R2"]
        assert next(c for c in rows if c["ticket_no"] == "Y1")["case_id"] is None

        # filters
        r = await svc.client.get("/v1/copies", params={"purpose": "joint_scheduling"},
                                 headers=auth("business_environment"))
        assert [c["ticket_no"] for c in r.json()] == ["Y1"]
        r = await svc.client.get("/v1/copies", params={"unit": DISC}, headers=auth("business_environment"))
        assert [c["ticket_no"] for c in r.json()] == ["R1"]
        r = await svc.client.get("/v1/copies", params={"tier": "green", "from": "2025-03-03", "to": "2025-03-03"},
                                 headers=auth("supervision_office"))
        assert [c["ticket_no"] for c in r.json()] == ["G1"]
        r = await svc.client.get("/v1/copies", params={"from": "2025-03-04"}, headers=auth("business_environment"))
        assert r.json() == []
        # roles and bad input are problems
        for who in ("unit", "work_team"):
            r = await svc.client.get("/v1/copies", headers=auth(who))
            assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        for bad in ({"purpose": "gossip"}, {"from": "2025-03-05", "to": "2025-03-01"}):
            r = await svc.client.get("/v1/copies", params=bad, headers=auth("business_environment"))
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


async def test_sign_after_rejected_return(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("oversight")

    def dispatched(no: str) -> Any:
        return ev(TicketDispatched(lead_unit=UNIT, lead_unit_name="东湖区市场监管局", unit_level=2,
                                   region_code="339901001", tier="green", response_level=2, dispatched_at=at()), no)

    def clock(no: str) -> Any:  # acceptance window: 2 days
        return ev(ClockStarted(unit=UNIT, started_at=at(), accept_due=at(days=2), resolve_due=at(days=7),
                               working_days=5, calendar_version="cn-test"), no)

    def signed(no: str, hours: float, via: str) -> Any:
        return ev(TicketSigned(unit=UNIT, signed_at=at(hours), deemed=True, via=via), no)

    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        await produce(kafka_bootstrap, topic_prefix, [
            dispatched("S1"), clock("S1"), signed("S1", 30, "return_rejected"),  # ruled within the window
            dispatched("S2"), clock("S2"), signed("S2", 72, "return_rejected"),  # ruled after it
            dispatched("S3"), signed("S3", 80, "return_rejected"),  # late, clock not known yet
            dispatched("S4"), clock("S4"), signed("S4", 1, "deemed"),  # an ordinary deemed sign
        ])

        async def stats(in_time: int) -> Any:
            r = await svc.client.get("/v1/stats/units", params={"from": "2025-03-01", "to": "2025-03-31"},
                                     headers=auth("leader"))
            row = by_unit(r.json()).get(UNIT)
            return row if row and row["signed"] == 4 and row["signed_in_time"] == in_time else None

        row = await eventually(lambda: stats(2))  # S3 counted in time provisionally
        assert row["deemed_signed"] == 4
        await produce(kafka_bootstrap, topic_prefix, [clock("S3")])
        row = await eventually(lambda: stats(1))  # the clock shows S3 was ruled after the deadline
        assert (row["dispatched"], row["deemed_signed"], row["response_rate"]) == (4, 4, 0.25)
