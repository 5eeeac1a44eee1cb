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
    from triage_svc.demo_directory import demo_city
    from triage_svc.domain import classifier
    from triage_svc.domain.catalogue import load_catalogue
    from triage_svc.domain.directory import DirectoryIndex, UnitRef
    from triage_svc.domain.routing import decide

    c = classifier.compile_catalogue(load_catalogue(), 0)
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
    from bancheng_shared.runtime import Runtime
    from triage_svc.adapters.tables import metadata, plumbing
    from triage_svc.demo_directory import scale_directory
    from triage_svc.handlers.directory import import_units
    from triage_svc.settings import TriageSettings

    rows = scale_directory(units)

    async def run(path: Path) -> float:
        rt = Runtime.build("triage-svc", TriageSettings(database_url=f"sqlite+aiosqlite:///{path}"), plumbing)
        try:
            async with rt.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            t0 = time.perf_counter()
            async with rt.unit_of_work() as uow:
                await import_units(uow.session, rows)
            return time.perf_counter() - t0
        finally:
            await rt.stop()

    with tempfile.TemporaryDirectory() as d:
        secs = asyncio.run(run(Path(d) / "bench.db"))
    return {"units": len(rows), "import_s": round(secs, 3), "units_per_s": round(len(rows) / secs, 1)}


def benchmarks() -> dict[str, Callable[[], dict[str, Any]]]:
    """Name → measurement, for `bancheng bench`."""
    return {"triage.classify_route": classify_route, "triage.directory_import_20k": directory_import}


if __name__ == "__main__":
    for name, fn in benchmarks().items():
        print(name, fn())
