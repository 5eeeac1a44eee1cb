"""Browser-test fixtures: the four services in-process on a real broker and real databases, the console served by
uvicorn on a free port in front of them, and Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.engine import make_url

from bancheng_console.main import create_app
from bancheng_console.settings import ConsoleSettings
from bancheng_console.testing import ConsoleStack, chromium_or_skip, serve
from bancheng_services.broker import free_port
from bancheng_services.demo import seed_directory
from bancheng_services.stack import ensure_postgres_database
from bancheng_services.testing import PG_DEFAULT, Databases, postgres_base_url, run_service


async def sessions_database(databases: Databases) -> str:
    """A fresh database for the console's sessions on the test's backend (dropped with the services' ones)."""
    if databases.backend == "sqlite":
        return f"sqlite+aiosqlite:///{databases.tmp / f'console-{uuid.uuid4().hex[:6]}.db'}"
    url = make_url(postgres_base_url() or PG_DEFAULT).set(
        database=f"bc_test_console_{uuid.uuid4().hex[:10]}").render_as_string(hide_password=False)
    await ensure_postgres_database(url)
    databases.created.append(url)
    return url


@pytest_asyncio.fixture
async def console_stack(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[ConsoleStack]:
    """Four services and the console, in this process: the console reaches the services' apps over HTTP (ASGI)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    urls = {s: await databases.new(s) for s in ("intake", "triage", "sla", "oversight")}
    await seed_directory(urls["triage"])
    async with AsyncExitStack() as stack:
        extra: dict[str, dict[str, Any]] = {"intake": {"tracking_base_url": url, "trusted_proxies": ["127.0.0.1"]}}
        svc = {s: await stack.enter_async_context(run_service(s, database_url=u, kafka_bootstrap=kafka_bootstrap,
                                                              topic_prefix=topic_prefix, **extra.get(s, {})))
               for s, u in urls.items()}
        transports = {s: httpx.ASGITransport(app=r.app, client=("127.0.0.1", 50000)) for s, r in svc.items()}
        settings = ConsoleSettings(port=port, database_url=await sessions_database(databases),
                                   session_secret="console-test-secret")
        app = create_app(settings, transports=transports)
        server, task = await serve(app, port)
        try:
            yield ConsoleStack(svc, url)
        finally:
            server.should_exit = True
            await task


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless chromium (Debian's) through Playwright."""
    path = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()
