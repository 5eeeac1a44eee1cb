"""回头看 over the real broker and database: a deterministic share of closed tickets owes a re-check, the queue shows
the due ones, a re-check is recorded once, and the unit's statistics count it in the round's dispatch period."""

from __future__ import annotations

from typing import Any

from oversight_helpers import at, by_unit, ev, outbox_events, produce

from bancheng_services.testing import Databases, auth, eventually, run_service
from bancheng_shared.contracts.triage import ResolutionSubmitted, TicketClosed, TicketDispatched
from oversight_svc.domain.rechecks import sampled

UNIT = "339902-urban_management"
RATE = 0.5


def life(no: str, closed_days: float) -> list[Any]:
    """Dispatched on 3 March, resolved, closed `closed_days` later."""
    return [ev(TicketDispatched(lead_unit=UNIT, lead_unit_name="西岭区城管局", unit_level=2, region_code="339902003",
                                tier="green", response_level=2, dispatched_at=at()), no),
            ev(ResolutionSubmitted(unit=UNIT, outcome="resolved", reply="已清理乱停放的共享单车并设置停放区",
                                   submitted_at=at(days=2)), no),
            ev(TicketClosed(reason="satisfied", closed_at=at(days=closed_days), round=1), no)]


async def test_recheck_sample_queue_recording_and_statistics(databases: Databases, kafka_bootstrap: str,
                                                             topic_prefix: str) -> None:
    nos = [f"BC20250303RC{i:03d}" for i in range(40)]
    picked = [no for no in nos if sampled(no, RATE)]
    left = [no for no in nos if not sampled(no, RATE)]
    assert picked and left
    url = await databases.new("oversight")
    async with run_service("oversight", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           recheck_sample_rate=RATE, recheck_after_days=30) as svc:
        c = svc.client
        # closed 40 days after the dispatch (in April): due 30 days after that, long past now
        await produce(kafka_bootstrap, topic_prefix, [e for no in nos for e in life(no, 40)])

        async def queued() -> Any:
            rows = (await c.get("/v1/rechecks", params={"due": "true", "limit": 1000},
                                headers=auth("work_team"))).json()
            return rows if len(rows) == len(picked) else None

        rows = await eventually(queued)
        assert sorted(r["ticket_no"] for r in rows) == sorted(picked)  # exactly the sample the rule picks
        first = next(r for r in rows if r["ticket_no"] == picked[0])
        assert first["unit"] == UNIT and first["dispatch_day"] == "2025-03-03" and first["done_at"] is None
        assert first["due_at"].startswith("2025-05-12")  # 30 calendar days after closing on 12 April
        assert (await c.get("/v1/rechecks", params={"due": "false"}, headers=auth("work_team"))).json() == []
        assert (await c.get("/v1/rechecks", headers=auth("unit"))).status_code == 403

        r = await c.post(f"/v1/tickets/{left[0]}/recheck", headers=auth("work_team"),
                         json={"resolved": "yes", "satisfaction": "satisfied"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        r = await c.post(f"/v1/tickets/{picked[0]}/recheck", headers=auth("work_team"),
                         json={"satisfaction": "satisfied"})
        assert r.status_code == 422 and "resolved" in r.json()["detail"]
        r = await c.post(f"/v1/tickets/{picked[0]}/recheck", headers=auth("work_team"),
                         json={"resolved": "no", "satisfaction": "unsatisfied", "cause": "subjective",
                               "notes": "地铁口又堆满了单车"})
        assert r.status_code == 200, r.text
        assert r.json()["relapsed"] is True and r.json()["done_at"] is not None and r.json()["redo"] is True
        # the same redo as an unsatisfied return visit's: triage reopens the work order for round 2
        redo = await outbox_events(svc, "RedoOrdered")
        assert [(e.ticket_id, e.payload["round"], e.payload["unit"]) for e in redo] == [(picked[0], 1, UNIT)]
        r = await c.post(f"/v1/tickets/{picked[0]}/recheck", headers=auth("work_team"),
                         json={"resolved": "yes", "satisfaction": "satisfied"})
        assert r.status_code == 409 and r.json()["type"].endswith("already-rechecked")
        if len(picked) > 1:
            r = await c.post(f"/v1/tickets/{picked[1]}/recheck", headers=auth("inspector"),
                             json={"resolved": "yes", "satisfaction": "basically_satisfied"})
            assert r.status_code == 200 and r.json()["relapsed"] is False
        done = (await c.get("/v1/rechecks", params={"done": "true"}, headers=auth("work_team"))).json()
        assert len(done) == min(2, len(picked))
        still = (await c.get("/v1/rechecks", params={"due": "true", "limit": 1000}, headers=auth("work_team"))).json()
        assert len(still) == len(picked) - len(done)

        # counted in March, the period of the rounds' dispatch, though closed in April and re-checked now
        march = {"from": "2025-03-01", "to": "2025-03-31"}
        row = by_unit((await c.get("/v1/stats/units", params=march, headers=auth("leader"))).json())[UNIT]
        assert (row["dispatched"], row["recheck_due"], row["rechecked"], row["recheck_relapsed"]) == (
            len(nos), len(picked), len(done), 1)
        april = by_unit((await c.get("/v1/stats/units", params={"from": "2025-04-01", "to": "2025-04-30"},
                                     headers=auth("leader"))).json())
        assert UNIT not in april or april[UNIT]["recheck_due"] == 0
