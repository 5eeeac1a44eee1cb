"""API keys (hashed at rest, a role and optionally a unit scope) and the dependency every route uses."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bancheng_shared.plumbing import Plumbing
from bancheng_shared.principal import PII_ROLES, Principal, Role
from bancheng_shared.problems import Problem

__all__ = ["PII_ROLES", "ApiKeyStore", "Principal", "Role", "hash_key", "issue_api_key", "new_key", "require"]


def hash_key(plaintext: str) -> str:
    """SHA-256 of a key; keys are 256-bit random, so a slow hash adds nothing."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh (key_id, plaintext) pair; the plaintext is shown once and never stored."""
    key_id = secrets.token_hex(6)
    return key_id, f"bc_{key_id}_{secrets.token_urlsafe(32)}"


async def issue_api_key(
    session: AsyncSession,
    plumbing: Plumbing,
    *,
    name: str,
    role: Role | str,
    unit_code: str | None = None,
    plaintext: str | None = None,
) -> str:
    """Store a key's hash with its role and scope; returns the plaintext (given or generated)."""
    role = Role(role)
    if role == Role.unit and not unit_code:
        raise ValueError("a unit key needs a unit_code")
    if plaintext is None:
        key_id, plaintext = new_key()
    else:
        key_id = hash_key("id:" + plaintext)[:12]
    await session.execute(
        insert(plumbing.api_keys).values(
            key_id=key_id,
            key_hash=hash_key(plaintext),
            name=name,
            role=role.value,
            unit_code=unit_code,
            active=True,
            created_at=datetime.now(UTC),
        )
    )
    return plaintext


class ApiKeyStore:
    """Looks keys up by hash, with a short cache so the hot path does not hit the DB per request."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], plumbing: Plumbing,
                 cache_s: float = 30.0) -> None:
        self.sm = sessionmaker
        self.p = plumbing
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._revocations_checked = -1e9
        self._revoked = -1
        t = plumbing.api_keys
        self._count_revoked = select(func.count()).select_from(t).where(t.c.active.is_(False))

    async def _notice_revocations(self, now: float) -> None:
        """At most once a second: when the number of revoked keys changed, forget every cached lookup."""
        self._revocations_checked = now
        async with self.sm() as session:
            revoked = int((await session.execute(self._count_revoked)).scalar_one())
        if revoked != self._revoked:
            self._cache.clear()
            self._revoked = revoked

    async def lookup(self, plaintext: str) -> Principal | None:
        """The principal of an active key, or None (a key revoked in any process stops within a second)."""
        h = hash_key(plaintext)
        now = time.monotonic()
        if now - self._revocations_checked >= 1.0:
            await self._notice_revocations(now)
        hit = self._cache.get(h)
        if hit and now - hit[0] < self.cache_s:
            return hit[1]
        async with self.sm() as session:
            row = (
                await session.execute(select(self.p.api_keys).where(self.p.api_keys.c.key_hash == h))
            ).first()
        principal = (
            Principal(key_id=row.key_id, name=row.name, role=Role(row.role), unit_code=row.unit_code)
            if row is not None and row.active
            else None
        )
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[h] = (now, principal)
        return principal


def _credential(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


# Documented in OpenAPI (Swagger's Authorize button, every protected operation's `security`); the dependency below
# reads the headers itself so that a missing key is our 401 problem, not FastAPI's.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="API 密钥 / API key: `Authorization: Bearer <key>`")
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                              description="或 / or: `X-API-Key: <key>`")
# what an operation that checks the key itself (not through `require`) declares: `openapi_extra={"security": ...}`
KEY_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller must present a valid key with one of the roles (admin always passes)."""
    allowed = frozenset(roles)

    async def dependency(request: Request, _bearer: Annotated[Any, Depends(BEARER)] = None,
                         _header: Annotated[Any, Depends(API_KEY_HEADER)] = None) -> Principal:
        key = _credential(request)
        if key is None:
            raise Problem(401, "a credential is required: send 'Authorization: Bearer <api key>'",
                          type_="unauthenticated")
        store: ApiKeyStore = request.app.state.api_keys
        principal = await store.lookup(key)
        if principal is None:
            raise Problem(401, "the API key is unknown or revoked", type_="unauthenticated")
        if allowed and principal.role not in allowed and principal.role != Role.admin:
            raise Problem(
                403,
                f"role {principal.role.value!r} may not do this; allowed: "
                + ", ".join(sorted(r.value for r in allowed)),
                type_="forbidden",
            )
        request.state.principal = principal
        return principal

    return dependency
