"""Platforms in: their registered secrets and the signatures already seen (replays refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters.tables import platforms, seen_signatures


async def platform(session: AsyncSession, name: str, *, active_only: bool = False) -> Any:
    """A registered platform, or None."""
    q = select(platforms).where(platforms.c.name == name)
    if active_only:
        q = q.where(platforms.c.active.is_(True))
    return (await session.execute(q)).first()


async def save_platform(session: AsyncSession, name: str, values: dict[str, Any], *, exists: bool,
                        now: datetime) -> None:
    """Insert or update a platform's row."""
    if exists:
        await session.execute(update(platforms).where(platforms.c.name == name).values(**values))
    else:
        await session.execute(insert(platforms).values(name=name, created_at=now, **values))


async def remember_signature(session: AsyncSession, signature: str, *, platform_name: str, now: datetime,
                             forget_before: datetime) -> None:
    """Record a signature as used (IntegrityError when it was seen before); forget those that can never return."""
    await session.execute(insert(seen_signatures).values(signature=signature, platform=platform_name, seen_at=now))
    await session.execute(delete(seen_signatures).where(seen_signatures.c.seen_at < forget_before))


async def forget_signature(session: AsyncSession, signature: str) -> None:
    """A request that failed wrote nothing: its signature may be used again."""
    await session.execute(delete(seen_signatures).where(seen_signatures.c.signature == signature))
