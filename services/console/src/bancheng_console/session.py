"""Who is signed in: an authenticator turns a credential into an identity (API keys now, SSO later), and the
sessions keep it server-side in a table the console's replicas share; the browser holds only a signed, random
session id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bancheng_console.api import Api, ApiError

SESSION_COOKIE = "bc_session"
PRE_CSRF_COOKIE = "bc_csrf"  # the sign-in form's double-submit token (there is no session yet)


@dataclass(frozen=True)
class Identity:
    """A signed-in user: a role, a unit for unit users, and the credential the console calls the APIs with."""

    role: str
    unit: str | None
    name: str
    credential: str = field(repr=False)
    unit_name: str | None = None


class Authenticator(Protocol):
    """Turns what the user presents into an identity (None: refused). SSO becomes a second implementation."""

    async def authenticate(self, credential: str) -> Identity | None:
        """The identity behind a credential, or None."""
        ...


class ApiKeyAuthenticator:
    """Verifies an API key against the services' `GET /v1/me` (role and unit; nothing secret comes back)."""

    def __init__(self, api: Api, service: str = "intake") -> None:
        self.api = api
        self.service = service

    async def authenticate(self, credential: str) -> Identity | None:
        """The key's role and unit, or None when the service does not know it (401)."""
        try:
            me = await self.api.get(self.service, "/v1/me", key=credential)
        except ApiError as exc:
            if exc.status in (401, 403):
                return None
            raise
        return Identity(role=me["role"], unit=me.get("unit"), name=me.get("name", ""), credential=credential)


@dataclass
class Session:
    """One signed-in browser: its identity and its CSRF token (a synchronizer token)."""

    sid: str
    identity: Identity
    csrf: str
    created: float
    seen: float


METADATA = MetaData()
# the only table the console has: who is signed in (no business data). The id is stored hashed (a copy of the table
# names no live session) and the API key encrypted (a copy of the table holds no usable key without the secret).
SESSIONS = Table(
    "console_sessions", METADATA,
    Column("id_hash", String(64), primary_key=True),
    Column("role", String(40), nullable=False),
    Column("unit", String(40)),
    Column("unit_name", String(200)),
    Column("name", String(200), nullable=False, default=""),
    Column("credential", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("seen", Float, nullable=False),
    Column("expires", Float, nullable=False, index=True),
)
SEEN_EVERY_S = 60.0  # the idle clock is written at most once a minute per session (not on every page)


def _derived(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose from the console's secret (cookie signing, credential encryption, CSRF tokens)."""
    return hmac.new(secret, f"bancheng-console/{purpose}".encode(), hashlib.sha256).digest()


def secret_for(url: str, configured: str) -> str:
    """The sessions' secret: the one configured; else, next to a SQLite file, one made once and kept there (so a
    restart keeps everyone signed in); a shared database without a configured secret is refused (replicas must
    agree on it)."""
    if configured:
        return configured
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise RuntimeError("set CONSOLE_SESSION_SECRET: the replicas sharing the sessions' database need the same one")
    if not parsed.database or parsed.database == ":memory:":
        return secrets.token_urlsafe(32)
    path = Path(parsed.database).with_suffix(".secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        made = secrets.token_urlsafe(32)
        f.write(made)
    return made


def engine_for(url: str) -> AsyncEngine:
    """The sessions' database (a SQLite file's folder is made when missing)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(url, pool_pre_ping=parsed.get_backend_name() != "sqlite")


class Sessions:
    """Sessions in a table the console's replicas share (SQLite by default, PostgreSQL for several replicas): the
    cookie holds a signed random id, the row its hash, the API key encrypted with the console's secret; idle and
    absolute expiry; sign-out deletes the row."""

    def __init__(self, engine: AsyncEngine, secret: str, idle_s: float, max_s: float) -> None:
        raw = secret.encode()
        self._sign_key = _derived(raw, "cookie")
        self._csrf_key = _derived(raw, "csrf")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derived(raw, "credential")))
        self.engine = engine
        self.idle_s = idle_s
        self.max_s = max_s

    async def create_table(self) -> None:
        """Make the sessions table when it is not there yet (the console's only state; no migrations needed)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(METADATA.create_all)

    async def start(self, identity: Identity) -> tuple[Session, str]:
        """A new session and the signed cookie value that names it (expired sessions are swept first)."""
        now = time.time()
        sid = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(delete(SESSIONS).where(SESSIONS.c.expires < now))
            await conn.execute(insert(SESSIONS).values(
                id_hash=_hash(sid), role=identity.role, unit=identity.unit, unit_name=identity.unit_name,
                name=identity.name, credential=self._fernet.encrypt(identity.credential.encode()).decode(),
                created=now, seen=now, expires=min(now + self.idle_s, now + self.max_s)))
        return Session(sid, identity, self._csrf(sid), now, now), self.sign(sid)

    async def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names (a forged, expired or ended one is None)."""
        sid = self.unsign(cookie) if cookie else None
        if not sid:
            return None
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(SESSIONS).where(SESSIONS.c.id_hash == _hash(sid)))).first()
        if row is None:
            return None
        now = time.time()
        if now - row.seen > self.idle_s or now - row.created > self.max_s:
            await self._delete(sid)
            return None
        try:
            credential = self._fernet.decrypt(row.credential.encode()).decode()
        except InvalidToken:  # written under another secret: the session cannot be used
            return None
        if now - row.seen > SEEN_EVERY_S:
            async with self.engine.begin() as conn:
                await conn.execute(update(SESSIONS).where(SESSIONS.c.id_hash == _hash(sid)).values(
                    seen=now, expires=min(now + self.idle_s, row.created + self.max_s)))
        identity = Identity(role=row.role, unit=row.unit, name=row.name, credential=credential,
                            unit_name=row.unit_name)
        return Session(sid, identity, self._csrf(sid), row.created, now)

    async def end(self, session: Session) -> None:
        """Sign out: delete the session (and with it the key)."""
        await self._delete(session.sid)

    async def _delete(self, sid: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(SESSIONS).where(SESSIONS.c.id_hash == _hash(sid)))

    def _csrf(self, sid: str) -> str:
        """The session's CSRF token, derived from its id (every replica computes the same; nothing stored)."""
        digest = hmac.new(self._csrf_key, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, value: str) -> str:
        """`value.mac`."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str) -> str | None:
        """The value when its mac is right."""
        value, _, mac = signed.rpartition(".")
        return value if value and hmac.compare_digest(mac, self._mac(value)) else None

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._sign_key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _hash(sid: str) -> str:
    """What the table keeps of a session id."""
    return hashlib.sha256(sid.encode()).hexdigest()


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens (both present)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))
