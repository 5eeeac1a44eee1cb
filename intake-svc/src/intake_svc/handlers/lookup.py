"""The person's own lookup (no credential): every try of a proof is counted before it is checked (per source
address and per ticket, in the database), and given back when the proof holds."""

from __future__ import annotations

from typing import Any

from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from intake_svc.adapters import tickets as stored
from intake_svc.context import Intake
from intake_svc.domain.commands import LookUpTicket
from intake_svc.domain.public_lookup import not_found, public_view


async def look_up_ticket(cmd: LookUpTicket, uow: UnitOfWork, ctx: Intake) -> dict[str, Any]:
    """Status and public steps only, for whoever proves they asked; a wrong proof and an unknown number answer the
    same 404; too many failures answer 429 (domain.throttle)."""
    held = await ctx.proofs.reserve(source=cmd.source, ticket_no=cmd.ticket_no, by_last4=bool(cmd.phone_last4))
    async with uow.rt.sm() as session:
        if cmd.ticket_no is None:
            ticket_no = await stored.ticket_of_token(session, cmd.token) if cmd.token else None
            row = await stored.ticket(session, ticket_no) if ticket_no else None
            if row is None:
                raise Problem(404, "no ticket matches this tracking token", type_="unknown-ticket")
        else:
            row = await stored.proven(session, ctx.vault, cmd.ticket_no, phone_last4=cmd.phone_last4,
                                      token=cmd.token)
            if row is None:
                raise not_found()
        steps = await stored.steps(session, row.ticket_no, public_only=True)
    await ctx.proofs.release_now(held)
    return public_view(row, steps)
