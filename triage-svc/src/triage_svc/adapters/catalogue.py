"""Catalogue versions and the work team's corrections in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from triage_svc.adapters.tables import catalogue_versions, corrections
from triage_svc.domain.corrections import Correction

_INSERT_CORRECTION = insert(corrections)


class Catalogues:
    """Catalogue versions (stored ones count from 1 and never change) and corrections of one transaction."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_version(self, doc: dict[str, Any], *, note: str | None, created_by: str, at: datetime) -> int:
        """Store a new version and make it the active one; its number."""
        # two replicas numbering the same version at once: the version's primary key refuses the second
        v = int((await self.session.execute(select(func.coalesce(func.max(catalogue_versions.c.version), 0)))
                 ).scalar_one()) + 1
        await self.session.execute(update(catalogue_versions).values(active=False))
        await self.session.execute(insert(catalogue_versions).values(
            version=v, doc=doc, active=True, note=note, created_by=created_by, created_at=at))
        return v

    async def activate(self, version: int) -> bool:
        """Make a stored version the active one (0: none, the shipped one); False when it is not stored."""
        if version == 0:
            await self.session.execute(update(catalogue_versions).values(active=False))
            return True
        found = (await self.session.execute(select(catalogue_versions.c.version)
                                            .where(catalogue_versions.c.version == version))).first()
        if found is None:
            return False
        await self.session.execute(update(catalogue_versions).values(active=False))
        await self.session.execute(update(catalogue_versions).where(catalogue_versions.c.version == version)
                                   .values(active=True))
        return True

    async def add_correction(self, correction: Correction) -> None:
        """Keep a correction (the next compile of the catalogue learns from it)."""
        await self.session.execute(_INSERT_CORRECTION, vars(correction))
