"""intake-svc application."""

import asyncio
import sys

from fastapi import FastAPI

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.runtime import Runtime
from intake_svc import api, api_open311, consumers, context, sms
from intake_svc.callbacks import Deliverer
from intake_svc.settings import IntakeSettings
from intake_svc.store import plumbing

SERVICE = "intake-svc"
MIGRATIONS = "intake_svc:migrations"


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake-svc app with its consumers, relay, merge index, callback and SMS loops."""
    settings = settings or IntakeSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    ctx = context.build(rt, settings)
    consumers.register(rt, ctx)
    deliverer = Deliverer(ctx)
    ctx.wakers.append(deliverer.wake.set)

    async def refresh_index() -> None:
        # other replicas' tickets become merge candidates here within merge_refresh_s
        while True:
            try:
                async with rt.sm() as session:
                    await ctx.index.refresh(session, settings.merge_index_days)
            except Exception:
                context.log.exception("merge_index_refresh_failed")
            await asyncio.sleep(settings.merge_refresh_s)

    async def send_sms() -> None:
        while True:
            try:
                if not await sms.send_pending(rt.sm, ctx.sms, ctx.vault):
                    await asyncio.sleep(settings.sms_poll_s)
            except Exception:
                context.log.exception("sms_loop_failed")
                await asyncio.sleep(settings.sms_poll_s)

    async def start(_rt: Runtime) -> None:
        async with rt.sm() as session:
            await ctx.index.refresh(session, settings.merge_index_days)
        rt.spawn(refresh_index)
        rt.spawn(deliverer.run)
        if not ctx.sms.records_only:
            rt.spawn(send_sms)

    app = create_service_app(
        runtime=rt,
        title="Bancheng intake-svc 受理服务",
        description="诉求受理：各渠道登记、并单、时间线、公开查询、平台交办与回调、短信、Open311。\n\n"
        "Intake: requests from every channel, merged repeats, the timeline, public lookup, platform items, "
        "callbacks, SMS and Open311 GeoReport v2.",
        routers=[api.router, api.public, api.hooks, api_open311.router],
        tags=[{"name": "tickets", "description": "诉求件 / Tickets"},
              {"name": "public", "description": "公开查询（无需凭据）/ Public lookup (no credential)"},
              {"name": "platforms", "description": "平台交办、回调订阅 / Platforms in, callbacks out"},
              {"name": "open311", "description": "Open311 GeoReport v2 (JSON / XML)"}],
        on_startup=[start],
    )
    app.state.intake = ctx
    return app


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, IntakeSettings(), create_app, MIGRATIONS, sys.argv)
