"""Benchmark of the ledgers: a city's year of work orders (500,000 rounds by default) written as CSV and XLSX
through the service code (chunked reads, worker-thread writes), with the seconds and the peak memory the process
gained while building each file (resident set, sampled every 20 ms).

    python -m oversight_svc.bench_ledgers [rows] [sqlite|postgresql-url]"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert

from bancheng_shared.db import make_engine, make_sessionmaker
from oversight_svc.adapters.ledger_files import build
from oversight_svc.adapters.ledgers import Filters
from oversight_svc.adapters.tables import metadata, rounds, tickets
from oversight_svc.domain.periods import local_bounds

TZ = ZoneInfo("Asia/Shanghai")
TITLES = ("解放碑步行街商铺占道经营", "小区电梯停运三天无人维修", "夜间施工噪声扰民", "快递代收点违规收取取件费",
          "道路井盖缺失存在安全隐患", "学校周边交通拥堵")


def _generate_rows(n: int) -> Any:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    step = 365 * 24 * 3600 / n
    for i in range(n):
        when = t0 + timedelta(seconds=i * step)
        unit = f"{339901 + i % 12}-kind{i % 40}"
        no = f"2025{i:08d}"
        yield ({"ticket_no": no, "region_code": unit[:6] + "001", "title": f"{TITLES[i % len(TITLES)]}（{i}）",
                "category": "complaint", "tier": "green", "received_at": when, "lead_unit": unit, "status": "closed",
                "closed_at": when + timedelta(days=4), "updated_at": when},
               {"ticket_no": no, "round": 1, "unit": unit, "dispatch_day": when.astimezone(TZ).date(),
                "accept_due": when + timedelta(hours=2), "resolve_due": when + timedelta(days=5), "signed_at": when,
                "sign_in_time": True, "resolved_at": when + timedelta(days=2), "outcome": "resolved",
                "resolve_in_time": i % 9 != 0, "overdue": i % 9 == 0, "extended": False,
                "visited_at": when + timedelta(days=3)})


def _fill(url: str, n: int) -> None:
    if not url.startswith("sqlite"):
        asyncio.run(_fill_async(url, n))
        return
    eng = create_engine(url.replace("+aiosqlite", ""))
    metadata.create_all(eng)
    with eng.begin() as conn:
        batch_t, batch_r = [], []
        for t, r in _generate_rows(n):
            batch_t.append(t)
            batch_r.append(r)
            if len(batch_t) == 20_000:
                conn.execute(insert(tickets), batch_t)
                conn.execute(insert(rounds), batch_r)
                batch_t, batch_r = [], []
        if batch_t:
            conn.execute(insert(tickets), batch_t)
            conn.execute(insert(rounds), batch_r)
    eng.dispose()


async def _fill_async(url: str, n: int) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sm = make_sessionmaker(engine)
    batch_t, batch_r = [], []
    async with sm() as s, s.begin():
        for t, r in _generate_rows(n):
            batch_t.append(t)
            batch_r.append(r)
            if len(batch_t) == 20_000:
                await s.execute(insert(tickets), batch_t)
                await s.execute(insert(rounds), batch_r)
                batch_t, batch_r = [], []
        if batch_t:
            await s.execute(insert(tickets), batch_t)
            await s.execute(insert(rounds), batch_r)
    await engine.dispose()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _measure(rt: Any, fmt: str, chunk_rows: int) -> dict[str, Any]:
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    f = Filters(start, end, *local_bounds(start, end, TZ))
    base, peak = _rss(), _rss()
    done = False

    async def sample() -> None:
        nonlocal peak
        while not done:
            peak = max(peak, _rss())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    t = time.perf_counter()
    path = await build(rt, "work-orders", fmt, f, encoding="utf-8", tz=TZ, chunk_rows=chunk_rows, tmp_dir=None)
    seconds = time.perf_counter() - t
    done = True
    await sampler
    size = await asyncio.to_thread(os.path.getsize, path)
    await asyncio.to_thread(os.unlink, path)
    return {"format": fmt, "seconds": round(seconds, 1), "file_mb": round(size / 1e6, 1),
            "peak_rss_gain_mb": round((peak - base) / 1e6, 1)}


async def _run(url: str, chunk_rows: int) -> list[dict[str, Any]]:
    engine = make_engine(url)
    rt = type("Rt", (), {"engine": engine, "sm": make_sessionmaker(engine)})()
    try:
        return [await _measure(rt, fmt, chunk_rows) for fmt in ("csv", "xlsx")]
    finally:
        await engine.dispose()


def main() -> None:
    """Fill a database with a year of work orders and build the ledger in both formats."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    url = sys.argv[2] if len(sys.argv) > 2 else ""
    if not url.startswith("postgresql"):
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='ledger-bench-')) / 'bench.db'}"
    t = time.perf_counter()
    # filled by another process, so that this one's resident set is the ledger's alone
    filler = multiprocessing.get_context("spawn").Process(target=_fill, args=(url, n))
    filler.start()
    filler.join()
    print(f"rows {n:,} filled in {time.perf_counter() - t:.0f} s ({url.split(':')[0]})", flush=True)
    print(f"resident set before: {_rss() / 1e6:.0f} MB", flush=True)
    for result in asyncio.run(_run(url, 2000)):
        print(result, flush=True)


if __name__ == "__main__":
    main()
