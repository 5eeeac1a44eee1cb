"""triage-svc application: settings → runtime → caches → context → message bus → consumers → the app."""

import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, OVERSIGHT_CASES, SLA_CLOCKS
from triage_svc import api
from triage_svc.adapters.caches import Caches
from triage_svc.adapters.tables import plumbing
from triage_svc.context import Triage
from triage_svc.domain.catalogue import load_catalogue
from triage_svc.handlers import COMMANDS, EVENTS, RUNS
from triage_svc.problem_types import PROBLEM_TYPES
from triage_svc.settings import TriageSettings

SERVICE = "triage-svc"
MIGRATIONS = "triage_svc:migrations"


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    """The triage-svc app with its consumers and relay."""
    settings = settings or TriageSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    caches = Caches(load_catalogue())
    bus = MessageBus(rt, Triage(settings=settings, caches=caches), commands=COMMANDS, events=EVENTS)
    # intake's tickets, sla's clocks and oversight's cases, in one consumer group
    bus.consume("tickets", [INTAKE_TICKETS, SLA_CLOCKS, OVERSIGHT_CASES], runs=RUNS)

    async def warm_up(_rt: Runtime) -> None:
        await caches.warm_up()

    app = create_service_app(
        runtime=rt,
        title="Bancheng triage-svc 分拨服务",
        description="分类、红黄绿灯分级、响应级别、派单与工单状态。\n\n"
        "Triage: classification, tiers, response levels, routing, dispatch and the work-order lifecycle.",
        routers=[api.router],
        on_startup=[warm_up],
        tags=[{"name": "directory", "description": "组织目录 / Org directory"},
              {"name": "catalogue", "description": "派单目录与纠正 / Routing catalogue and corrections"},
              {"name": "work-orders", "description": "工单 / Work orders"}],
        problem_types=PROBLEM_TYPES,
    )
    app.state.bus = bus
    return app


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, TriageSettings(), create_app, MIGRATIONS, sys.argv)
