"""API key administration from the command line (`python -m <service> keys ...`, `bancheng keys ...`)."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bancheng_shared.auth import Role, issue_api_key
from bancheng_shared.db import transaction
from bancheng_shared.plumbing import Plumbing


def add_actions(sub: Any) -> None:
    """Add the add | list | revoke actions to an argparse subparsers object."""
    add = sub.add_parser("add", help="create a key; the plaintext is printed once")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--unit", default=None, help="unit code (required for role unit)")
    add.add_argument("--key", default=None, help="use this plaintext (e.g. to give every service the same key)")
    sub.add_parser("list", help="list keys (never their plaintext)")
    rev = sub.add_parser("revoke", help="deactivate a key")
    rev.add_argument("key_id")


def parser() -> argparse.ArgumentParser:
    """keys add | list | revoke."""
    p = argparse.ArgumentParser(prog="keys", description="manage API keys (stored hashed)")
    add_actions(p.add_subparsers(dest="action", required=True))
    return p


async def run(args: argparse.Namespace, sm: async_sessionmaker[AsyncSession], plumbing: Plumbing) -> Any:
    """Carry out a parsed keys command against one service database."""
    t = plumbing.api_keys
    async with transaction(sm) as session:
        if args.action == "add":
            return await issue_api_key(session, plumbing, name=args.name, role=args.role, unit_code=args.unit,
                                       plaintext=args.key)
        if args.action == "list":
            rows = (await session.execute(select(t.c.key_id, t.c.name, t.c.role, t.c.unit_code, t.c.active,
                                                 t.c.created_at).order_by(t.c.created_at))).all()
            return [dict(r._mapping) for r in rows]
        res = await session.execute(update(t).where(t.c.key_id == args.key_id).values(active=False))
        return res.rowcount  # type: ignore[attr-defined]
