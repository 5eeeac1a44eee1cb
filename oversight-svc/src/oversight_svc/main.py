"""oversight-svc wiring: settings → runtime → context (calendar, rollups) → bus → consumer and letter job → app."""

from __future__ import annotations

import asyncio
import sys

import structlog
from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.calendar import seed_years
from bancheng_shared.leases import PeriodicJob
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from oversight_svc import api
from oversight_svc.adapters.cases import LETTER_JOB
from oversight_svc.adapters.tables import job_runs, plumbing
from oversight_svc.context import Oversight
from oversight_svc.domain.commands import CheckLetters
from oversight_svc.handlers import COMMANDS, EVENTS, RUNS
from oversight_svc.problem_types import PROBLEM_TYPES
from oversight_svc.settings import OversightSettings

SERVICE = "oversight-svc"
MIGRATIONS = "oversight_svc:migrations"
log = structlog.get_logger("oversight")


def create_app(settings: OversightSettings | None = None) -> FastAPI:
    """The oversight-svc app with its consumer, relay and letter check."""
    settings = settings or OversightSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    ox = Oversight(settings)
    bus = MessageBus(rt, ox, commands=COMMANDS, events=EVENTS)
    # one group over the three topics: ticket facts, rollups, cases, the calendar years sla publishes
    bus.consume("facts", [INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS], runs=RUNS)

    async def check_letters(period: str, me: str) -> None:
        # supervision letters past their due date raise the case and propose accountability
        await bus.handle(CheckLetters(period=period, claimed_by=me))

    # once per period across replicas (the period claimed in job_runs)
    letter_job = PeriodicJob(rt, job_runs, LETTER_JOB, settings.letter_check_interval_s, check_letters)

    async def start(_rt: Runtime) -> None:
        # the same seed as sla's calendar (the years chinesecalendar knows); sla's versions override it
        years = range(settings.calendar_seed_from_year, rt.clock.now().year + 2)
        ox.calendar.seed(await asyncio.to_thread(seed_years, years))
        rt.spawn(letter_job.run)

    async def stop(_rt: Runtime) -> None:
        ox.reports.close()

    app = create_service_app(
        runtime=rt,
        title="Bancheng oversight-svc 督办服务",
        description="督办、回访、问责、三率统计、报告与公开。\n\n"
        "Oversight: supervision cases, return visits, accountability, the three rates, reports, disclosure.",
        routers=[api.router, api.public],
        on_startup=[start],
        on_shutdown=[stop],
        tags=[
            {"name": "stats", "description": "统计与三率 / Statistics and the three rates"},
            {"name": "cases", "description": "督办案件 / Supervision cases"},
            {"name": "return visits", "description": "回访 / Return visits"},
            {"name": "accountability", "description": "问责 / Accountability"},
            {"name": "hotspots", "description": "高频共性问题 / Hotspots"},
            {"name": "reports", "description": "分析报告 / Reports"},
            {"name": "copies", "description": "分级抄送 / Tier copies"},
            {"name": "suggestions", "description": "改进建议（总结提升）/ Process-improvement suggestions"},
            {"name": "assessment", "description": "年度绩效考核 / Yearly assessment"},
            {"name": "public", "description": "公开（无需凭证）/ Public, no credential"},
        ],
        problem_types=PROBLEM_TYPES,
    )
    app.state.bus = bus
    app.state.letter_job = letter_job
    return app


def run() -> None:
    """Serve, `migrate` the database, or `rebuild-rollups` (old periods counted by cohort again)."""
    settings = OversightSettings()
    if sys.argv[1:2] == ["rebuild-rollups"]:
        from oversight_svc.adapters.rebuild import rebuild

        print(asyncio.run(rebuild(settings.database_url, settings.timezone)))
        return
    serve(SERVICE, settings, create_app, MIGRATIONS, sys.argv)
