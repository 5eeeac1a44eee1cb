"""Benchmarks: unit statistics and the overview over a large rollup, and a monthly city report.

The rollup rows (day, month, quarter and year grains) are generated directly into a temp SQLite database as if
N tickets had flowed through 20,000 units over one year; queries then run through the service code."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy import create_engine

from bancheng_shared.db import make_engine, make_sessionmaker
from bancheng_shared.unit_of_work import SystemClock, UnitOfWork
from oversight_svc import queries
from oversight_svc.adapters import report_builder, report_files
from oversight_svc.adapters.tables import metadata
from oversight_svc.context import Oversight
from oversight_svc.domain.commands import DetectHotspots
from oversight_svc.domain.metrics import METRICS
from oversight_svc.domain.periods import period_bounds
from oversight_svc.domain.report import ReportInputs
from oversight_svc.handlers.visits import detect_hotspots
from oversight_svc.settings import OversightSettings

N_TICKETS = 1_000_000
N_UNITS = 20_000
YEAR = 2025


def _generate(path: Path, n_tickets: int, n_units: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    create_engine(f"sqlite:///{path}").dispose()
    eng = create_engine(f"sqlite:///{path}")
    metadata.create_all(eng)
    eng.dispose()
    rng = np.random.default_rng(7)
    unit_idx = rng.integers(0, n_units, n_tickets)
    day_idx = rng.integers(0, 365, n_tickets)
    # per-ticket outcomes; some units "close without solving"
    liar = (unit_idx % 50) == 0
    p = rng.random((n_tickets, 6))
    m = {
        "received": np.ones(n_tickets, dtype=np.int64), "dispatched": np.ones(n_tickets, dtype=np.int64),
        "signed": np.ones(n_tickets, dtype=np.int64), "signed_in_time": (p[:, 0] < 0.93).astype(np.int64),
        "resolved": (p[:, 1] < 0.97).astype(np.int64), "self_resolved": (p[:, 1] < 0.9).astype(np.int64),
        "resolved_in_time": (p[:, 1] < 0.88).astype(np.int64), "overdue": (p[:, 1] > 0.95).astype(np.int64),
        "urged": (p[:, 1] > 0.96).astype(np.int64), "visited": (p[:, 2] < 0.8).astype(np.int64),
    }
    yes = (m["visited"] == 1) & np.where(liar, p[:, 3] < 0.3, p[:, 3] < 0.9)
    m["visit_yes"] = yes.astype(np.int64)
    m["satisfied"] = ((m["visited"] == 1) & (p[:, 4] < 0.8)).astype(np.int64)
    m["basically_satisfied"] = ((m["visited"] == 1) & (p[:, 4] >= 0.8) & (p[:, 4] < 0.95)).astype(np.int64)
    m["claimed_visited"] = ((m["visited"] == 1) & (m["self_resolved"] == 1)).astype(np.int64)
    m["claimed_denied"] = ((m["claimed_visited"] == 1) & ~yes).astype(np.int64)
    cols = list(m)
    units = [f"{339900 + (u % 100):06d}-kind{u}" for u in range(n_units)]
    days = [date(YEAR, 1, 1) + timedelta(days=i) for i in range(365)]
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany("INSERT INTO units(unit, name, region_code, level) VALUES (?,?,?,?)",
                    [(u, f"单位{i}", u[:6], 2) for i, u in enumerate(units)])
    rows = 0
    month_of = np.array([d.month - 1 for d in days])
    for grain, key in (("d", day_idx), ("m", month_of[day_idx]), ("q", (month_of // 3 * 3)[day_idx]), ("y", None)):
        k = unit_idx.astype(np.int64) * 400 + (key if key is not None else 0)
        uniq, inv = np.unique(k, return_inverse=True)
        sums = np.zeros((len(uniq), len(cols)), dtype=np.int64)
        for j, c in enumerate(cols):
            np.add.at(sums[:, j], inv, m[c])
        def period(v: int, grain: str = grain) -> str:
            if grain == "d":
                return days[v].isoformat()
            if grain in ("m", "q"):
                return date(YEAR, v + 1, 1).isoformat()
            return date(YEAR, 1, 1).isoformat()
        data = [(grain, period(int(kk % 400)), units[int(kk // 400)], *map(int, s))
                for kk, s in zip(uniq, sums, strict=True)]
        con.executemany(f"INSERT INTO rollups(grain, period, unit, {', '.join(cols)}) VALUES "
                        f"(?,?,?,{','.join('?' * len(cols))})", data)
        rows += len(data)
    others = [c for c in METRICS if c not in cols]
    con.execute(f"UPDATE rollups SET {', '.join(f'{c}=0' for c in others)} WHERE {others[0]} IS NULL")
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return {"rollup_rows": rows, "generate_s": round(time.perf_counter() - t0, 1)}


def _timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Run fn `repeat` times: (best ms, median ms, last result). The machine is shared: report both."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(min(times), 1), round(statistics.median(times), 1), out


_CACHE: dict[str, Any] = {}


def _db(n_tickets: int = N_TICKETS, n_units: int = N_UNITS) -> tuple[Any, dict[str, Any]]:
    if "rt" not in _CACHE:
        tmp = Path(tempfile.mkdtemp(prefix="oversight-bench-")) / "bench.db"
        info = _generate(tmp, n_tickets, n_units)
        url = f"sqlite+aiosqlite:///{tmp}"
        settings = OversightSettings(database_url=url)
        engine = make_engine(url)
        # what queries and the hotspot handler use of a runtime: sessions, the clock, a relay to wake
        _CACHE["rt"] = SimpleNamespace(settings=settings, engine=engine, sm=make_sessionmaker(engine),
                                       clock=SystemClock(), relay=SimpleNamespace(wake=lambda: None))
        _CACHE["ox"] = Oversight(settings)
        _CACHE["info"] = {"tickets": n_tickets, "units": n_units, **info}
        _CACHE["loop"] = asyncio.new_event_loop()
    return _CACHE["rt"], _CACHE["info"]


PERIODS = {"month": (date(YEAR, 6, 1), date(YEAR, 6, 30)), "quarter": (date(YEAR, 4, 1), date(YEAR, 6, 30)),
           "year": (date(YEAR, 1, 1), date(YEAR, 12, 31)), "ragged": (date(YEAR, 3, 17), date(YEAR, 5, 9)),
           # the most leftover days a period can have: 30 + 29 days around one whole month
           "worst": (date(YEAR, 3, 2), date(YEAR, 5, 30))}


def bench_stats() -> dict[str, Any]:
    """Unit statistics and the overview for several periods over 1,000,000 tickets / 20,000 units."""
    rt, info = _db()
    ox = _CACHE["ox"]
    loop = _CACHE["loop"]
    run = loop.run_until_complete
    out: dict[str, Any] = dict(info)

    def put(name: str, fn: Callable[[], Any]) -> Any:
        best, median, res = _timed(fn)
        out[f"{name}_ms"], out[f"{name}_best_ms"] = median, best
        return res

    for name, (a, b) in PERIODS.items():
        rows = put(f"unit_stats_{name}",
                   lambda a=a, b=b: run(queries.unit_stats(rt, ox, a, b, None)))  # type: ignore[misc]
        out[f"unit_stats_{name}_rows"] = len(rows)
        put(f"overview_{name}", lambda a=a, b=b: run(queries.overview(rt, ox, a, b, None)))  # type: ignore[misc]
    put("one_unit_year",
        lambda: run(queries.unit_stats(rt, ox, date(YEAR, 1, 1), date(YEAR, 12, 31), "339901-kind1")))
    put("overview_one_district_ragged",
        lambda: run(queries.overview(rt, ox, date(YEAR, 3, 17), date(YEAR, 5, 9), "339901")))
    return out


def bench_report() -> dict[str, Any]:
    """A monthly city report (HTML and XLSX) over the same rollup, three times: best and median."""
    rt, info = _db()
    ox = _CACHE["ox"]
    run = _CACHE["loop"].run_until_complete

    async def build(day: date) -> dict[str, Any]:
        # what the report route does: the period's hotspots (through their handler), then the report's data
        first, last = period_bounds("month", day)
        hot = await detect_hotspots(DetectHotspots(start=first, end=last), UnitOfWork(rt), ox)
        return await queries.report_data(rt, ox, "month", day, None, hot, rt.clock.now())

    runs: list[dict[str, float]] = []
    for _ in range(3):
        t = time.perf_counter()
        data = run(build(date(YEAR, 6, 15)))
        build_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        html = report_files.to_html(data)
        html_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        xlsx = report_files.to_xlsx(data)
        xlsx_ms = (time.perf_counter() - t) * 1000
        runs.append({"build_ms": build_ms, "html_ms": html_ms, "xlsx_ms": xlsx_ms,
                     "total_html_s": (build_ms + html_ms) / 1000, "total_xlsx_s": (build_ms + xlsx_ms) / 1000})
    out: dict[str, Any] = {"tickets": info["tickets"], "units": info["units"], "report_units": len(data["units"]),
                           "html_kb": len(html) // 1024, "xlsx_kb": len(xlsx) // 1024}
    for k in runs[0]:
        vals = [r[k] for r in runs]
        nd = 2 if k.endswith("_s") else 1
        stem, unit = k.rsplit("_", 1)
        out[k], out[f"{stem}_best_{unit}"] = round(statistics.median(vals), nd), round(min(vals), nd)
    return out


async def _loop_lag_while(work: Callable[[], Awaitable[Any]], tick_s: float = 0.01) -> dict[str, Any]:
    """Run `work` while a ticker sleeps `tick_s` at a time: how late the loop woke it (the stall other coroutines
    of the service, its consumers and requests, see), how many ticks ran, and how long the work took."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            t = loop.time()
            await asyncio.sleep(tick_s)
            lags.append((loop.time() - t - tick_s) * 1000)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(tick_s * 5)
    lags.clear()
    t0 = time.perf_counter()
    await work()
    took = time.perf_counter() - t0
    done.set()
    await task
    lags.sort()
    return {"build_s": round(took, 2), "ticks": len(lags), "max_lag_ms": round(lags[-1], 1) if lags else None,
            "p99_lag_ms": round(lags[int(len(lags) * 0.99)], 1) if lags else None}


def bench_report_loop() -> dict[str, Any]:
    """Event-loop lag (a 10 ms ticker) while the monthly city XLSX is made from the rows read: its statistics and
    file made on the loop as the route did before (`inline`), in a thread, and in a worker process (what the route
    does now; the pool is warm); `reads_only`: the database reads, which stay on the loop in every mode."""
    rt, info = _db()
    ox = _CACHE["ox"]
    run = _CACHE["loop"].run_until_complete
    day = date(YEAR, 6, 15)
    first, last = period_bounds("month", day)

    async def inputs() -> ReportInputs:
        hot = await detect_hotspots(DetectHotspots(start=first, end=last), UnitOfWork(rt), ox)
        return await queries.report_inputs(rt, ox, "month", day, None, hot, rt.clock.now())

    builders = {"thread": report_builder.ReportBuilder(0), "process": report_builder.ReportBuilder(1)}
    out: dict[str, Any] = {"tickets": info["tickets"], "units": info["units"]}
    try:
        read = run(inputs())
        run(builders["process"].build(read, "xlsx"))  # start the worker: the service pays it once

        async def inline() -> None:
            report_builder.make(read, "xlsx")

        # the rows are read first (on the loop in every mode: the reads_only line), then made into the file
        modes: dict[str, Callable[[], Awaitable[Any]]] = {"reads_only": inputs, "inline": inline}
        for mode, builder in builders.items():
            async def built(b: report_builder.ReportBuilder = builder) -> None:
                await b.build(read, "xlsx")
            modes[mode] = built
        for mode, work in modes.items():
            runs = [run(_loop_lag_while(work)) for _ in range(3)]
            med = sorted(runs, key=lambda r: r["max_lag_ms"] or 0)[1]
            out.update({f"{mode}_{k}": v for k, v in med.items()})
            out[f"{mode}_max_lag_best_ms"] = min(r["max_lag_ms"] or 0 for r in runs)
    finally:
        for b in builders.values():
            b.close()
    return out


def benchmarks() -> dict[str, Callable[[], dict[str, Any]]]:
    """Name → measurement, for `bancheng bench`."""
    return {"oversight_stats": bench_stats, "oversight_monthly_report": bench_report,
            "oversight_report_loop_lag": bench_report_loop}


if __name__ == "__main__":
    import json

    for name, fn in benchmarks().items():
        print(name, json.dumps(fn(), ensure_ascii=False))
