"""The consumer's per-process caches (catalogue, model, directory) follow changes another replica makes at once."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy import func, insert, select

from bancheng_services.demo import seed_directory
from bancheng_services.testing import Databases
from bancheng_shared.auth import Principal, Role
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.vocab import Channel
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.topics import INTAKE_TICKETS
from triage_svc import queries
from triage_svc.adapters.tables import corrections, plumbing, work_order_log, work_orders
from triage_svc.context import Triage
from triage_svc.domain.commands import ActivateCatalogue, ImportDirectory, PublishCatalogue
from triage_svc.main import create_app
from triage_svc.settings import TriageSettings

WORK_TEAM = Principal(key_id="k", name="test", role=Role.work_team)
TEXT = "东湖区城关街道小区门口的电动车充电桩经常坏，车充不了电"


def replica(url: str) -> MessageBus[Triage]:
    """A replica of triage on the database: its own engine, caches and bus (no loops running)."""
    app = create_app(TriageSettings(database_url=url, relay_enabled=False, consumers_enabled=False))
    bus: MessageBus[Triage] = app.state.bus
    return bus


def _received(ticket_no: str, content: str = TEXT) -> EventEnvelope:
    return make_event(TicketReceived(channel=Channel.hotline, content=content, region_code="339901001",
                                     received_at=datetime.now(UTC)), ticket_id=ticket_no, producer="test")


async def _handle(bus: MessageBus[Triage], env: EventEnvelope) -> dict[str, Any]:
    # as the consumer runs it: its own batch code, one transaction
    value = env.to_bytes()
    record = ConsumerRecord(topic=INTAKE_TICKETS, partition=0, offset=0, timestamp=0, timestamp_type=0,
                            key=env.ticket_no.encode(), value=value, checksum=None,
                            serialized_key_size=len(env.ticket_no), serialized_value_size=len(value), headers=())
    await bus.rt.consumers[0].process({TopicPartition(INTAKE_TICKETS, 0): [record]})
    async with bus.rt.sm() as s:
        row = (await s.execute(select(work_orders).where(work_orders.c.ticket_no == env.ticket_no))).first()
    return dict(row._mapping)


async def _count(bus: MessageBus[Triage], table: Any, ticket_no: str) -> int:
    col = table.c.ticket_no if "ticket_no" in table.c else table.c.key
    async with bus.rt.sm() as s:
        return int((await s.execute(select(func.count()).select_from(table).where(col == ticket_no))).scalar_one())


async def test_catalogue_and_corrections_of_another_replica_apply_at_once(databases: Databases) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    # two replicas on one database: the API's commands and reads touch no process cache, so only what the
    # handler reads from the database can tell it of the other's changes
    mine, other = replica(url), replica(url)
    try:
        first = await _handle(mine, _received("C1"))
        assert first["catalogue_version"] == 0 and first["state"] == "dispatched"
        published = await _count(mine, plumbing.outbox, "C1")
        assert published >= 2  # TicketTriaged, TicketDispatched

        # a replayed copy under a new event id changes nothing
        assert await _handle(mine, _received("C1", "另一条内容")) == first
        assert await _count(mine, work_order_log, "C1") == 1
        assert await _count(mine, plumbing.outbox, "C1") == published

        # a new catalogue version stored by the other replica is used by the next event here
        doc = copy.deepcopy((await queries.get_catalogue(other.rt, other.ctx.caches))["catalogue"])
        doc["category_cues"] = [["suggestion", ["充电桩"]], *doc.get("category_cues", [])]
        assert (await other.handle(PublishCatalogue(actor=WORK_TEAM, catalogue=doc, note="test")))["version"] == 1
        second = await _handle(mine, _received("C2"))
        assert second["catalogue_version"] == 1 and second["category"] == "suggestion"
        assert second["explanation"][0] == "catalogue version 1"

        # rolled back to the shipped catalogue: the next event uses it again
        await other.handle(ActivateCatalogue(actor=WORK_TEAM, version=0))
        third = await _handle(mine, _received("C3"))
        assert third["catalogue_version"] == 0 and third["category"] == first["category"]

        # a correction stored by the other replica teaches this one at once
        target = "emergency" if first["department_kinds"][0] != "emergency" else "civil_affairs"
        async with other.rt.unit_of_work() as uow:
            await uow.session.execute(insert(corrections).values(
                ticket_no="C1", content=TEXT, kind=target, category=None, route=None, previous=None,
                reason="充电设施安全隐患属应急管理", created_by="work_team:test", created_at=datetime.now(UTC)))
        fourth = await _handle(mine, _received("C4"))
        assert fourth["department_kinds"][0] == target
        assert any("correction #" in x for x in fourth["explanation"])
    finally:
        await mine.rt.stop()
        await other.rt.stop()


async def test_directory_import_of_another_replica_rebuilds_the_index(databases: Databases) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    mine, other = replica(url), replica(url)
    try:
        async with mine.rt.sm() as s:
            before = await mine.ctx.caches.directory(s)
        assert "339901-test_unit" not in before.by_code
        await other.handle(ImportDirectory(actor=WORK_TEAM, rows=[
            {"code": "339901-test_unit", "name": "测试单位", "level": 2, "kind": "water", "region_code": "339901",
             "parent_code": "339901-local_government"}]))
        async with mine.rt.sm() as s:
            after = await mine.ctx.caches.directory(s)
        assert "339901-test_unit" in after.by_code
    finally:
        await mine.rt.stop()
        await other.rt.stop()
