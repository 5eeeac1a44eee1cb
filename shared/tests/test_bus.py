"""The outbox relay and the idempotent consumer against a real broker and real databases."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from bancheng_services.broker import EmbeddedBroker
from bancheng_services.testing import empty_database, eventually, postgres_base_url
from bancheng_shared.broker_epoch import CONFIRMED, read_or_claim_epoch
from bancheng_shared.consumer import IdempotentConsumer
from bancheng_shared.contracts import EventEnvelope, make_event
from bancheng_shared.contracts.intake import FollowUpAdded
from bancheng_shared.db import make_engine, make_sessionmaker, transaction
from bancheng_shared.kafka import ensure_topics
from bancheng_shared.outbox import OutboxRelay, add_events
from bancheng_shared.plumbing import Plumbing, plumbing_tables
from bancheng_shared.topics import all_broker_topics, dlq_name
from bancheng_shared.unit_of_work import UnitOfWork

metadata = MetaData()
plumbing: Plumbing = plumbing_tables(metadata)
effects = Table(
    "effects", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(40), nullable=False),
    Column("content", String(200), nullable=False),
)
TOPIC = "intake.tickets"


def follow_up(ticket: str, text: str) -> EventEnvelope:
    from datetime import UTC, datetime

    return make_event(FollowUpAdded(content=text, added_at=datetime.now(UTC)), ticket_id=ticket, producer="test")


@asynccontextmanager
async def database(backend: str, tmp: Path) -> AsyncIterator[tuple]:
    async with empty_database(backend, tmp, "bus") as url:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        try:
            yield engine, make_sessionmaker(engine)
        finally:
            await engine.dispose()


async def record_effect(uow: UnitOfWork, env: EventEnvelope) -> None:
    if env.payload["content"] == "poison":
        raise ValueError("this event cannot be applied")
    await uow.session.execute(insert(effects).values(ticket_id=env.ticket_id, content=env.payload["content"]))


def consumer_for(sm, bootstrap: str, prefix: str, group: str) -> IdempotentConsumer:
    return IdempotentConsumer(service="test", topics=[TOPIC], handlers={"FollowUpAdded": record_effect},
                              sessionmaker=sm, plumbing=plumbing, bootstrap=bootstrap, group_id=group,
                              topic_prefix=prefix, session_timeout_ms=3000, heartbeat_ms=300)


def relay_for(sm, bootstrap: str, prefix: str, epoch_check_s: float = 3600) -> OutboxRelay:
    return OutboxRelay(service="test", sessionmaker=sm, plumbing=plumbing, bootstrap=bootstrap, topic_prefix=prefix,
                       poll_interval_s=0.05, epoch_check_s=epoch_check_s, partitions=3,
                       retention=timedelta(hours=1))


async def count(sm, *where) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(effects).where(*where))).scalar_one())


async def read_topic(bootstrap: str, topic: str, expect: int, timeout_s: float = 15) -> list:
    """Read a topic from the start without a consumer group (no join delay)."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    out: list = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        parts = None
        while not parts and asyncio.get_running_loop().time() < deadline:
            await c._client.force_metadata_update()
            parts = c.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts or [])]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            for recs in (await c.getmany(timeout_ms=300)).values():
                out.extend(recs)
    finally:
        await c.stop()
    return out


async def test_relay_publishes_in_order_with_ticket_key_and_consumer_applies_each_event_once(
    db_backend: str, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with database(db_backend, tmp_path) as (_engine, sm):
        events = [follow_up(f"T{i % 5}", f"step {i}") for i in range(50)]
        async with transaction(sm) as s:
            await add_events(s, plumbing, events, TOPIC)
            # the same event written twice (a producer retry, say) must be applied once
            await add_events(s, plumbing, events[:10], TOPIC)
        relay = relay_for(sm, kafka_bootstrap, topic_prefix)
        consumer = consumer_for(sm, kafka_bootstrap, topic_prefix, f"{topic_prefix}g")
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
        try:
            await eventually(lambda: _eq(count(sm), 50))
            records = await read_topic(kafka_bootstrap, f"{topic_prefix}{TOPIC}", 60)
            assert len(records) == 60
            # per ticket key, order on the topic is the order written
            by_key: dict[str, list[str]] = {}
            for r in sorted(records, key=lambda r: (r.partition, r.offset)):
                by_key.setdefault(r.key.decode(), []).append(orjson.loads(r.value)["payload"]["content"])
            for key, contents in by_key.items():
                firsts = list(dict.fromkeys(contents))
                expected = [e.payload["content"] for e in events if e.ticket_id == key]
                assert firsts == expected
            async with sm() as s:
                unsent = (await s.execute(select(func.count()).select_from(plumbing.outbox)
                                          .where(plumbing.outbox.c.sent_at.is_(None)))).scalar_one()
            assert unsent == 0
            # every record on the topic, copies included, went through the consumer: still one effect each
            await eventually(lambda: _ge(consumer.records_processed, 60))
            assert await count(sm) == 50
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await consumer.stop()
            await relay.stop()


async def _eq(awaitable, value) -> bool:
    return (await awaitable) == value


async def _ge(value: int, least: int) -> bool:
    return value >= least


async def test_poisoned_events_go_to_the_dead_letter_topic_and_the_consumer_goes_on(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with database("sqlite", tmp_path) as (_engine, sm):
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        topic = f"{topic_prefix}{TOPIC}"
        await producer.send_and_wait(topic, b"{not json", key=b"T1")
        await producer.send_and_wait(topic, follow_up("T1", "poison").to_bytes(), key=b"T1")
        await producer.send_and_wait(topic, follow_up("T1", "fine").to_bytes(), key=b"T1")
        await producer.stop()
        relay = relay_for(sm, kafka_bootstrap, topic_prefix)
        consumer = consumer_for(sm, kafka_bootstrap, topic_prefix, f"{topic_prefix}g")
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
        try:
            await eventually(lambda: _eq(count(sm, effects.c.content == "fine"), 1))
            dead = await read_topic(kafka_bootstrap, dlq_name(topic), 2)
            reasons = sorted(orjson.loads(d.value)["reason"] for d in dead)
            assert len(reasons) == 2
            assert reasons[0].startswith("ValueError: this event cannot be applied")
            assert reasons[1].startswith("malformed envelope")
            assert all(orjson.loads(d.value)["source_topic"] == topic for d in dead)
            assert await count(sm, effects.c.content == "poison") == 0
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await consumer.stop()
            await relay.stop()


async def test_redelivered_batch_after_a_crash_before_the_offset_commit_is_not_applied_twice(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    async with database("sqlite", tmp_path) as (_engine, sm):
        topic = f"{topic_prefix}{TOPIC}"
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        for i in range(20):
            await producer.send(topic, follow_up(f"T{i}", f"n{i}").to_bytes(), key=f"T{i}".encode())
        await producer.flush()
        await producer.stop()
        group = f"{topic_prefix}g"
        first = consumer_for(sm, kafka_bootstrap, topic_prefix, group)
        raw = await first._start()
        got: dict = {}
        deadline = asyncio.get_running_loop().time() + 15
        while sum(len(v) for v in got.values()) < 20 and asyncio.get_running_loop().time() < deadline:
            for tp, recs in (await raw.getmany(timeout_ms=300)).items():
                got.setdefault(tp, []).extend(recs)
        await first.process(got)  # effects committed to the DB ...
        await first.stop()  # ... and the process "dies" before committing offsets
        assert await count(sm) == 20
        second = consumer_for(sm, kafka_bootstrap, topic_prefix, group)
        task = asyncio.create_task(second.run())
        try:
            async def all_redelivered() -> bool:
                return second.records_processed >= 20  # the 20 came again and their batch committed

            await eventually(all_redelivered)
            assert await count(sm) == 20
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await second.stop()


@pytest.mark.timeout(120)
async def test_broker_restarting_empty_gets_the_retained_outbox_republished_and_deduplicated(
    tmp_path: Path,
) -> None:
    broker = EmbeddedBroker()
    broker.start()
    try:
        prefix = ""
        await ensure_topics(broker.bootstrap, all_broker_topics(prefix), 3)
        async with database("sqlite", tmp_path) as (_engine, sm):
            async with transaction(sm) as s:
                await add_events(s, plumbing, [follow_up(f"T{i}", f"r{i}") for i in range(10)], TOPIC)
            relay = relay_for(sm, broker.bootstrap, prefix, epoch_check_s=0.5)
            consumer = consumer_for(sm, broker.bootstrap, prefix, "g-restart")
            tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
            try:
                await eventually(lambda: _eq(count(sm), 10))
                broker.restart()  # memory only: topics, data and offsets are gone
                records = await read_topic(broker.bootstrap, TOPIC, 10, timeout_s=40)
                assert len({r.key for r in records}) == 10  # republished from the outbox
                await eventually(lambda: _ge(consumer.records_processed, 20))  # the copies reached the consumer
                assert await count(sm) == 10  # and the consumer dropped what it had handled
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await consumer.stop()
                await relay.stop()
    finally:
        broker.stop()


async def _half_then_fail(uow: UnitOfWork, env: EventEnvelope) -> None:
    # writes its effect, then fails: the write must not survive
    await uow.session.execute(insert(effects).values(ticket_id=env.ticket_id, content=env.payload["content"]))
    if env.payload["content"].startswith("poison"):
        raise ValueError("fails after writing")


async def test_a_failing_handler_in_a_batch_leaves_no_partial_effect_and_the_others_apply_once(
    tmp_path: Path, db_backend: str
) -> None:
    from aiokafka import ConsumerRecord

    async with database(db_backend, tmp_path) as (_engine, sm):
        consumer = IdempotentConsumer(service="test", topics=[TOPIC], handlers={"FollowUpAdded": _half_then_fail},
                                      sessionmaker=sm, plumbing=plumbing, bootstrap="127.0.0.1:9", group_id="g")
        first = follow_up("T1", "one")
        # the last is the first again: a copy redelivered within the same batch
        envs = [first, follow_up("T1", "poison-1"), follow_up("T2", "two"), first]
        tp = TopicPartition(TOPIC, 0)
        recs = [ConsumerRecord(topic=TOPIC, partition=0, offset=i, timestamp=0, timestamp_type=0, key=b"T1",
                               value=e.to_bytes(), checksum=None, serialized_key_size=2,
                               serialized_value_size=0, headers=()) for i, e in enumerate(envs)]
        await consumer.process({tp: recs})
        assert await count(sm, effects.c.content == "one") == 1
        assert await count(sm, effects.c.content == "two") == 1
        assert await count(sm, effects.c.content == "poison-1") == 0
        async with sm() as s:
            inbox = {r.event_id: r.dead_lettered for r in (await s.execute(select(plumbing.inbox))).all()}
            dlq = (await s.execute(select(plumbing.outbox.c.topic, plumbing.outbox.c.value))).all()
        assert inbox == {str(envs[0].event_id): False, str(envs[1].event_id): True, str(envs[2].event_id): False}
        assert [d.topic for d in dlq] == [dlq_name(TOPIC)]
        assert orjson.loads(dlq[0].value)["reason"] == "ValueError: fails after writing"
        # the same batch again (a redelivery after a crash before the offset commit): nothing more
        await consumer.process({tp: recs})
        assert await count(sm) == 2


async def _confirmed_total(sm) -> int:
    """How many records the reader groups have committed past, summed over partitions (as the relay stored it)."""
    async with sm() as s:
        raw = (await s.execute(select(plumbing.state.c.value).where(plumbing.state.c.name == CONFIRMED))).scalar()
    return sum(sum(parts.values()) for parts in orjson.loads(raw)["offsets"].values()) if raw else 0


async def _sent_in_generation(sm, generation: int) -> int:
    o = plumbing.outbox
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(o).where(
            o.c.sent_at.is_not(None), o.c.sent_generation == generation))).scalar_one())


async def _exactly_once(sm, n: int) -> bool:
    async with sm() as s:
        total, distinct = (await s.execute(select(func.count(), func.count(effects.c.content.distinct())))).one()
    return bool(total == distinct == n)


@pytest.mark.timeout(240)
async def test_broker_coming_back_empty_gets_only_what_a_reader_group_had_not_committed_past(
    db_backend: str, tmp_path: Path,
) -> None:
    """Two groups read the topic; one stops (its offsets still count); the broker is wiped: only the events the
    stopped group had not committed past are published again, and each group handles every event exactly once."""
    broker = EmbeddedBroker()
    broker.start()
    (tmp_path / "b").mkdir()
    n_first, n_later = 1500, 60
    try:
        await ensure_topics(broker.bootstrap, all_broker_topics(""), 3)
        async with database(db_backend, tmp_path) as (_ea, sm), database(db_backend, tmp_path / "b") as (_eb, sm_b):
            async with transaction(sm) as s:
                await add_events(s, plumbing, [follow_up(f"T{i % 300}", f"a{i}") for i in range(n_first)], TOPIC)
            relay = OutboxRelay(service="test", sessionmaker=sm, plumbing=plumbing, bootstrap=broker.bootstrap,
                                poll_interval_s=0.05, epoch_check_s=0.5, partitions=3, confirm_interval_s=0.3,
                                readers={TOPIC: ["g-a", "g-b"]})
            a = consumer_for(sm, broker.bootstrap, "", "g-a")
            b = consumer_for(sm_b, broker.bootstrap, "", "g-b")
            tasks = [asyncio.create_task(x.run()) for x in (relay, a, b)]
            try:
                await eventually(lambda: _exactly_once(sm, n_first), timeout_s=60)
                await eventually(lambda: _exactly_once(sm_b, n_first), timeout_s=60)
                await eventually(lambda: _ge_async(_confirmed_total(sm), n_first), timeout_s=30)
                tasks[2].cancel()  # group b stops: not running, its committed offsets stay on the broker
                await asyncio.gather(tasks[2], return_exceptions=True)
                await b.stop()
                async with transaction(sm) as s:
                    await add_events(s, plumbing, [follow_up(f"T{i % 300}", f"b{i}") for i in range(n_later)], TOPIC)
                await eventually(lambda: _exactly_once(sm, n_first + n_later), timeout_s=30)
                await asyncio.sleep(1.0)  # confirm rounds run meanwhile: b's offsets hold the later events back
                assert await _confirmed_total(sm) == n_first

                broker.restart()  # memory only: topics, data and offsets are gone
                # the relay notices, and sends again exactly what b had not committed past
                await eventually(lambda: _eq(_sent_in_generation(sm, 1), n_later), timeout_s=60)
                assert await _sent_in_generation(sm, 0) == n_first  # confirmed: not sent again
                b2 = consumer_for(sm_b, broker.bootstrap, "", "g-b")  # b comes back, on the new broker
                tasks.append(asyncio.create_task(b2.run()))
                await eventually(lambda: _exactly_once(sm_b, n_first + n_later), timeout_s=60)
                await eventually(lambda: _ge(a.records_processed, n_first + 2 * n_later), timeout_s=60)
                assert await _exactly_once(sm, n_first + n_later)  # a dropped the copies it had handled
                assert await _sent_in_generation(sm, 1) == n_later
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for x in (a, b, relay):
                    await x.stop()
                if len(tasks) > 3:
                    await b2.stop()
    finally:
        broker.stop()


@pytest.mark.timeout(120)
async def test_offsets_read_from_a_broker_that_came_back_empty_confirm_nothing(tmp_path: Path) -> None:
    """Before the relay notices a new broker, the groups' offsets there must not be matched with the old broker's,
    and rows it sent there meanwhile are sent again once it notices."""
    broker = EmbeddedBroker()
    broker.start()
    try:
        await ensure_topics(broker.bootstrap, all_broker_topics(""), 3)
        async with database("sqlite", tmp_path) as (_e, sm):
            async with transaction(sm) as s:
                await add_events(s, plumbing, [follow_up(f"T{i}", f"a{i}") for i in range(50)], TOPIC)
            relay = OutboxRelay(service="test", sessionmaker=sm, plumbing=plumbing, bootstrap=broker.bootstrap,
                                partitions=3, readers={TOPIC: ["g-a"]})
            a = consumer_for(sm, broker.bootstrap, "", "g-a")
            task = asyncio.create_task(a.run())
            try:
                await relay._new_producer()
                await relay._check_epoch()
                while await relay.publish_once():
                    pass
                await eventually(lambda: _exactly_once(sm, 50))
                await eventually(lambda: _ge(a.records_processed, 50))
                await asyncio.sleep(0.5)  # a commits after its batch
                await relay._confirm()
                assert await _confirmed_total(sm) == 50

                broker.restart()
                await read_or_claim_epoch(broker.bootstrap, "", 3)  # another replica's relay claims the new broker
                producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
                await producer.start()
                for i in range(200):  # its events; group a reads and commits them there
                    await producer.send(TOPIC, follow_up(f"U{i}", f"u{i}").to_bytes(), key=f"U{i}".encode())
                await producer.stop()
                await eventually(lambda: _exactly_once(sm, 250), timeout_s=60)
                await asyncio.sleep(0.5)
                await relay._confirm()  # the epoch is not the one this database knows: nothing stored
                assert await _confirmed_total(sm) == 50

                async with transaction(sm) as s:  # rows sent to the new broker before the relay noticed it
                    await add_events(s, plumbing, [follow_up(f"V{i}", f"v{i}") for i in range(10)], TOPIC)
                await relay._new_producer()
                while await relay.publish_once():
                    pass
                await relay._check_epoch()
                assert await _sent_in_generation(sm, 0) == 50  # confirmed on the old broker
                async with sm() as s:  # the 10 are sent again: confirmations from before do not cover them
                    unsent = (await s.execute(select(func.count()).select_from(plumbing.outbox)
                                              .where(plumbing.outbox.c.sent_at.is_(None)))).scalar_one()
                assert unsent == 10
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await a.stop()
                await relay.stop()
    finally:
        broker.stop()


async def _ge_async(awaitable, least: int) -> bool:
    return (await awaitable) >= least


async def test_runs_of_a_batch_are_applied_together_and_the_other_events_one_by_one_in_order() -> None:
    from datetime import UTC, datetime

    from bancheng_shared.contracts.intake import TicketMerged
    from bancheng_shared.messagebus import MessageBus

    seen: list[tuple[str, list[str]]] = []

    async def one(event: object, uow: UnitOfWork, ctx: object) -> None:
        seen.append(("one", [uow.envelope.ticket_id]))

    async def many(envs: list[EventEnvelope], uow: UnitOfWork, ctx: object) -> None:
        seen.append(("many", [e.ticket_id for e in envs]))

    bus: MessageBus[None] = MessageBus(None, None, commands={},  # type: ignore[arg-type]
                                       events={FollowUpAdded: one, TicketMerged: one})
    merged = make_event(TicketMerged(into_ticket_no="BC0", reason="same", by="op", merged_at=datetime.now(UTC)),
                        ticket_id="T3", producer="test")
    batch = [follow_up("T1", "a"), follow_up("T2", "b"), merged, follow_up("T4", "c")]
    outer = UnitOfWork.bound(None, None, cause=None, after=[])  # type: ignore[arg-type]
    await bus.in_runs(batch, outer, {"FollowUpAdded": many})
    assert seen == [("many", ["T1", "T2"]), ("one", ["T3"]), ("many", ["T4"])]


async def test_a_deadlock_is_retried_as_the_database_s_trouble_and_never_dead_letters_the_event(
    tmp_path: Path,
) -> None:
    """PostgreSQL breaks a deadlock by failing one transaction: the consumer's batch. Even in the pass that isolates
    a failing event (here a poisoned one before it), the deadlocked event is not the event's fault: the whole batch
    fails and is applied again later; only the poisoned event is dead-lettered, the other applied once."""
    from aiokafka import ConsumerRecord
    from sqlalchemy import text, update
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from bancheng_shared.consumer import database_unwell

    if postgres_base_url() is None:
        if os.environ.get("BANCHENG_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (BANCHENG_REQUIRE_POSTGRES) but unreachable")
        pytest.skip("PostgreSQL unreachable")
    async with database("postgresql", tmp_path) as (engine, sm):
        async with engine.begin() as conn:
            await conn.execute(insert(effects), [{"id": 1, "ticket_id": "row", "content": "a"},
                                                 {"id": 2, "ticket_id": "row", "content": "b"}])
        first_time, b_locked, a_waits = [True], asyncio.Event(), asyncio.Event()

        async def deadlocked_once(uow: UnitOfWork, env: EventEnvelope) -> None:
            if env.payload["content"] == "poison":
                raise ValueError("this event cannot be applied")
            await uow.session.execute(update(effects).where(effects.c.id == 1).values(content="a1"))
            if first_time[0]:
                first_time[0] = False
                await b_locked.wait()
                a_waits.set()
            await uow.session.execute(update(effects).where(effects.c.id == 2).values(content="b1"))

        async def other_transaction() -> None:
            # holds row 2, then asks for row 1 once the consumer waits for row 2: a cycle PostgreSQL breaks by
            # failing the one that waited first (the consumer's)
            async with engine.connect() as b:
                await b.execute(text("SET lock_timeout = '20s'"))
                await b.execute(update(effects).where(effects.c.id == 2).values(content="b2"))
                b_locked.set()
                await a_waits.wait()
                # only once the consumer waits for row 2, so that it is the one that waited first
                async with engine.connect() as probe:
                    async def consumer_waits() -> bool:
                        q = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                        return bool((await probe.execute(q)).scalar())

                    await eventually(consumer_waits, timeout_s=10, interval_s=0.01)
                await b.execute(update(effects).where(effects.c.id == 1).values(content="a2"))
                await b.commit()

        consumer = IdempotentConsumer(service="test", topics=[TOPIC], handlers={"FollowUpAdded": deadlocked_once},
                                      sessionmaker=sm, plumbing=plumbing, bootstrap="127.0.0.1:9", group_id="g")
        envs = [follow_up("T1", "poison"), follow_up("T2", "work")]
        tp = TopicPartition(TOPIC, 0)
        recs = [ConsumerRecord(topic=TOPIC, partition=0, offset=i, timestamp=0, timestamp_type=0, key=b"T",
                               value=e.to_bytes(), checksum=None, serialized_key_size=1,
                               serialized_value_size=0, headers=()) for i, e in enumerate(envs)]
        other = asyncio.create_task(other_transaction())
        with pytest.raises(DBAPIError) as failed:
            await consumer.process({tp: recs})
        await other
        assert database_unwell(failed.value) and "deadlock" in str(failed.value)
        async with sm() as s:
            assert (await s.execute(select(func.count()).select_from(plumbing.inbox))).scalar_one() == 0
        await consumer.process({tp: recs})  # the retry: applied
        async with sm() as s:
            inbox = {r.event_id: r.dead_lettered for r in (await s.execute(select(plumbing.inbox))).all()}
            dlq = (await s.execute(select(plumbing.outbox.c.value))).scalars().all()
            rows = dict((await s.execute(select(effects.c.id, effects.c.content))).all())
        assert inbox == {str(envs[0].event_id): True, str(envs[1].event_id): False}
        assert len(dlq) == 1 and orjson.loads(dlq[0])["reason"].startswith("ValueError")
        assert rows == {1: "a1", 2: "b1"}
        # a value the database refuses is the event's: not retried forever
        async with sm() as s:
            with pytest.raises(IntegrityError) as refused:
                await s.execute(insert(effects).values(id=1, ticket_id="x", content="dup"))
        assert not database_unwell(refused.value)
