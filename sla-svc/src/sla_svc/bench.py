"""sla benchmarks (measured, never asserted): deadline arithmetic, a scheduler pass over a large table of
open clocks with a small due set, and a burst of clocks falling due at once."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bancheng_shared.calendar import seed_years
from bancheng_shared.migrate import upgrade
from bancheng_shared.runtime import Runtime
from sla_svc import domain
from sla_svc.domain import CalendarBook

TZ = ZoneInfo("Asia/Shanghai")


def deadlines() -> dict[str, Any]:
    """Deadline computations per second in-process (O(1) ordinal tables), and with the explanation text."""
    book = CalendarBook(seed_years(range(2004, 2027)))
    rnd = random.Random(7)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    starts = [base + timedelta(minutes=rnd.randrange(0, 700 * 24 * 60)) for _ in range(10_000)]
    days = [rnd.choice((1, 2, 5, 10)) for _ in range(10_000)]
    n = 300_000
    t0 = time.perf_counter()
    for i in range(n):
        k = i % 10_000
        domain.due_at(book, starts[k], days[k], TZ)
    per_s = n / (time.perf_counter() - t0)
    m = 20_000
    t0 = time.perf_counter()
    for i in range(m):
        k = i % 10_000
        domain.working_day_deadline(book, starts[k], days[k], TZ)
    explained = m / (time.perf_counter() - t0)
    return {"deadlines_per_s": round(per_s), "deadlines_with_explanation_per_s": round(explained)}


def _fmt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _fill(db: Path, n_open: int, n_due: int, due: datetime, later: datetime) -> float:
    """Bulk-load n_open running clocks, each with one pending timer; n_due of them fall due at `due`."""
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    # bulk load without the secondary indexes, then build them once (what a restore would do)
    indexes = con.execute("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name IN ('clocks', 'timers')"
                          " AND sql IS NOT NULL").fetchall()
    for (sql,) in indexes:
        con.execute("DROP INDEX " + sql.split(" ON ")[0].split()[-1])
    started = _fmt(due - timedelta(days=7))
    resolve = _fmt(due - timedelta(microseconds=1))
    clock_sql = ("INSERT INTO clocks (ticket_no, round, gen, unit, region_code, complex, response_level, started_at,"
                 " working_days, extension_days, paused_days, state, signed, deemed_signed, return_requested,"
                 " resolve_due, urgent_from, calendar_version, unknown_year, alert_level, explanation,"
                 " accept_explanation) VALUES (?,1,1,?,?,0,2,?,5,0,0,'running',1,0,0,?,?,'cn-bench',0,'urgent','','')")
    timer_sql = "INSERT INTO timers (ticket_no, round, gen, kind, due_at, status) VALUES (?,1,1,?,?,'pending')"
    chunk = 50_000
    for start in range(0, n_open, chunk):
        rows = range(start, min(start + chunk, n_open))
        con.executemany(clock_sql, ((f"B{i:08d}", f"3399{i % 500:02d}-unit", f"3399{i % 97:05d}", started,
                                     resolve, started) for i in rows))
        con.executemany(timer_sql, ((f"B{i:08d}", "alarm", _fmt(due if i % (n_open // n_due) == 0 and
                                                                 i // (n_open // n_due) < n_due else later))
                                    for i in rows))
        con.commit()
    for (sql,) in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return time.perf_counter() - t0


async def _scheduler_run(db: Path, now: datetime, batch: int) -> tuple[float, int, float]:
    from sla_svc.domain.commands import FireDueTransitions, SeedCalendars
    from sla_svc.main import create_app
    from sla_svc.settings import SlaSettings

    settings = SlaSettings(database_url=f"sqlite+aiosqlite:///{db}", kafka_bootstrap="127.0.0.1:1",
                           calendar_seed_from_year=2025, scheduler_batch_size=batch, simulated_time_allowed=True,
                           relay_enabled=False, consumers_enabled=False, scheduler_enabled=False)
    bus = create_app(settings).state.bus
    rt: Runtime = bus.rt
    try:
        await bus.handle(SeedCalendars())
        bus.ctx.time.set(now)
        t0 = time.perf_counter()
        fired, claimed = await bus.handle(FireDueTransitions())
        first_pass = time.perf_counter() - t0
        total = fired
        while claimed:
            fired, claimed = await bus.handle(FireDueTransitions())
            total += fired
        elapsed = time.perf_counter() - t0
        return first_pass, total, elapsed
    finally:
        await rt.engine.dispose()


def scheduler_pass(n_open: int = 1_000_000, n_due: int = 100) -> dict[str, Any]:
    """One scheduler pass over n_open open clocks of which n_due are due (temp SQLite file)."""
    due = datetime(2026, 11, 24, 16, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sla-bench.db"
        upgrade("sla_svc:migrations", f"sqlite+aiosqlite:///{db}")
        build_s = _fill(db, n_open, n_due, due, due + timedelta(days=30))
        first, fired, _ = asyncio.run(_scheduler_run(db, due + timedelta(seconds=1), 1000))
    return {"open_clocks": n_open, "due": n_due, "fired": fired, "pass_s": round(first, 4),
            "build_s": round(build_s, 1)}


def burst(n_due: int = 10_000, n_open: int = 100_000) -> dict[str, Any]:
    """n_due clocks falling due at the same instant, fully alerted (alerts, clock rows, outbox events)."""
    due = datetime(2026, 11, 24, 16, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sla-burst.db"
        upgrade("sla_svc:migrations", f"sqlite+aiosqlite:///{db}")
        _fill(db, n_open, n_due, due, due + timedelta(days=30))
        _, fired, elapsed = asyncio.run(_scheduler_run(db, due + timedelta(seconds=1), 1000))
        con = sqlite3.connect(db)
        events = con.execute("SELECT count(*) FROM outbox WHERE event_type IN ('AlertRaised', 'UrgeIssued')"
                             ).fetchone()[0]
        con.close()
    return {"burst": n_due, "fired": fired, "events": events, "seconds": round(elapsed, 3),
            "alerts_per_s": round(fired / elapsed) if elapsed else None}


def benchmarks() -> dict[str, Callable[[], dict[str, Any]]]:
    """Name -> measurement (the `bancheng bench` command calls these)."""
    return {"deadlines": deadlines, "scheduler_pass_1m": scheduler_pass, "burst_10k": burst}


if __name__ == "__main__":
    for name, fn in benchmarks().items():
        print(name, fn(), flush=True)
