"""Demo data: the demo org directory in triage and demo API keys in every service."""

from __future__ import annotations

from sqlalchemy import func, select

from bancheng_services.stack import SERVICES, Stack, seed_keys
from bancheng_shared.db import make_engine, make_sessionmaker, transaction

DEMO_UNIT = "339901-market_regulation"
DEMO_KEYS: list[dict[str, str | None]] = [
    {"name": "demo admin", "role": "admin", "unit": None, "key": "demo-admin-key"},
    {"name": "demo hotline operator 话务员", "role": "operator", "unit": None, "key": "demo-operator-key"},
    {"name": "demo web front end", "role": "frontend", "unit": None, "key": "demo-frontend-key"},
    {"name": "demo work team 工作专班", "role": "work_team", "unit": None, "key": "demo-workteam-key"},
    {"name": "demo unit 东湖区市场监管局", "role": "unit", "unit": DEMO_UNIT, "key": "demo-unit-key"},
    {"name": "demo discipline inspector 纪委监委", "role": "inspector", "unit": None, "key": "demo-inspector-key"},
    {"name": "demo supervision office 督查室", "role": "supervision_office", "unit": None,
     "key": "demo-supervision-key"},
    {"name": "demo leader", "role": "leader", "unit": None, "key": "demo-leader-key"},
]


async def seed_directory(url: str) -> int:
    """Load the demo city directory into triage's database when it is empty; returns units loaded."""
    from triage_svc.adapters.tables import units
    from triage_svc.demo_directory import demo_city
    from triage_svc.handlers.directory import import_units

    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            n = (await session.execute(select(func.count()).select_from(units))).scalar_one()
            if n:
                return 0
            return await import_units(session, demo_city())
    finally:
        await engine.dispose()


async def seed_demo(stack: Stack) -> int:
    """Demo directory and demo keys (idempotent)."""
    loaded = await seed_directory(stack.db_url("triage"))
    for name, spec in SERVICES.items():
        await seed_keys(stack.db_url(name), spec["module"], DEMO_KEYS)
    return loaded
