"""The read side of the yearly assessment: a year's scheme versions, and every unit's score with a named version
(from the rollups' year rows, the statistics read path; tickets are never scanned). No events, no writes."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from bancheng_shared.runtime import Runtime
from oversight_svc.adapters import assessment as stored
from oversight_svc.adapters import stats
from oversight_svc.context import Oversight
from oversight_svc.domain.assessment import Scheme, assess


async def scheme_versions(rt: Runtime, ox: Oversight, year: int) -> dict[str, Any]:
    """A year's versions, oldest first: the default (version 0) and every stored change; which one is in force."""
    ox.check_day("year", date(year, 1, 1))
    async with rt.sm() as session:
        kept = await stored.versions(session, year)
    every = [stored.default_scheme(ox.assessment_default, year), *kept]
    return {"year": year, "current": every[-1].version, "versions": [s.view() for s in every]}


async def _scheme(rt: Runtime, ox: Oversight, year: int, version: int | None) -> Scheme:
    if version == 0:
        return stored.default_scheme(ox.assessment_default, year)
    async with rt.sm() as session:
        s = await stored.version(session, year, version)
    if s is not None:
        return s
    if version is None:
        return stored.default_scheme(ox.assessment_default, year)
    raise Problem(404, f"version: year {year} has no assessment scheme version {version}",
                  type_="unknown-scheme-version")


async def assessment(rt: Runtime, ox: Oversight, who: Principal, year: int, version: int | None) -> dict[str, Any]:
    """Every unit's score, rank and explanations for the year with a scheme version (default: the latest); a unit
    key gets only its own row (its rank among all units)."""
    ox.check_day("year", date(year, 1, 1))
    scheme = await _scheme(rt, ox, year, version)
    async with rt.sm() as session:
        # the whole year is the rollups' year row of each unit: one row per unit, no GROUP BY
        rows = await stats.unit_rows(session, date(year, 1, 1), date(year, 12, 31), None, None)
    # a city's 20,000 units take about a second: in a worker thread, so the consumers keep their turns on the loop
    out = await asyncio.to_thread(assess, rows, scheme)
    if who.role == Role.unit:
        for part in ("ranked", "not_ranked"):
            out[part] = [u for u in out[part] if u["unit"] == who.unit_code]
    return out
