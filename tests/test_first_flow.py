"""The first real flow, all four services in one process on a real broker and real databases."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bancheng_services.demo import seed_directory
from bancheng_services.testing import Databases, auth, eventually, run_service


async def test_ticket_flows_from_intake_to_dispatch_clock_and_counts(
    databases: Databases, kafka_bootstrap: str, topic_prefix: str
) -> None:
    urls = {s: await databases.new(s) for s in ("intake", "triage", "sla", "oversight")}
    await seed_directory(urls["triage"])
    async with AsyncExitStack() as stack:
        svc = {
            s: await stack.enter_async_context(
                run_service(s, database_url=u, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix))
            for s, u in urls.items()
        }
        r = await svc["intake"].client.post(
            "/v1/tickets", headers=auth("operator"),
            json={"channel": "hotline", "content": "东湖区城关街道一家超市卖过期食品，商家拒绝退款",
                  "location": {"region_code": "339901001"}},
        )
        assert r.status_code == 201, r.text
        ticket_no = r.json()["ticket_no"]

        async def dispatched_with_deadline() -> dict | None:
            t = (await svc["intake"].client.get(f"/v1/tickets/{ticket_no}", headers=auth("operator"))).json()
            return t if t.get("deadline") and t.get("unit") else None

        ticket = await eventually(dispatched_with_deadline)
        assert ticket["unit"] == "339901-market_regulation"
        assert ticket["status"] == "dispatched"
        events = [s["event"] for s in ticket["timeline"]]
        for e in ("TicketReceived", "TicketTriaged", "TicketDispatched", "ClockStarted"):
            assert e in events

        clock = (await svc["sla"].client.get(f"/v1/clocks/{ticket_no}", headers=auth("work_team"))).json()
        assert clock["rounds"][0]["working_days"] == 5
        assert clock["rounds"][0]["calendar_version"].startswith("cn-")

        async def counted() -> list | None:
            r = await svc["oversight"].client.get(
                "/v1/stats/units", params={"from": "2000-01-01", "to": "2100-01-01", "unit": ticket["unit"]},
                headers=auth("leader"))
            rows = r.json()
            return rows if rows and rows[0].get("dispatched") == 1 else None

        assert (await eventually(counted))[0]["unit"] == "339901-market_regulation"
