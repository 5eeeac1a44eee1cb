"""intake's operating gauges, read on scrape (see bancheng_shared.ops_metrics): the SMS and callback backlogs."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.ops_metrics import age_s
from intake_svc.adapters.tables import deliveries, sms_outbox

SMS_PENDING = Gauge("bancheng_intake_sms_pending", "SMS waiting for the gateway (first try or a retry)")
SMS_OLDEST_PENDING_AGE = Gauge("bancheng_intake_sms_oldest_pending_age_seconds",
                               "Age of the oldest SMS waiting for the gateway (0 when none)")
SMS_FAILED = Gauge("bancheng_intake_sms_failed", "SMS given up after the last retry")
CALLBACKS_PENDING = Gauge("bancheng_intake_callbacks_pending", "Callback deliveries waiting (first try or a retry)")
CALLBACKS_OLDEST_PENDING_AGE = Gauge("bancheng_intake_callbacks_oldest_pending_age_seconds",
                                     "Age of the oldest waiting callback delivery (0 when none)")
CALLBACKS_PARKED = Gauge("bancheng_intake_callbacks_parked", "Callback deliveries parked after the last retry")


async def sms_backlog(session: AsyncSession) -> tuple[int, datetime | None, int]:
    """(pending, oldest pending's created_at, failed) of the SMS outbox: status-indexed counts (the one place to
    adjust when the claim/lease columns come)."""
    s = sms_outbox.c
    pending, oldest = (await session.execute(
        select(func.count(), func.min(s.created_at)).where(s.status == "pending"))).one()
    failed = (await session.execute(select(func.count()).where(s.status == "failed"))).scalar_one()
    return int(pending), oldest, int(failed)


async def callback_backlog(session: AsyncSession) -> tuple[int, datetime | None, int]:
    """(pending, oldest pending's created_at, parked) of the callback deliveries (the status index)."""
    d = deliveries.c
    pending, oldest = (await session.execute(
        select(func.count(), func.min(d.created_at)).where(d.status == "pending"))).one()
    parked = (await session.execute(select(func.count()).where(d.status == "parked"))).scalar_one()
    return int(pending), oldest, int(parked)


async def backlog_probe(session: AsyncSession) -> None:
    """Set the SMS and callback gauges."""
    now = datetime.now(UTC)
    pending, oldest, failed = await sms_backlog(session)
    SMS_PENDING.set(pending)
    SMS_OLDEST_PENDING_AGE.set(age_s(oldest, now))
    SMS_FAILED.set(failed)
    pending, oldest, parked = await callback_backlog(session)
    CALLBACKS_PENDING.set(pending)
    CALLBACKS_OLDEST_PENDING_AGE.set(age_s(oldest, now))
    CALLBACKS_PARKED.set(parked)
