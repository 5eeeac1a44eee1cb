"""triage-svc application."""

import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from triage_svc import api, consumers, service
from triage_svc.settings import TriageSettings
from triage_svc.store import plumbing

SERVICE = "triage-svc"
MIGRATIONS = "triage_svc:migrations"


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    """The triage-svc app with its consumers and relay."""
    settings = settings or TriageSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    consumers.register(rt)
    return create_service_app(
        runtime=rt,
        title="Bancheng triage-svc 分拨服务",
        description="分类、红黄绿灯分级、响应级别、派单与工单状态。\n\n"
        "Triage: classification, tiers, response levels, routing, dispatch and the work-order lifecycle.",
        routers=[api.router],
        on_startup=[service.warm_up],
        tags=[{"name": "directory", "description": "组织目录 / Org directory"},
              {"name": "catalogue", "description": "派单目录与纠正 / Routing catalogue and corrections"},
              {"name": "work-orders", "description": "工单 / Work orders"}],
    )


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, TriageSettings(), create_app, MIGRATIONS, sys.argv)
