"""Benchmarks of intake: merge detection against a large stored corpus, and in-process accept throughput."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from intake_svc.merging import MergeIndex
from intake_svc.similarity import place_seed, shingles, similarity

ROADS = ["建设路", "人民路", "解放路", "和平路", "长江路", "光明街", "新华街", "中山路", "青年路", "文化路", "胜利路",
         "朝阳路", "东风路", "健康路", "学府路", "滨江路"]
PLACES = ["小区", "花园", "广场", "市场", "超市", "学校", "医院", "公园", "工地", "菜场", "停车场", "公交站"]
ISSUES = [
    "油烟扰民", "噪音扰民到深夜", "出售过期食品拒绝退款", "红绿灯损坏路口拥堵", "楼顶漏水物业不修",
    "垃圾堆积无人清运", "拖欠工资老板失联", "占道经营影响通行", "路灯不亮夜间不安全", "窨井盖缺失存在隐患",
    "违规收费", "停车位被占用", "供暖温度不达标", "电梯频繁故障", "污水外溢臭味大", "共享单车乱停放",
    "施工渣土撒漏", "培训机构跑路退费难", "医保报销进度慢", "营业执照办理拖延",
]
EXTRA = ["已经好几天了", "希望尽快处理", "多次反映无果", "老人孩子出行困难", "周边居民意见很大", "影响正常生活", ""]


def synthetic_request(rng: random.Random) -> str:
    """A plausible request: road + number + place + matter + remark (numbers make most texts distinct)."""
    return (f"{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.choice(PLACES)}{rng.choice(ISSUES)}，"
            f"{rng.choice(EXTRA)}")


def bench_merge(n_stored: int | None = None, n_queries: int = 2000, regions: int = 2000) -> dict[str, Any]:
    """p50/p99 of one merge detection (shingles, MinHash, LSH candidates, exact check) against n stored tickets."""
    n = n_stored or int(os.environ.get("INTAKE_BENCH_MERGE_N", "1000000"))
    rng = random.Random(7)
    idx = MergeIndex(64, 32)
    texts: list[str] = []
    places: list[str] = []
    t0 = time.perf_counter()
    chunk = 50_000
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            text = synthetic_request(rng)
            place = f"r:3399{rng.randrange(regions):05d}"
            texts.append(text)
            places.append(place)
            rows.append((f"T{i:08d}", idx.hasher.signature(shingles(text)).tobytes(), place))
        idx.add_bulk(rows)
    build_s = time.perf_counter() - t0
    # stored contents by ticket number stand in for the database read of the few candidates
    content = {f"T{i:08d}": texts[i] for i in range(n)}
    lat: list[float] = []
    merged = 0
    for q in range(n_queries):
        if q % 2 == 0:  # half are repeats of a stored ticket, reworded
            j = rng.randrange(n)
            text, place = "再次反映：" + texts[j] + "，还是没人管", places[j]
        else:
            text, place = synthetic_request(rng), f"r:3399{rng.randrange(regions):05d}"
        t = time.perf_counter()
        sh = shingles(text)
        sig = idx.hasher.signature(sh)
        best = 0.0
        for no in idx.candidates(sig, place, 10):
            best = max(best, similarity(sh, shingles(content[no])))
        lat.append((time.perf_counter() - t) * 1000)
        merged += best >= 0.45
    lat.sort()
    return {
        "stored_tickets": n, "regions": regions, "queries": n_queries, "index_build_s": round(build_s, 1),
        "p50_ms": round(statistics.median(lat), 3), "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 3),
        "max_ms": round(lat[-1], 3), "merged_fraction": round(merged / n_queries, 3),
        "seed_check": place_seed("r:1") != place_seed("r:2"),
        "index_arrays_mb": round(sum(k.nbytes + i.nbytes for k, i in zip(idx.lsh._keys, idx.lsh._ids, strict=True))
                                 / 1e6, 1),
    }


async def _accept(n: int, concurrency: int) -> dict[str, Any]:
    import httpx
    from sqlalchemy.ext.asyncio import create_async_engine

    from bancheng_shared.auth import issue_api_key
    from bancheng_shared.db import make_sessionmaker, transaction
    from intake_svc.main import create_app
    from intake_svc.settings import IntakeSettings
    from intake_svc.store import metadata, plumbing

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'intake.db'}"
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with transaction(make_sessionmaker(engine)) as s:
            await issue_api_key(s, plumbing, name="bench", role="operator", plaintext="bench-key")
        await engine.dispose()
        # no broker in this measurement: the outbox fills and is relayed elsewhere
        settings = IntakeSettings(database_url=url, relay_enabled=False, consumers_enabled=False,
                                  pii_key="bench-key-0123456789", log_level="WARNING")
        app = create_app(settings)
        rng = random.Random(3)
        bodies = [{"channel": "hotline", "content": synthetic_request(rng),
                   "complainant": {"name": "张三", "phone": f"139{rng.randrange(10**8):08d}"},
                   "location": {"region_code": f"3399{rng.randrange(100):02d}001"}} for _ in range(n)]
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                h = {"Authorization": "Bearer bench-key"}
                queue = list(enumerate(bodies))
                merged = 0

                async def worker() -> None:
                    nonlocal merged
                    while queue:
                        _i, body = queue.pop()
                        r = await client.post("/v1/tickets", json=body, headers=h)
                        assert r.status_code in (200, 201), r.text
                        merged += r.json()["merged"]

                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                took = time.perf_counter() - t0
    return {"tickets": n, "concurrency": concurrency, "tickets_per_s": round(n / took, 1), "merged": merged,
            "backend": "sqlite", "merging": True}


def bench_accept(n: int = 3000, concurrency: int = 32) -> dict[str, Any]:
    """Registrations per second through the HTTP app in-process (SQLite, merging on, no broker)."""
    return asyncio.run(_accept(n, concurrency))


def benchmarks() -> dict[str, Callable[[], dict[str, Any]]]:
    """name → measurement (for `bancheng bench`)."""
    return {"intake_merge_detection": bench_merge, "intake_accept": bench_accept}


if __name__ == "__main__":
    for name, fn in benchmarks().items():
        print(name, fn())
    _ = np  # numpy is the index's engine; imported here so a missing install fails early
