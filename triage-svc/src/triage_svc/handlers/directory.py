"""The org directory's import and the routing catalogue's versions (the work team's commands)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bancheng_shared.errors import Problem
from bancheng_shared.unit_of_work import UnitOfWork
from triage_svc.adapters.catalogue import Catalogues
from triage_svc.adapters.directory import Units
from triage_svc.context import Triage
from triage_svc.domain import catalogue, contacts, directory
from triage_svc.domain.commands import ActivateCatalogue, ImportDirectory, PublishCatalogue
from triage_svc.domain.work_order import actor_name

Body = dict[str, Any]


async def import_units(session: AsyncSession, rows: list[dict[str, Any]], *, replace: bool = False,
                       extra_kinds: list[str] | None = None) -> int:
    """Validate and store directory rows in the caller's transaction (all or nothing); Problem 422 on errors."""
    return len(await _store(session, rows, replace=replace, extra_kinds=extra_kinds))


async def _store(session: AsyncSession, rows: list[dict[str, Any]], *, replace: bool,
                 extra_kinds: list[str] | None) -> list[dict[str, Any]]:
    units = Units(session)
    existing = {} if replace else await units.levels(directory.parents_to_look_up(rows))
    clean = directory.checked_rows(rows, existing, extra_kinds or [])
    await units.write(clean, replace=replace)
    return clean


async def import_directory(cmd: ImportDirectory, uow: UnitOfWork, ctx: Triage) -> Body:
    """Import a directory through the API (one transaction); says which active units have no SMS number."""
    async with uow:
        clean = await _store(uow.session, cmd.rows, replace=cmd.replace, extra_kinds=ctx.settings.extra_kinds)
        total = await Units(uow.session).count()
    silent = contacts.without_sms(clean)
    return {"imported": len(clean), "total": total, "mode": "replace" if cmd.replace else "upsert",
            "without_sms": len(silent), "without_sms_units": silent[:contacts.WITHOUT_SMS_SHOWN]}


async def publish_catalogue(cmd: PublishCatalogue, uow: UnitOfWork, ctx: Triage) -> Body:
    """Store a new catalogue version and make it the active one (valid and compiling, else 422)."""
    doc = catalogue.checked(cmd.catalogue)
    await asyncio.to_thread(catalogue.check_compiles, doc)
    async with uow:
        version = await Catalogues(uow.session).add_version(doc, note=cmd.note, created_by=actor_name(cmd.actor),
                                                            at=uow.now())
    return {"version": version, "active": True}


async def activate_catalogue(cmd: ActivateCatalogue, uow: UnitOfWork, ctx: Triage) -> Body:
    """Make an earlier version active again (roll back)."""
    async with uow:
        if not await Catalogues(uow.session).activate(cmd.version):
            raise Problem(404, f"no catalogue version {cmd.version}", type_="unknown-version")
    return {"version": cmd.version, "active": True}
