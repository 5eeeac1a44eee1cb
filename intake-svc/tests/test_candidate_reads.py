"""The candidate read of a group on PostgreSQL (one statement: one array per list, each key read by its index) finds
what the plain IN-list reads find, over a city's tickets: the same person's latest open tickets, the index's
candidates still open, the latest open tickets of the group's places."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text

from bancheng_services.testing import Databases
from bancheng_shared.db import make_engine
from intake_svc.adapters.merge_candidates import (
    AT_PLACES,
    CANDIDATE_COLUMNS,
    OF_PERSON,
    RECENT_AT_PLACES,
    candidate_reads,
    candidates_at_once,
)
from intake_svc.adapters.tables import tickets
from intake_svc.domain.merging import MergePolicy

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)

STREETS = ["解放路", "人民路", "建设北路", "中山南路", "新华街", "文化路"]
COMPLAINTS = ["夜间施工噪音扰民，凌晨仍在作业", "小区门口垃圾堆放多日无人清运", "路灯损坏一周未修，夜间出行不便",
              "餐馆油烟直排，楼上住户无法开窗", "农民工工资拖欠三个月未发放", "自来水发黄有异味，已持续两天"]


def _city(n: int, now: datetime) -> list[dict[str, Any]]:
    """n tickets of 40 people at 30 places over 40 days, a quarter of them closed; some people call often."""
    rnd = random.Random(15)
    rows = []
    for i in range(n):
        person = rnd.choice([0, 0, 0, 1, 1, 2, *range(3, 40)])  # three frequent callers
        place = rnd.randrange(30)
        rows.append(dict(
            ticket_no=f"GD20261206{i:06d}", channel="hotline", submitted_by="k-op", anonymous=False,
            content=f"{STREETS[place % 6]}{place}号附近：{rnd.choice(COMPLAINTS)}。请尽快处理。", repeat_count=0,
            repeat_seq=0, phone_hash=f"ph{person:03d}" if person % 5 else None,
            id_hash=f"id{person:03d}" if person % 3 == 0 else None, place_key=f"330102:{place:03d}",
            status=rnd.choice(["received", "received", "dispatched", "accepted", "closed"]),
            status_label="x", received_at=now - timedelta(days=rnd.uniform(0, 40), seconds=i), updated_at=now))
    return rows


def _by_key(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in rows)


def _latest_at_places(policy: MergePolicy) -> Any:
    """The plain read of the latest open tickets of some places (the oracle of the RECENT_AT_PLACES part)."""
    return (select(*CANDIDATE_COLUMNS).where(tickets.c.place_key.in_(bindparam("places", expanding=True)),
                                              tickets.c.status.not_in(policy.not_open),
                                              tickets.c.received_at >= bindparam("since"))
            .order_by(tickets.c.received_at.desc()).limit(bindparam("n")))


async def test_the_one_read_finds_what_the_in_list_reads_find(databases: Databases) -> None:
    url = await databases.new("intake")
    engine = make_engine(url)
    now = datetime(2026, 12, 6, 10, tzinfo=UTC)
    policy = MergePolicy()
    at_once = candidates_at_once(policy)
    of_person, at_places = candidate_reads(policy)
    places_read = _latest_at_places(policy)
    city = _city(3000, now)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(tickets), city)
            await conn.execute(text("ANALYZE tickets"))
        since = policy.window_start(now)
        people = [
            # the frequent callers (more open tickets than the per-person cap), people never seen, both hashes
            {"phones": ["ph001", "ph002", "ph404"], "ids": ["id000", "id999"]},
            {"phones": [f"ph{p:03d}" for p in range(1, 40) if p % 5], "ids": [f"id{p:03d}" for p in range(0, 40, 3)]},
            {"phones": [], "ids": ["id003"]},
            {"phones": [], "ids": []},
        ]
        numbers = [[r["ticket_no"] for r in city[::37]] + ["GD-unknown"], [], ["GD-unknown"]]
        places = [["330102:001", "330102:017"], [f"330102:{p:03d}" for p in range(30)], ["999999:000"], []]
        async with engine.connect() as conn:
            for i, (n, g) in enumerate((n, g) for n in (4, 10) for g in people):
                nos, at = numbers[i % len(numbers)], places[i % len(places)]
                rows = (await conn.execute(at_once, {**g, "since": since, "n": n, "ticket_nos": nos, "places": at,
                                                     "places_since": since, "places_n": 16})).all()
                parts = {part: [r for r in rows if r.part == part] for part in (OF_PERSON, AT_PLACES, RECENT_AT_PLACES)}
                assert [r.part for r in rows] == sorted(r.part for r in rows)  # each read's rows together
                mine = parts[OF_PERSON]
                theirs = (await conn.execute(of_person, {**g, "since": since, "n": n})).all()
                # the IN-list read returns every open ticket of the people; the caller keeps the latest n of each
                assert {r.ticket_no for r in mine} <= {r.ticket_no for r in theirs}
                assert bool(mine) == bool(g["phones"] or g["ids"])
                for h in [*g["phones"], *g["ids"]]:
                    def latest(rows: list[Any], h: str = h, n: int = n) -> list[str]:
                        return [r.ticket_no for r in rows if h in (r.phone_hash, r.id_hash)][:n]
                    assert latest(mine) == latest(theirs), h
                assert [r.received_at for r in mine] == sorted((r.received_at for r in mine), reverse=True)
                theirs = (await conn.execute(at_places, {"ticket_nos": nos})).all() if nos else []
                assert _by_key([r[1:] for r in parts[AT_PLACES]]) == _by_key(theirs)
                assert (0 < len(theirs) < len(nos)) or nos != numbers[0]
                theirs = (await conn.execute(places_read, {"places": at, "since": since, "n": 16})).all() if at else []
                assert [r.ticket_no for r in parts[RECENT_AT_PLACES]] == [r.ticket_no for r in theirs]
                assert bool(theirs) == (at in places[:2])
    finally:
        await engine.dispose()
