"""Who is signed in: an authenticator turns a credential into an identity (API keys now, SSO later), and the
sessions keep it server-side; the browser holds only a signed, random session id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Protocol

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


class Sessions:
    """Sessions in this process's memory (the key never leaves the server); idle and absolute expiry."""

    def __init__(self, secret: str, idle_s: float, max_s: float) -> None:
        self._secret = (secret or secrets.token_urlsafe(32)).encode()
        self.idle_s = idle_s
        self.max_s = max_s
        self._by_id: dict[str, Session] = {}

    def start(self, identity: Identity) -> tuple[Session, str]:
        """A new session and the signed cookie value that names it."""
        self._sweep()
        now = time.monotonic()
        s = Session(secrets.token_urlsafe(32), identity, secrets.token_urlsafe(32), now, now)
        self._by_id[s.sid] = s
        return s, self.sign(s.sid)

    def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names (a forged, expired or ended one is None)."""
        sid = self.unsign(cookie) if cookie else None
        s = self._by_id.get(sid) if sid else None
        if s is None:
            return None
        now = time.monotonic()
        if now - s.seen > self.idle_s or now - s.created > self.max_s:
            self._by_id.pop(s.sid, None)
            return None
        s.seen = now
        return s

    def end(self, session: Session) -> None:
        """Sign out: forget the session (and with it the key)."""
        self._by_id.pop(session.sid, None)

    def sign(self, value: str) -> str:
        """`value.mac`."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str) -> str | None:
        """The value when its mac is right."""
        value, _, mac = signed.rpartition(".")
        return value if value and hmac.compare_digest(mac, self._mac(value)) else None

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._secret, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _sweep(self) -> None:
        now = time.monotonic()
        for sid in [sid for sid, s in self._by_id.items()
                    if now - s.seen > self.idle_s or now - s.created > self.max_s]:
            self._by_id.pop(sid, None)


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens (both present)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))
