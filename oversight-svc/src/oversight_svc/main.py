"""oversight-svc application."""

import asyncio
import sys

import structlog
from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from oversight_svc import api, cases, consumers
from oversight_svc.settings import OversightSettings
from oversight_svc.store import plumbing

SERVICE = "oversight-svc"
MIGRATIONS = "oversight_svc:migrations"


def create_app(settings: OversightSettings | None = None) -> FastAPI:
    """The oversight-svc app with its consumers and relay."""
    settings = settings or OversightSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    consumers.register(rt)

    async def letter_loop() -> None:
        # supervision letters past their due date raise the case and propose accountability
        while True:
            try:
                await cases.check_letters(rt)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                structlog.get_logger("oversight").warning("letter_check_failed", error=repr(exc))
            await asyncio.sleep(settings.letter_check_interval_s)

    async def start_loops(_rt: Runtime) -> None:
        rt.spawn(letter_loop)

    return create_service_app(
        runtime=rt,
        title="Bancheng oversight-svc 督办服务",
        description="督办、回访、问责、三率统计、报告与公开。\n\n"
        "Oversight: supervision cases, return visits, accountability, the three rates, reports, disclosure.",
        routers=[api.router, api.public],
        on_startup=[start_loops],
        tags=[
            {"name": "stats", "description": "统计与三率 / Statistics and the three rates"},
            {"name": "cases", "description": "督办案件 / Supervision cases"},
            {"name": "return visits", "description": "回访 / Return visits"},
            {"name": "accountability", "description": "问责 / Accountability"},
            {"name": "hotspots", "description": "高频共性问题 / Hotspots"},
            {"name": "reports", "description": "分析报告 / Reports"},
            {"name": "copies", "description": "分级抄送 / Tier copies"},
            {"name": "public", "description": "公开（无需凭证）/ Public, no credential"},
        ],
    )


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, OversightSettings(), create_app, MIGRATIONS, sys.argv)
