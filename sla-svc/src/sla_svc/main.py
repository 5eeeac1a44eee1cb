"""sla-svc application."""

import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from sla_svc import api, consumers
from sla_svc.service import SlaService
from sla_svc.settings import SlaSettings
from sla_svc.store import plumbing

SERVICE = "sla-svc"
MIGRATIONS = "sla_svc:migrations"


def create_app(settings: SlaSettings | None = None) -> FastAPI:
    """The sla-svc app with its consumers, relay and scheduler."""
    settings = settings or SlaSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    sla = SlaService(rt, settings)
    consumers.register(rt, sla)

    async def start_scheduler(_rt: Runtime) -> None:
        await sla.startup()
        if settings.scheduler_enabled:
            rt.spawn(sla.scheduler_loop)

    app = create_service_app(
        runtime=rt,
        title="Bancheng sla-svc 时限服务",
        description="工作日日历、工单时限、预警阶梯、延期与暂停、催办与督办升级。\n\n"
        "SLA: the working-day calendar, clocks, the alert ladder, extensions and pauses, urging and escalation.",
        routers=[api.router],
        tags=[{"name": "clocks", "description": "时限 / Clocks"},
              {"name": "alerts", "description": "预警 / Alerts"},
              {"name": "calendars", "description": "工作日日历 / Working-day calendars"},
              {"name": "time", "description": "模拟时间（测试与培训）/ Simulated time (tests, training)"}],
        on_startup=[start_scheduler],
    )
    app.state.sla = sla
    return app


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, SlaSettings(), create_app, MIGRATIONS, sys.argv)
