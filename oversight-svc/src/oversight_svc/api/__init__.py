"""oversight's HTTP routes, thin: validate the request, build a command and hand it to the bus, or read through
queries. stats: statistics, reports, tier copies; cases: supervision cases; tickets: return visits and
accountability; hotspots: hotspots and the public disclosure feed; ledgers: 台账 files."""

from __future__ import annotations

from fastapi import APIRouter

from oversight_svc.api import cases, hotspots, ledgers, stats, tickets

router = APIRouter(prefix="/v1")
for _module in (stats, cases, tickets, hotspots, ledgers):
    router.include_router(_module.router)
public = hotspots.public

__all__ = ["public", "router"]
