"""Benchmarks: classify + route per second on one core, and the 20,000-unit directory import."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any


def _texts() -> list[str]:
    # the catalogue's examples stand in for realistic requests (the labelled eval set lives with the tests)
    doc = json.loads(resources.files("triage_svc").joinpath("data/catalogue.json").read_text("utf-8"))
    return [f"东湖区城关街道{ex}" for r in doc["rules"] for ex in r.get("examples", [])]


def classify_route(n: int = 20000) -> dict[str, Any]:
    """Classify, tier and route n requests in-process (no I/O), one core."""
    from triage_svc import classifier, domain
    from triage_svc.demo_directory import demo_city
    from triage_svc.directory import DirectoryIndex, UnitRef
    from triage_svc.service import decide

    c = classifier.compile_catalogue(domain.load_catalogue(), 0)
    idx = DirectoryIndex.build(UnitRef(r["code"], r["name"], r["level"], r["kind"], r["region_code"],
                                       r["parent_code"]) for r in demo_city())
    texts = _texts()
    lat: list[float] = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        region = "339901001" if i % 2 else None  # half resolve the place from the text
        decide(texts[i % len(texts)], region, None, None, c, idx)
        lat.append(time.perf_counter() - s)
    dt = time.perf_counter() - t0
    lat.sort()
    return {"tickets_per_s": round(n / dt, 1), "p50_ms": round(lat[n // 2] * 1000, 3),
            "p99_ms": round(lat[int(n * 0.99)] * 1000, 3), "n": n}


def directory_import(units: int = 20000) -> dict[str, Any]:
    """Validate and import a 20,000-unit directory into a fresh SQLite database (one transaction)."""
    from bancheng_shared.db import make_engine, make_sessionmaker, transaction
    from triage_svc.demo_directory import scale_directory
    from triage_svc.service import import_units
    from triage_svc.store import metadata

    rows = scale_directory(units)

    async def run(path: Path) -> float:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            t0 = time.perf_counter()
            async with transaction(make_sessionmaker(engine)) as session:
                await import_units(session, rows)
            return time.perf_counter() - t0
        finally:
            await engine.dispose()

    with tempfile.TemporaryDirectory() as d:
        secs = asyncio.run(run(Path(d) / "bench.db"))
    return {"units": len(rows), "import_s": round(secs, 3), "units_per_s": round(len(rows) / secs, 1)}


def benchmarks() -> dict[str, Callable[[], dict[str, Any]]]:
    """Name → measurement, for `bancheng bench`."""
    return {"triage.classify_route": classify_route, "triage.directory_import_20k": directory_import}


if __name__ == "__main__":
    for name, fn in benchmarks().items():
        print(name, fn())
