"""oversight-svc application."""

import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from oversight_svc import api, consumers
from oversight_svc.settings import OversightSettings
from oversight_svc.store import plumbing

SERVICE = "oversight-svc"
MIGRATIONS = "oversight_svc:migrations"


def create_app(settings: OversightSettings | None = None) -> FastAPI:
    """The oversight-svc app with its consumers and relay."""
    settings = settings or OversightSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    consumers.register(rt)
    return create_service_app(
        runtime=rt,
        title="Bancheng oversight-svc 督办服务",
        description="督办、回访、问责、三率统计、报告与公开。\n\n"
        "Oversight: supervision cases, return visits, accountability, the three rates, reports, disclosure.",
        routers=[api.router],
        tags=[{"name": "stats", "description": "统计 / Statistics"}],
    )


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, OversightSettings(), create_app, MIGRATIONS, sys.argv)
