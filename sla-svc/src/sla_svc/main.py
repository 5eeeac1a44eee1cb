"""sla-svc application."""

import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from sla_svc import api, consumers
from sla_svc.service import ClockService
from sla_svc.settings import SlaSettings
from sla_svc.store import plumbing

SERVICE = "sla-svc"
MIGRATIONS = "sla_svc:migrations"


def create_app(settings: SlaSettings | None = None) -> FastAPI:
    """The sla-svc app with its consumers and relay."""
    settings = settings or SlaSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    consumers.register(rt, ClockService(settings))
    return create_service_app(
        runtime=rt,
        title="Bancheng sla-svc 时限服务",
        description="工作日日历、工单时限、预警阶梯、延期与督办升级。\n\n"
        "SLA: the working-day calendar, clocks, the alert ladder, extensions and escalation.",
        routers=[api.router],
        tags=[{"name": "clocks", "description": "时限 / Clocks"}],
    )


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, SlaSettings(), create_app, MIGRATIONS, sys.argv)
