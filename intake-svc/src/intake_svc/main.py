"""intake-svc application."""

import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from intake_svc import api, consumers
from intake_svc.settings import IntakeSettings
from intake_svc.store import plumbing

SERVICE = "intake-svc"
MIGRATIONS = "intake_svc:migrations"


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake-svc app with its consumers and relay."""
    settings = settings or IntakeSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    consumers.register(rt)
    return create_service_app(
        runtime=rt,
        title="Bancheng intake-svc 受理服务",
        description="诉求受理：各渠道登记、并单、时间线、公开查询、平台交办与回调。\n\n"
        "Intake: requests from every channel, merged repeats, the timeline, public lookup, platform items "
        "and callbacks.",
        routers=[api.router],
        tags=[{"name": "tickets", "description": "诉求件 / Tickets"}],
    )


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, IntakeSettings(), create_app, MIGRATIONS, sys.argv)
