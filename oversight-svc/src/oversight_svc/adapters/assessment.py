"""The assessment schemes: the stored versions of each year, and the shipped default (version 0) read from its data
file."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from oversight_svc.adapters.tables import assessment_schemes as t
from oversight_svc.domain.assessment import Scheme, check

DEFAULT_FILE = "assessment_scheme.json"


def load_default(path: str | None) -> dict[str, Any]:
    """The default scheme's data (a file given in the settings, else the packaged one), checked like a new version."""
    raw = (Path(path).read_text("utf-8") if path
           else resources.files("oversight_svc").joinpath("data", DEFAULT_FILE).read_text("utf-8"))
    data: dict[str, Any] = json.loads(raw)
    check(data["measures"], data.get("deductions", {}), data.get("min_sample", 0))
    return data


def default_scheme(data: dict[str, Any], year: int) -> Scheme:
    """Version 0 of a year: the default, in force until an admin stores version 1."""
    return Scheme(year=year, version=0, weights=data["measures"], deductions=data.get("deductions", {}),
                  min_sample=int(data.get("min_sample", 0)), reason=data.get("reason", ""), created_by="系统默认",
                  created_role="system")


def _scheme(r: Any) -> Scheme:
    return Scheme(year=r.year, version=r.version, weights=r.weights, deductions=r.deductions,
                  min_sample=r.min_sample, reason=r.reason, created_by=r.created_by, created_role=r.created_role,
                  created_at=r.created_at)


async def latest_version(session: AsyncSession, year: int) -> int | None:
    """The highest stored version of a year, or None."""
    v = (await session.execute(select(func.max(t.c.version)).where(t.c.year == year))).scalar_one()
    return int(v) if v is not None else None


async def versions(session: AsyncSession, year: int) -> list[Scheme]:
    """A year's stored versions, oldest first."""
    rows = (await session.execute(select(t).where(t.c.year == year).order_by(t.c.version))).all()
    return [_scheme(r) for r in rows]


async def version(session: AsyncSession, year: int, number: int | None) -> Scheme | None:
    """One stored version of a year (the latest when number is None), or None."""
    q = select(t).where(t.c.year == year)
    q = q.where(t.c.version == number) if number is not None else q.order_by(t.c.version.desc()).limit(1)
    r = (await session.execute(q)).first()
    return _scheme(r) if r is not None else None


async def add(session: AsyncSession, s: Scheme) -> None:
    """Store a new version (a concurrent one with the same number fails on the unique key)."""
    await session.execute(insert(t).values(
        year=s.year, version=s.version, weights=dict(s.weights), deductions=dict(s.deductions),
        min_sample=s.min_sample, reason=s.reason, created_by=s.created_by, created_role=s.created_role,
        created_at=s.created_at))
