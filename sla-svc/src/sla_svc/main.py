"""sla-svc application: settings → runtime → context → message bus → consumers, scheduler → the app."""

import sys
from datetime import UTC, datetime

from fastapi import FastAPI
from prometheus_client import Gauge

from bancheng_shared.app import create_service_app, serve
from bancheng_shared.calendar import seed_years
from bancheng_shared.messagebus import MessageBus
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from sla_svc import api
from sla_svc.adapters.gauges import clocks_probe
from sla_svc.adapters.tables import plumbing
from sla_svc.adapters.timesource import TimeSource
from sla_svc.context import Sla, policy_of
from sla_svc.domain.calendar_book import CalendarBook
from sla_svc.domain.commands import SeedCalendars
from sla_svc.handlers import COMMANDS, EVENTS, RUNS
from sla_svc.handlers.scheduler import scheduler_loop
from sla_svc.problem_types import PROBLEM_TYPES
from sla_svc.settings import SlaSettings

SERVICE = "sla-svc"
MIGRATIONS = "sla_svc:migrations"
NEXT_YEAR_CALENDAR_MISSING = Gauge(
    "bancheng_sla_next_year_calendar_missing",
    "1 when next year's working-day calendar is not loaded and the warning day (SLA_NEXT_YEAR_CALENDAR_FROM) has come")


def create_app(settings: SlaSettings | None = None) -> FastAPI:
    """The sla-svc app with its consumers, relay and scheduler."""
    settings = settings or SlaSettings()
    rt = Runtime.build(SERVICE, settings, plumbing)
    policy = policy_of(settings)
    this_year = datetime.now(UTC).year
    sla = Sla(rt=rt, settings=settings, policy=policy, time=TimeSource(settings.simulated_time_allowed),
              book=CalendarBook(seed_years(range(this_year - 1, this_year + 1)), tz=policy.tz))
    NEXT_YEAR_CALENDAR_MISSING.set_function(lambda: float(sla.next_year_missing() is not None))
    rt.clock = sla.time  # every event sla emits carries the service's (possibly simulated) time
    bus = MessageBus(rt, sla, commands=COMMANDS, events=EVENTS)
    bus.consume("work-orders", [TRIAGE_WORK_ORDERS], runs=RUNS)

    async def start_scheduler(_rt: Runtime) -> None:
        await bus.handle(SeedCalendars())
        if settings.scheduler_enabled:
            rt.spawn(lambda: scheduler_loop(bus))

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
        problem_types=PROBLEM_TYPES,
        readiness_details=sla.readiness_details,
        ops_probes=[clocks_probe(sla.time.now)],
    )
    app.state.sla = sla
    app.state.bus = bus
    return app


def run() -> None:
    """Serve, or `migrate` the database."""
    serve(SERVICE, SlaSettings(), create_app, MIGRATIONS, sys.argv)
