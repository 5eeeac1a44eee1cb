"""The unit of work and the message bus on real databases: state and events commit together or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from bancheng_services.testing import empty_database
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.intake import FollowUpAdded
from bancheng_shared.messagebus import Command, MessageBus
from bancheng_shared.plumbing import plumbing_tables
from bancheng_shared.runtime import Runtime
from bancheng_shared.settings import ServiceSettings
from bancheng_shared.topics import INTAKE_TICKETS
from bancheng_shared.unit_of_work import UnitOfWork

metadata = MetaData()
plumbing = plumbing_tables(metadata)
notes = Table("notes", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
              Column("ticket_no", String(40), nullable=False), Column("text", String(200), nullable=False))


@pytest.fixture
async def rt(db_backend: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with empty_database(db_backend, tmp_path, "uow") as url:
        runtime = Runtime.build("intake-svc", ServiceSettings(database_url=url), plumbing)
        async with runtime.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        woken: list[str] = []
        runtime.relay.wake = lambda: woken.append("relay")  # type: ignore[method-assign]
        runtime.woken = woken  # type: ignore[attr-defined]
        try:
            yield runtime
        finally:
            await runtime.engine.dispose()


async def counts(rt: Runtime) -> tuple[int, int]:
    async with rt.sm() as s:
        n = (await s.execute(select(func.count()).select_from(notes))).scalar_one()
        o = (await s.execute(select(func.count()).select_from(plumbing.outbox))).scalar_one()
    return int(n), int(o)


@dataclass(frozen=True, kw_only=True)
class AddNote(Command):
    ticket_no: str
    text: str


async def add_note(cmd: AddNote, uow: UnitOfWork, ctx: list[str]) -> str:
    async with uow:
        await uow.session.execute(insert(notes).values(ticket_no=cmd.ticket_no, text=cmd.text))
        env = uow.emit(FollowUpAdded(content=cmd.text, added_at=datetime.now(UTC)), ticket_no=cmd.ticket_no)
        uow.after_commit(lambda: ctx.append(f"after {cmd.text}"))
        if cmd.text == "fail":
            raise ValueError("the rule refused it")
    return str(env.event_id)


async def on_follow_up(event: FollowUpAdded, uow: UnitOfWork, ctx: list[str]) -> None:
    await uow.session.execute(insert(notes).values(ticket_no=uow.cause.ticket_no, text=event.content))
    uow.emit(FollowUpAdded(content=f"echo {event.content}", added_at=event.added_at), ticket_no=uow.cause.ticket_no)
    if event.content == "poison":
        raise ValueError("cannot apply")


async def test_a_command_commits_its_state_and_events_together_and_wakes_the_relay_after(rt: Runtime) -> None:
    seen: list[str] = []
    bus = MessageBus(rt, seen, commands={AddNote: add_note}, events={})
    event_id = await bus.handle(AddNote(ticket_no="T1", text="hello", correlation_id="corr-1"))
    assert await counts(rt) == (1, 1)
    assert rt.woken == ["relay"] and seen == ["after hello"]  # type: ignore[attr-defined]
    async with rt.sm() as s:
        row = (await s.execute(select(plumbing.outbox))).one()
    env = EventEnvelope.from_bytes(row.value)
    assert (str(env.event_id), env.ticket_no, env.producer, env.correlation_id, env.causation_id) == (
        event_id, "T1", "intake-svc", "corr-1", None)
    assert row.topic == INTAKE_TICKETS and row.key == "T1"


async def test_a_failed_command_leaves_neither_state_nor_events_and_runs_nothing_after(rt: Runtime) -> None:
    seen: list[str] = []
    bus = MessageBus(rt, seen, commands={AddNote: add_note}, events={})
    with pytest.raises(ValueError, match="refused"):
        await bus.handle(AddNote(ticket_no="T1", text="fail"))
    assert await counts(rt) == (0, 0)
    assert rt.woken == [] and seen == []  # type: ignore[attr-defined]
    await bus.handle(AddNote(ticket_no="T1", text="next"))  # the connection was given back
    assert await counts(rt) == (1, 1)


async def test_a_unit_is_entered_once(rt: Runtime) -> None:
    uow = rt.unit_of_work()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="entered once"):
        async with uow:
            pass


def record(env: EventEnvelope, offset: int, payload: dict[str, Any] | None = None) -> ConsumerRecord:
    value = env.to_bytes() if payload is None else orjson.dumps({**orjson.loads(env.to_bytes()), "payload": payload})
    return ConsumerRecord(topic=INTAKE_TICKETS, partition=0, offset=offset, timestamp=0, timestamp_type=0,
                          key=env.ticket_id.encode(), value=value, checksum=None, serialized_key_size=2,
                          serialized_value_size=len(value), headers=())


async def test_consumed_events_reach_typed_handlers_and_their_events_share_the_batch_transaction(
        rt: Runtime) -> None:
    bus = MessageBus(rt, [], commands={}, events={FollowUpAdded: on_follow_up})
    consumer = bus.consume("notes", [INTAKE_TICKETS])
    ok = make_event(FollowUpAdded(content="one", added_at=datetime.now(UTC)), ticket_id="T1", producer="x",
                    correlation_id="corr-ok")
    poison = make_event(FollowUpAdded(content="poison", added_at=datetime.now(UTC)), ticket_id="T2", producer="x")
    newer = make_event(FollowUpAdded(content="two", added_at=datetime.now(UTC)), ticket_id="T3", producer="x")
    # a newer producer added a field this consumer does not know: still applied
    newer_payload = {**newer.payload, "channel_hint": "app"}
    await consumer.process({TopicPartition(INTAKE_TICKETS, 0): [record(ok, 0), record(poison, 1),
                                                                 record(newer, 2, newer_payload)]})
    async with rt.sm() as s:
        texts = sorted((await s.execute(select(notes.c.text))).scalars())
        rows = (await s.execute(select(plumbing.outbox.c.topic, plumbing.outbox.c.value)
                                .order_by(plumbing.outbox.c.id))).all()
    assert texts == ["one", "two"]  # the poisoned event's write was rolled back with its savepoint
    echoes = [EventEnvelope.from_bytes(r.value) for r in rows if r.topic == INTAKE_TICKETS]
    assert [(e.payload["content"], e.causation_id) for e in echoes] == [
        ("echo one", str(ok.event_id)), ("echo two", str(newer.event_id))]
    assert echoes[0].correlation_id == "corr-ok"  # the correlation follows the cause
    assert [r.topic for r in rows if r.topic != INTAKE_TICKETS] == [f"{INTAKE_TICKETS}.dlq"]
    assert rt.woken == ["relay"]  # type: ignore[attr-defined]
