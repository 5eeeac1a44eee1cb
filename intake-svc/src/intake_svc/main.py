"""intake-svc application: wiring only."""

import sys

import structlog
from cryptography.exceptions import InvalidTag
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.problems import problem_response
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import INTAKE_TICKETS, OVERSIGHT_CASES, SLA_CLOCKS, TRIAGE_WORK_ORDERS
from intake_svc import jobs
from intake_svc.adapters.gauges import backlog_probe
from intake_svc.adapters.merge_index import MergeIndex
from intake_svc.adapters.pii_vault import PiiKeyError, vault_from_settings
from intake_svc.adapters.registrar import Registrar, group_writers
from intake_svc.adapters.sms import gateway_from_settings
from intake_svc.adapters.tables import plumbing
from intake_svc.adapters.throttle import ProofThrottle
from intake_svc.api import ROUTERS
from intake_svc.context import Intake, delivery_policy, merge_policy, throttle_policy
from intake_svc.handlers import COMMANDS, EVENTS, consume_batch
from intake_svc.models import PlatformItem
from intake_svc.problem_types import PROBLEM_TYPES
from intake_svc.settings import IntakeSettings

SERVICE = "intake-svc"
MIGRATIONS = "intake_svc:migrations"
log = structlog.get_logger("intake")


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake-svc app with its consumer, relay, merge index, callback and SMS loops."""
    settings = settings or IntakeSettings()
    vault = vault_from_settings(settings)  # refuses (PiiKeyError) when no key is configured
    rt = Runtime.build(SERVICE, settings, plumbing)
    index = MergeIndex(settings.merge_num_perm, settings.merge_bands)
    sms = gateway_from_settings(settings)
    registrar = Registrar(rt, vault=vault, index=index, policy=merge_policy(settings),
                          candidates=settings.merge_candidates, records_only=sms.records_only,
                          sms_signature=settings.sms_signature, region_prefixes=settings.region_prefixes,
                          tracking_url=settings.tracking_url, max_group=settings.accept_max_group,
                          writers=group_writers(settings.accept_group_writers, settings.database_url),
                          index_days=settings.merge_index_days)
    ctx = Intake(settings=settings, vault=vault, index=index, sms=sms, registrar=registrar,
                 proofs=ProofThrottle(rt, throttle_policy(settings)),
                 delivery=delivery_policy(settings))
    bus = MessageBus(rt, ctx, commands=COMMANDS, events=EVENTS)
    bus.consume("timeline", [INTAKE_TICKETS, TRIAGE_WORK_ORDERS, SLA_CLOCKS, OVERSIGHT_CASES], batch=consume_batch)
    deliverer = jobs.Deliverer(rt, ctx)
    ctx.wakers.append(deliverer.wake.set)
    sms_sender = jobs.SmsSender(rt, ctx)

    async def start(_rt: Runtime) -> None:
        async with rt.sm() as session:
            await index.refresh(session, settings.merge_index_days)
        rt.spawn(lambda: jobs.refresh_index(rt, ctx))
        rt.spawn(deliverer.run)
        if not sms.records_only:
            rt.spawn(sms_sender.run)

    app = create_service_app(
        runtime=rt,
        title="Bancheng intake-svc 受理服务",
        description="诉求受理：各渠道登记、并单、时间线、公开查询、平台交办与回调、短信、Open311。\n\n"
        "Intake: requests from every channel, merged repeats, the timeline, public lookup, platform items, "
        "callbacks, SMS and Open311 GeoReport v2.",
        routers=ROUTERS,
        schemas=[PlatformItem],  # the signed platform route reads its body by hand and names it by $ref
        tags=[{"name": "tickets", "description": "诉求件 / Tickets"},
              {"name": "public", "description": "公开查询（无需凭据）/ Public lookup (no credential)"},
              {"name": "platforms", "description": "平台交办、回调订阅 / Platforms in, callbacks out"},
              {"name": "open311", "description": "Open311 GeoReport v2 (JSON / XML)"}],
        on_startup=[start],
        problem_types=PROBLEM_TYPES,
        ops_probes=[backlog_probe],
    )
    app.state.intake = ctx
    app.state.bus = bus

    async def unreadable(request: Request, exc: Exception) -> JSONResponse:
        # a handler of its own (not the catch-all 500): answered without re-raising, so the server keeps the
        # connection and the client reads a problem instead of a reset
        log.error("pii_unreadable", path=request.url.path, error=repr(exc))
        return problem_response(500, "a stored value could not be decrypted with the configured PII keys "
                                "(a key missing from the ring, or the wrong key under its id)",
                                instance=request.url.path, type_="pii-unreadable", types=PROBLEM_TYPES)

    app.add_exception_handler(InvalidTag, unreadable)
    app.add_exception_handler(PiiKeyError, unreadable)
    return app


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, IntakeSettings(), create_app, MIGRATIONS, sys.argv)
