"""oversight's HTTP routes, thin: validate the request, build a command and hand it to the bus, or read through
queries. stats: statistics, reports, tier copies; cases: supervision cases; tickets: return visits and
accountability; hotspots: hotspots (cases, hand-downs) and the public disclosure feed; rechecks: 回头看;
suggestions: process improvement; assessment: the yearly assessment;
ledgers: 台账 files."""

from __future__ import annotations

from fastapi import APIRouter

from oversight_svc.api import assessment, cases, hotspots, ledgers, rechecks, stats, suggestions, tickets

router = APIRouter(prefix="/v1")
for _module in (stats, cases, tickets, hotspots, rechecks, suggestions, assessment, ledgers):
    router.include_router(_module.router)
public = hotspots.public

__all__ = ["public", "router"]
