"""The consumer's per-process caches (catalogue, model, directory) follow changes another replica makes at once."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select

from bancheng_services.demo import seed_directory
from bancheng_services.testing import Databases
from bancheng_shared.auth import Principal, Role
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.intake import TicketReceived
from bancheng_shared.contracts.vocab import Channel
from bancheng_shared.db import make_engine, make_sessionmaker, transaction
from triage_svc import service
from triage_svc.store import corrections, plumbing, work_order_log, work_orders

WORK_TEAM = Principal(key_id="k", name="test", role=Role.work_team)
TEXT = "东湖区城关街道小区门口的电动车充电桩经常坏，车充不了电"


def _received(no: str, content: str = TEXT) -> EventEnvelope:
    return make_event(TicketReceived(channel=Channel.hotline, content=content, region_code="339901001",
                                     received_at=datetime.now(UTC)), ticket_id=no, producer="test")


async def _handle(sm: Any, env: EventEnvelope) -> dict[str, Any]:
    # as the consumer runs it: one transaction, the event in a savepoint
    async with transaction(sm) as s:
        async with s.begin_nested():
            await service.on_ticket_received(s, env)
    async with sm() as s:
        row = (await s.execute(select(work_orders).where(work_orders.c.ticket_no == env.ticket_id))).first()
    return dict(row._mapping)


async def _count(sm: Any, table: Any, no: str) -> int:
    col = table.c.ticket_no if "ticket_no" in table.c else table.c.key
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(table).where(col == no))).scalar_one())


async def test_catalogue_and_corrections_of_another_replica_apply_at_once(databases: Databases) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    # two engines on one database, as two replicas: the API functions touch no process cache, so only what the
    # handler reads from the database can tell it of the other's changes
    mine, other = make_engine(url), make_engine(url)
    try:
        sm, other_sm = make_sessionmaker(mine), make_sessionmaker(other)
        rt_other: Any = SimpleNamespace(sm=other_sm)

        first = await _handle(sm, _received("C1"))
        assert first["catalogue_version"] == 0 and first["state"] == "dispatched"
        published = await _count(sm, plumbing.outbox, "C1")
        assert published >= 2  # TicketTriaged, TicketDispatched

        # a replayed copy under a new event id changes nothing
        assert await _handle(sm, _received("C1", "另一条内容")) == first
        assert await _count(sm, work_order_log, "C1") == 1
        assert await _count(sm, plumbing.outbox, "C1") == published

        # a new catalogue version stored by the other replica is used by the next event here
        doc = copy.deepcopy((await service.get_catalogue(rt_other))["catalogue"])
        doc["category_cues"] = [["suggestion", ["充电桩"]], *doc.get("category_cues", [])]
        assert (await service.put_catalogue(rt_other, WORK_TEAM, doc, "test"))["version"] == 1
        second = await _handle(sm, _received("C2"))
        assert second["catalogue_version"] == 1 and second["category"] == "suggestion"
        assert second["explanation"][0] == "catalogue version 1"

        # rolled back to the shipped catalogue: the next event uses it again
        await service.activate_catalogue(rt_other, 0)
        third = await _handle(sm, _received("C3"))
        assert third["catalogue_version"] == 0 and third["category"] == first["category"]

        # a correction stored by the other replica teaches this one at once
        target = "emergency" if first["department_kinds"][0] != "emergency" else "civil_affairs"
        async with transaction(other_sm) as s:
            await s.execute(insert(corrections).values(
                ticket_no="C1", content=TEXT, kind=target, category=None, route=None, previous=None,
                reason="充电设施安全隐患属应急管理", created_by="work_team:test", created_at=datetime.now(UTC)))
        fourth = await _handle(sm, _received("C4"))
        assert fourth["department_kinds"][0] == target
        assert any("correction #" in x for x in fourth["explanation"])
    finally:
        await mine.dispose()
        await other.dispose()


async def test_directory_import_of_another_replica_rebuilds_the_index(databases: Databases) -> None:
    url = await databases.new("triage")
    await seed_directory(url)
    mine, other = make_engine(url), make_engine(url)
    try:
        sm, other_sm = make_sessionmaker(mine), make_sessionmaker(other)
        async with sm() as s:
            before = await service.directory_index(s)
        assert "339901-test_unit" not in before.by_code
        async with transaction(other_sm) as s:
            await service.import_units(s, [{"code": "339901-test_unit", "name": "测试单位", "level": 2,
                                            "kind": "water", "region_code": "339901",
                                            "parent_code": "339901-local_government"}])
        async with sm() as s:
            after = await service.directory_index(s)
        assert "339901-test_unit" in after.by_code
    finally:
        await mine.dispose()
        await other.dispose()
