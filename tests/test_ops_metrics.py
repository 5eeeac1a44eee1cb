"""The operating gauges on /metrics of running services follow the state they report: the outbox backlog, dead
letters, consumer lag per partition, sla's open and overdue clocks, intake's SMS and callback backlogs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert, update

from bancheng_services.broker import free_port
from bancheng_services.testing import (
    TEST_UNIT,
    Databases,
    RunningService,
    auth,
    eventually,
    metric,
    run_service,
)
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.triage import TicketDispatched
from bancheng_shared.contracts.vocab import Tier
from bancheng_shared.topics import TRIAGE_WORK_ORDERS, topic_name
from bancheng_shared.unit_of_work import UnitOfWork

FAST = {"ops_metrics_cache_s": 0}  # every scrape recomputes: the test watches the state move
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sqlite_dbs(tmp_path: Path) -> Databases:
    """Fresh SQLite databases (the lag comes from the broker: one backend is enough)."""
    return Databases("sqlite", tmp_path, [])


async def scraped(svc: RunningService, name: str, **labels: str) -> float | None:
    """One sample of the service's /metrics."""
    r = await svc.client.get("/metrics")
    assert r.status_code == 200
    return metric(r.text, name, **labels)


def _ticket(i: int) -> dict[str, Any]:
    return {"channel": "hotline", "content": f"小区门口井盖缺失第{i}处，行人容易掉下去",
            "location": {"region_code": "339901001"}}


async def test_the_outbox_backlog_grows_while_the_broker_is_away_and_drains_when_it_is_back(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("intake")
    away = f"127.0.0.1:{free_port()}"  # nothing listens there
    async with run_service("intake", database_url=url, kafka_bootstrap=away, topic_prefix=topic_prefix,
                           consumers_enabled=False, **FAST) as svc:
        assert await scraped(svc, "bancheng_outbox_unsent", service="intake-svc") == 0
        assert await scraped(svc, "bancheng_outbox_oldest_unsent_age_seconds", service="intake-svc") == 0
        for i in range(3):
            r = await svc.client.post("/v1/tickets", json=_ticket(i),
                                      headers={**auth("operator"), "Idempotency-Key": f"ops-{i}"})
            assert r.status_code == 201, r.text
        assert (await scraped(svc, "bancheng_outbox_unsent", service="intake-svc") or 0) >= 3

        async def aged() -> bool:
            return (await scraped(svc, "bancheng_outbox_oldest_unsent_age_seconds", service="intake-svc") or 0) > 0.5

        await eventually(aged)
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           consumers_enabled=False, **FAST) as svc:
        async def drained() -> bool:
            return await scraped(svc, "bancheng_outbox_unsent", service="intake-svc") == 0

        await eventually(drained, timeout_s=30)
        assert await scraped(svc, "bancheng_outbox_oldest_unsent_age_seconds", service="intake-svc") == 0


async def test_consumer_lag_per_partition_and_dead_letters_follow_what_the_consumer_has_handled(
        sqlite_dbs: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    topic = topic_name(TRIAGE_WORK_ORDERS, topic_prefix)
    n = 1200
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=20)
    await producer.start()
    try:
        # a type sla does not handle: read, skipped, committed; one record at a time, so the lag is there to see
        noise = EventEnvelope(event_id=uuid.uuid4(), type="SomethingElse", occurred_at=datetime.now(UTC),
                              ticket_id="T-LAG", correlation_id="c", producer="test")
        await producer.send_and_wait(topic, b"not an envelope", key=b"T-DLQ", partition=0)
        for _ in range(n):
            await producer.send(topic, noise.model_copy(update={"event_id": uuid.uuid4()}).to_bytes(), key=b"T-LAG",
                          partition=1)
        await producer.flush()
    finally:
        await producer.stop()
    url = await sqlite_dbs.new("sla")
    labels = {"service": "sla-svc", "group": f"{topic_prefix}sla-svc.work-orders", "topic": topic}
    async with run_service("sla", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           consumer_batch_size=1, consumer_linger_ms=0, scheduler_enabled=False, **FAST) as svc:
        async def lagging() -> float | None:
            lag = await scraped(svc, "bancheng_consumer_lag", partition="1", **labels)
            return lag if lag is not None and lag >= n // 4 else None

        assert (await eventually(lagging, interval_s=0.05)) <= n

        async def caught_up() -> bool:
            lags = [await scraped(svc, "bancheng_consumer_lag", partition=str(p), **labels) for p in range(3)]
            return lags[0] == 0 and lags[1] == 0

        await eventually(caught_up, timeout_s=60, interval_s=0.3)

        async def dead_lettered() -> float | None:
            return await scraped(svc, "bancheng_dead_letters", service="sla-svc", topic="triage.work-orders.dlq")

        assert await eventually(dead_lettered) == 1


async def test_open_and_overdue_clocks_follow_the_simulated_time(databases: Databases) -> None:
    url = await databases.new("sla")
    async with run_service("sla", database_url=url, kafka_bootstrap="127.0.0.1:1", topic_prefix="x.",
                           consumers_enabled=False, relay_enabled=False, scheduler_enabled=False,
                           simulated_time_allowed=True, **FAST) as svc:
        await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-11-02T09:00:00+08:00"})
        assert await scraped(svc, "bancheng_sla_clocks_open", state="running", level="reported") == 0
        bus = svc.app.state.bus
        for i in range(3):  # as sla's consumer applies them
            env = make_event(TicketDispatched(lead_unit=TEST_UNIT, lead_unit_name="市场监管", unit_level=2,
                                              region_code="339901001", tier=Tier.red, response_level=2,
                                              dispatched_at=datetime(2026, 11, 2, 9, tzinfo=SH)),
                             ticket_id=f"OPS{i}", producer="triage-svc")
            async with svc.runtime.sm() as s, s.begin(), UnitOfWork.bound(svc.runtime, s, cause=env, after=[]) as uow:
                await bus.on_envelope(uow, env)
        assert await scraped(svc, "bancheng_sla_clocks_open", state="running", level="reported") == 3
        assert await scraped(svc, "bancheng_sla_clocks_overdue", response_level="2") == 0
        r = await svc.client.put("/v1/clock", headers=auth("work_team"), json={"now": "2026-12-20T09:00:00+08:00"})
        assert r.status_code == 200
        assert await scraped(svc, "bancheng_sla_clocks_overdue", response_level="2") == 3
        assert await scraped(svc, "bancheng_sla_clocks_open", state="running", level="alarm") == 3
        assert await scraped(svc, "bancheng_sla_clocks_open", state="running", level="reported") == 0


async def test_sms_and_callback_backlogs_count_waiting_rows_and_their_age(databases: Databases) -> None:
    from intake_svc.adapters.tables import deliveries, sms_outbox

    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap="127.0.0.1:1", topic_prefix="x.",
                           consumers_enabled=False, relay_enabled=False, **FAST) as svc:
        assert await scraped(svc, "bancheng_intake_sms_pending") == 0
        assert await scraped(svc, "bancheng_intake_callbacks_pending") == 0
        now = datetime.now(UTC)
        later = now + timedelta(days=1)  # not due: the delivery loop leaves them be while the test reads them
        async with svc.runtime.sm() as s, s.begin():
            await s.execute(insert(sms_outbox), [
                {"kind": "ticket_registered", "dedupe_key": f"ops-{i}", "ticket_no": f"T{i}", "text": "您的诉求已受理",
                 "status": "pending", "attempts": 1, "created_at": now - timedelta(minutes=10 * i),
                 "next_attempt_at": later} for i in range(1, 3)])
            await s.execute(insert(deliveries).values(
                subscription_id="s1", event_id=str(uuid.uuid4()), event_type="TicketReceived", ticket_no="T1",
                body=b"{}", status="pending", attempts=2, next_attempt_at=later, created_at=now - timedelta(hours=1)))
        assert await scraped(svc, "bancheng_intake_sms_pending") == 2
        assert (await scraped(svc, "bancheng_intake_sms_oldest_pending_age_seconds") or 0) >= 1200
        assert await scraped(svc, "bancheng_intake_callbacks_pending") == 1
        assert (await scraped(svc, "bancheng_intake_callbacks_oldest_pending_age_seconds") or 0) >= 3600
        async with svc.runtime.sm() as s, s.begin():
            await s.execute(update(sms_outbox).where(sms_outbox.c.dedupe_key == "ops-2").values(status="failed"))
            await s.execute(update(deliveries).values(status="parked"))
        assert await scraped(svc, "bancheng_intake_sms_pending") == 1
        assert await scraped(svc, "bancheng_intake_sms_failed") == 1
        assert (await scraped(svc, "bancheng_intake_sms_oldest_pending_age_seconds") or 0) < 1200
        assert await scraped(svc, "bancheng_intake_callbacks_pending") == 0
        assert await scraped(svc, "bancheng_intake_callbacks_oldest_pending_age_seconds") == 0
        assert await scraped(svc, "bancheng_intake_callbacks_parked") == 1
