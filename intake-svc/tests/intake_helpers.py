"""Helpers of the intake tests: valid identifiers and publishing other services' events on the real broker."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from bancheng_shared.contracts import EventEnvelope
from bancheng_shared.topics import topic_name

ID_NUMBER = "11010519491231002X"
CREDIT_CODE = "91350100M000100Y43"
REGION = "339901001"


async def publish(bootstrap: str, prefix: str, topic: str, *envs: EventEnvelope) -> None:
    """Put events on a topic as their producer service would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for env in envs:
            await producer.send_and_wait(topic_name(topic, prefix), env.to_bytes(), key=env.ticket_id.encode())
    finally:
        await producer.stop()


def ticket(content: str, phone: str | None = None, region: str | None = REGION, channel: str = "hotline",
           address: str | None = None, **extra: object) -> dict:
    """A registration body."""
    body: dict = {"channel": channel, "content": content, **extra}
    if phone:
        body["complainant"] = {"name": "张三", "phone": phone}
    if region or address:
        body["location"] = {k: v for k, v in (("region_code", region), ("address", address)) if v}
    return body
