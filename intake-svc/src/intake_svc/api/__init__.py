"""intake's HTTP API: tickets, the public lookup, platforms and callbacks, Open311 (one module per area)."""

from intake_svc.api import open311, platforms, public, remerge, tickets

ROUTERS = [tickets.router, remerge.router, public.router, platforms.router, open311.router]
