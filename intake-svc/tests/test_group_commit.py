"""Group commit and batches: requests written together are still decided one by one, all or nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from hooks_support import PII_KEY
from intake_helpers import ticket
from merge_corpus import NEAR_MISSES, TRUE_REPEATS
from sqlalchemy import func, select

from bancheng_services.testing import Databases, RunningService, auth, run_service
from intake_svc.adapters.tables import plumbing, tickets


async def _post_all(svc: RunningService, posts: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    return await asyncio.gather(*(svc.client.post("/v1/tickets", json=b, headers=h) for b, h in posts))


async def _outbox_types(svc: RunningService) -> Counter[str]:
    async with svc.runtime.sm() as s:
        rows = (await s.execute(select(plumbing.outbox.c.event_type, func.count())
                                .group_by(plumbing.outbox.c.event_type))).all()
    return Counter({r[0]: r[1] for r in rows})


def _burst(h: dict[str, str], distinct: int, repeats: int, phones: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Distinct matters at distinct places, then pairs of true repeats by the same person (phones from `phones`)."""
    posts = [(ticket(f"第{n}号楼前的路灯坏了{n}个月了，晚上一片漆黑", f"{phones}0{n:04d}",
                     region=f"3399{n % 90 + 10:02d}001"), h) for n in range(distinct)]
    for n, (first, repeat) in enumerate(TRUE_REPEATS[:repeats]):
        phone = f"{phones}1{n:04d}"
        posts += [(ticket(first, phone, region=None), h), (ticket(repeat, phone, region=None), h)]
    return posts


async def test_a_burst_is_grouped_and_repeats_inside_it_merge(intake: RunningService) -> None:
    h = auth("operator")
    # distinct matters at distinct places, true repeats by the same person, near-misses by the same person
    posts = _burst(h, 30, 5, "135000")
    for n, (first, other) in enumerate(NEAR_MISSES[:5]):
        phone = f"1372222{n:04d}"
        posts += [(ticket(first, phone, region=None), h), (ticket(other, phone, region=None), h)]
    # the same Idempotency-Key twice in one burst: one ticket, the second answer is the first one's
    keyed = ticket("东湖区某路口井盖缺失，存在安全隐患", "13800138000")
    posts += [(keyed, {**h, "Idempotency-Key": "burst-1"}), (keyed, {**h, "Idempotency-Key": "burst-1"})]

    gc = intake.app.state.intake.group_commit
    groups_before = gc.groups
    answers = await _post_all(intake, posts)
    assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers if r.status_code >= 300]
    body = [r.json() for r in answers]
    # fewer transactions than requests: the burst was grouped
    assert gc.groups - groups_before < len(posts)

    assert not any(b["merged"] for b in body[:30])
    for i in range(5):
        a, b = body[30 + 2 * i], body[31 + 2 * i]
        # whichever of the two was written first, the other merged into it
        assert a["ticket_no"] == b["ticket_no"], (a, b)
        assert sorted([a["merged"], b["merged"]]) == [False, True]
    for i in range(5):
        a, b = body[40 + 2 * i], body[41 + 2 * i]
        assert a["ticket_no"] != b["ticket_no"] and not a["merged"] and not b["merged"]
    k1, k2 = body[50], body[51]
    assert k1["ticket_no"] == k2["ticket_no"] and sorted([k1["replayed"], k2["replayed"]]) == [False, True]

    created = {b["ticket_no"] for b in body}
    assert len(created) == 30 + 5 + 10 + 1
    async with intake.runtime.sm() as s:
        stored = (await s.execute(select(tickets.c.ticket_no, tickets.c.repeat_count))).all()
    assert {r.ticket_no for r in stored} == created
    assert sum(r.repeat_count for r in stored) == 5
    # one TicketReceived per ticket and one RepeatReceived per merge, nothing twice
    types = await _outbox_types(intake)
    assert types["TicketReceived"] == len(created) and types["RepeatReceived"] == 5


async def test_a_used_key_in_a_group_does_not_lose_or_double_the_others(intake: RunningService) -> None:
    h = auth("operator")
    used = ticket("信箱来信：某小区停车难问题", channel="mailbox", external_id="MB-9")
    first = await intake.client.post("/v1/tickets", json=used, headers=h)
    assert first.status_code == 201
    others = [(ticket(f"第{n}条道路的井盖缺失了{n}个", f"1360000{n:04d}", region=f"3399{n + 10:02d}001"), h)
              for n in range(20)]
    changed = {**used, "title": "改了"}
    answers = await _post_all(intake, [*others[:10], (used, h), (changed, h), *others[10:]])
    codes = [r.status_code for r in answers]
    assert codes[10] == 200 and answers[10].json()["ticket_no"] == first.json()["ticket_no"]
    assert codes[11] == 409 and answers[11].headers["content-type"].startswith("application/problem+json")
    assert codes[:10] + codes[12:] == [201] * 20
    async with intake.runtime.sm() as s:
        n = (await s.execute(select(func.count()).select_from(tickets))).scalar_one()
    assert n == 21
    assert (await _outbox_types(intake))["TicketReceived"] == 21


async def test_batch_registers_all_in_order_merges_and_replays(intake: RunningService) -> None:
    h = auth("operator")
    first, repeat = TRUE_REPEATS[1]
    earlier = (await intake.client.post("/v1/tickets", json=ticket(first, "13900001111", region=None),
                                        headers=h)).json()
    a, b = TRUE_REPEATS[2]
    items = [
        ticket("幸福路12号的烧烤摊油烟很大，晚上十点以后还在营业", "13500002222", region="339911001"),
        ticket(repeat, "13900001111", region=None),  # repeats a ticket registered before
        ticket(a, "13700003333", region=None),
        ticket(b, "13700003333", region=None),  # repeats the item just above, in the same batch
        ticket("信箱来信：学府路小学门口早高峰车辆乱停", channel="mailbox", external_id="MB-100"),
        ticket("信箱来信：学府路小学门口早高峰车辆乱停", channel="mailbox", external_id="MB-100"),
    ]
    key = {**h, "Idempotency-Key": "batch-7"}
    r = await intake.client.post("/v1/tickets:batch", json={"items": items}, headers=key)
    assert r.status_code == 201, r.text
    got = r.json()
    res = got["items"]
    assert len(res) == 6 and (got["created"], got["merged"], got["replayed"]) == (3, 2, 1)
    assert res[1]["merged"] and res[1]["ticket_no"] == earlier["ticket_no"] and res[1]["repeat_count"] == 1
    assert res[3]["merged"] and res[3]["ticket_no"] == res[2]["ticket_no"] and not res[2]["merged"]
    assert res[5]["replayed"] and res[5]["ticket_no"] == res[4]["ticket_no"]
    assert len({x["ticket_no"] for x in res}) == 4
    # the merged-into ticket of the same batch was written with its count
    t = (await intake.client.get(f"/v1/tickets/{res[2]['ticket_no']}", headers=h)).json()
    assert t["repeat_count"] == 1 and [s["event"] for s in t["timeline"]] == ["TicketReceived", "RepeatReceived"]

    # the same batch under the same key: every answer replayed, nothing new
    again = await intake.client.post("/v1/tickets:batch", json={"items": items}, headers=key)
    assert again.status_code == 201 and again.json()["replayed"] == 6
    assert [x["ticket_no"] for x in again.json()["items"]] == [x["ticket_no"] for x in res]
    types = await _outbox_types(intake)
    assert types["TicketReceived"] == 4 and types["RepeatReceived"] == 2


async def test_batch_is_all_or_nothing(intake: RunningService) -> None:
    h = auth("operator")
    ok = [ticket(f"第{n}条道路的井盖缺失了{n}个", f"1360000{n:04d}", region=f"3399{n + 10:02d}001")
          for n in range(3)]
    bad = await intake.client.post("/v1/tickets:batch", json={"items": [*ok, {"channel": "hotline", "content": ""}]},
                                   headers=h)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert "items.3.content" in bad.text or "items[3].content" in bad.text
    used = ticket("信箱来信：某小区停车难问题", channel="mailbox", external_id="MB-9")
    assert (await intake.client.post("/v1/tickets", json=used, headers=h)).status_code == 201
    clash = await intake.client.post("/v1/tickets:batch", json={"items": [*ok, {**used, "title": "改了"}]}, headers=h)
    assert clash.status_code == 409 and "items[3]" in clash.json()["detail"]
    twice = await intake.client.post(
        "/v1/tickets:batch", json={"items": [{**used, "external_id": "MB-10"},
                                             {**used, "external_id": "MB-10", "title": "不同"}]}, headers=h)
    assert twice.status_code == 409 and "items[1]" in twice.json()["detail"]
    empty = await intake.client.post("/v1/tickets:batch", json={"items": []}, headers=h)
    assert empty.status_code == 422 and "items" in empty.text
    # nothing of the refused batches was written: only the single ticket above
    async with intake.runtime.sm() as s:
        n = (await s.execute(select(func.count()).select_from(tickets))).scalar_one()
    assert n == 1 and (await _outbox_types(intake))["TicketReceived"] == 1
    denied = await intake.client.post("/v1/tickets:batch", json={"items": ok}, headers=auth("unit"))
    assert denied.status_code == 403


async def test_several_writers_write_groups_at_once_but_never_one_key_twice_at_once() -> None:
    """GroupCommit alone (a fake write): up to `writers` groups in flight; a key being written waits for its group."""
    from intake_svc.adapters.group_commit import GroupCommit

    in_flight: set[str] = set()
    clashes: list[str] = []
    groups: list[list[str]] = []
    gate, all_busy = asyncio.Event(), asyncio.Event()
    writing = [0]

    async def write(items: list[tuple[str, str]]) -> list[str | Exception]:
        keys = {k for k, _ in items}
        clashes.extend(keys & in_flight)
        in_flight.update(keys)
        groups.append([v for _, v in items])
        writing[0] += 1
        if writing[0] == 3:
            all_busy.set()
        await gate.wait()  # held until every writer has a group
        writing[0] -= 1
        await asyncio.sleep(0.01)
        in_flight.difference_update(keys)
        return [v for _, v in items]

    gc: GroupCommit[tuple[str, str], str] = GroupCommit(write, lambda item: [item[0]], max_group=4, writers=3)
    items = [(f"k{i % 9}", f"v{i}") for i in range(30)]  # keys come back: k0 again at v9, v18, v27
    answers = asyncio.gather(*(gc.register(item) for item in items))
    await asyncio.wait_for(all_busy.wait(), 10)
    gate.set()
    assert await answers == [v for _, v in items]
    assert gc.most_at_once == 3 and not clashes
    assert sorted(v for g in groups for v in g) == sorted(v for _, v in items)
    # each key's requests were written in the order they came
    for k in {k for k, _ in items}:
        order = [v for g in groups for v in g if (k, v) in items]
        assert order == [v for kk, v in items if kk == k]


async def test_one_writer_writes_one_group_at_a_time() -> None:
    from intake_svc.adapters.group_commit import GroupCommit

    async def write(items: list[int]) -> list[int | Exception]:
        await asyncio.sleep(0.005)
        return [i * 2 for i in items]

    gc: GroupCommit[int, int] = GroupCommit(write, lambda i: [i], max_group=8, writers=1)
    assert await asyncio.gather(*(gc.register(i) for i in range(40))) == [i * 2 for i in range(40)]
    assert gc.most_at_once == 1 and gc.groups < 40


async def test_a_request_queued_as_the_writer_starts_joins_its_group() -> None:
    """The writer gives the loop one turn before it takes a group: a request that was ready in the same turn (read
    from its socket meanwhile) goes with the first one instead of waiting for a transaction of its own."""
    from intake_svc.adapters.group_commit import GroupCommit

    groups: list[list[str]] = []

    async def write(items: list[str]) -> list[str | Exception]:
        groups.append(list(items))
        return list(items)

    gc: GroupCommit[str, str] = GroupCommit(write, lambda item: [item], max_group=8, writers=2)
    first = asyncio.create_task(gc.register("first"))
    await asyncio.sleep(0)  # `first` is queued and its writer is scheduled: it runs before anything queued now
    second = asyncio.create_task(gc.register("second"))
    assert await asyncio.gather(first, second) == ["first", "second"]
    assert groups == [["first", "second"]] and gc.groups == 1


def test_sqlite_writes_one_group_at_a_time_whatever_the_setting() -> None:
    from intake_svc.adapters.registrar import group_writers

    assert group_writers(3, "sqlite+aiosqlite:///./x.db") == 1
    assert group_writers(3, "postgresql+asyncpg://u@h/db") == 3


async def test_three_writers_on_the_database_merge_and_replay_as_one_does(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    """Groups written at once (PostgreSQL; SQLite keeps one): repeats still merge into one ticket, a key sent twice
    still makes one ticket, nothing is lost or doubled."""
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY, accept_group_writers=3) as svc:
        h = auth("operator")
        posts = _burst(h, 40, 6, "135001")
        keyed = ticket("东湖区某路口井盖缺失，存在安全隐患", "13800138001")
        posts += [(keyed, {**h, "Idempotency-Key": f"w-{i % 3}"}) for i in range(6)]
        gc = svc.app.state.intake.group_commit
        answers = await _post_all(svc, posts)
        assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers if r.status_code >= 300]
        body = [r.json() for r in answers]
        for i in range(6):
            a, b = body[40 + 2 * i], body[41 + 2 * i]
            assert a["ticket_no"] == b["ticket_no"] and sorted([a["merged"], b["merged"]]) == [False, True]
        by_key = {}
        for i, b in enumerate(body[52:]):
            by_key.setdefault(i % 3, set()).add(b["ticket_no"])
        assert all(len(nos) == 1 for nos in by_key.values())
        # the three keys carry the same request of the same person: the later two merge into the first one's ticket
        assert len(set.union(*by_key.values())) == 1
        created = {b["ticket_no"] for b in body}
        assert len(created) == 40 + 6 + 1
        async with svc.runtime.sm() as s:
            stored = (await s.execute(select(tickets.c.ticket_no))).scalars().all()
        assert sorted(stored) == sorted(created)
        types = await _outbox_types(svc)
        assert types["TicketReceived"] == len(created) and types["RepeatReceived"] == 6 + 2
        assert gc.writers == (1 if databases.backend == "sqlite" else 3)
        if databases.backend == "sqlite":
            assert gc.most_at_once == 1
