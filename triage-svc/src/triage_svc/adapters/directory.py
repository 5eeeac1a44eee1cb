"""The org directory in the database: lookups for an import, the write of an import, the generation counter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from triage_svc.adapters.tables import meta, units

_CHUNK = 500  # codes per IN list
_INSERT_CHUNK = 2000  # rows per INSERT


class Units:
    """The directory's units of one transaction."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def levels(self, codes: list[str]) -> dict[str, int]:
        """The level of each of these codes the directory holds."""
        found: dict[str, int] = {}
        for start in range(0, len(codes), _CHUNK):
            res = await self.session.execute(select(units.c.code, units.c.level)
                                             .where(units.c.code.in_(codes[start: start + _CHUNK])))
            found.update({r.code: r.level for r in res})
        return found

    async def write(self, rows: list[dict[str, Any]], *, replace: bool) -> None:
        """Store validated rows: replacing the whole directory, or each unit by its code; the generation moves
        on, so every replica rebuilds its index."""
        if replace:
            await self.session.execute(units.delete())
        else:
            codes = [r["code"] for r in rows]
            for start in range(0, len(codes), _CHUNK):
                await self.session.execute(units.delete().where(units.c.code.in_(codes[start: start + _CHUNK])))
        for start in range(0, len(rows), _INSERT_CHUNK):
            await self.session.execute(insert(units), rows[start: start + _INSERT_CHUNK])
        await self._bump("directory_generation")

    async def count(self) -> int:
        """How many units the directory holds."""
        return int((await self.session.execute(select(func.count()).select_from(units))).scalar_one())

    async def _bump(self, key: str) -> int:
        cur = (await self.session.execute(select(meta.c.value).where(meta.c.key == key).with_for_update())
               ).scalar_one_or_none()
        if cur is None:
            await self.session.execute(insert(meta).values(key=key, value=1))
            return 1
        await self.session.execute(update(meta).where(meta.c.key == key).values(value=cur + 1))
        return int(cur) + 1
