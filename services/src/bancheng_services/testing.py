"""pytest fixtures shared by every test suite: a real broker per session, fresh databases per test,
services in-process (httpx against the ASGI app, with their relay and consumers running)."""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bancheng_services.broker import EmbeddedBroker, free_port
from bancheng_services.demo import seed_directory
from bancheng_services.stack import SERVICES, Stack, drop_postgres_database, ensure_postgres_database, seed_keys
from bancheng_shared.kafka import ensure_topics
from bancheng_shared.migrate import upgrade
from bancheng_shared.runtime import Runtime
from bancheng_shared.topics import all_broker_topics

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TEST_UNIT = "339901-market_regulation"
OTHER_UNIT = "339902-market_regulation"

# plaintext keys every test service knows
KEYS: dict[str, str] = {
    "admin": "test-admin-key",
    "operator": "test-operator-key",
    "frontend": "test-frontend-key",
    "platform": "test-platform-key",
    "work_team": "test-workteam-key",
    "unit": "test-unit-key",
    "other_unit": "test-other-unit-key",
    "inspector": "test-inspector-key",
    "supervision_office": "test-supervision-key",
    "business_environment": "test-bizenv-key",
    "leader": "test-leader-key",
}
KEY_ROWS: list[dict[str, str | None]] = [
    {"name": f"test {name}", "role": "unit" if name == "other_unit" else name,
     "unit": TEST_UNIT if name == "unit" else OTHER_UNIT if name == "other_unit" else None, "key": key}
    for name, key in KEYS.items()
]


def auth(who: str) -> dict[str, str]:
    """Authorization header of a test key by role name."""
    return {"Authorization": f"Bearer {KEYS[who]}"}


def postgres_base_url() -> str | None:
    """The PostgreSQL server tests may use, or None when unreachable."""
    url = os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)
    u = make_url(url)
    try:
        with socket.create_connection((u.host or "127.0.0.1", u.port or 5432), timeout=1):
            return url
    except OSError:
        return None


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker for the whole session (embedded tansu, or TEST_KAFKA_BOOTSTRAP)."""
    external = os.environ.get("TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
async def topic_prefix(kafka_bootstrap: str) -> str:
    """Fresh topics for one test (created explicitly, few partitions for speed)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, all_broker_topics(prefix), partitions=3)
    return prefix


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL (skipped with a reason when PostgreSQL is unreachable)."""
    if request.param == "postgresql" and postgres_base_url() is None:
        if os.environ.get("BANCHENG_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (BANCHENG_REQUIRE_POSTGRES) but 127.0.0.1:5432 is unreachable")
        pytest.skip("PostgreSQL unreachable at TEST_DATABASE_URL / 127.0.0.1:5432")
    return str(request.param)


def fresh_database_url(backend: str, tmp: Path, name: str) -> str:
    """The URL of a database nobody used yet: a SQLite file under `tmp`, or a new PostgreSQL database name."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
    base = make_url(postgres_base_url() or PG_DEFAULT)
    return base.set(database=f"bc_test_{name}_{uuid.uuid4().hex[:10]}").render_as_string(hide_password=False)


@asynccontextmanager
async def empty_database(backend: str, tmp: Path, name: str) -> AsyncIterator[str]:
    """A fresh, empty database on the backend for one test (the test creates its tables); dropped afterwards."""
    url = fresh_database_url(backend, tmp, name)
    await ensure_postgres_database(url)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@dataclass
class Databases:
    """Creates fresh databases for a test and drops them afterwards."""

    backend: str
    tmp: Path
    created: list[str]

    async def new(self, service: str) -> str:
        """A fresh, migrated database URL for a service."""
        url = fresh_database_url(self.backend, self.tmp, service)
        if self.backend != "sqlite":
            await ensure_postgres_database(url)
            self.created.append(url)
        await asyncio.to_thread(upgrade, SERVICES[service]["migrations"], url)
        await seed_keys(url, SERVICES[service]["module"], KEY_ROWS)
        return url


@pytest.fixture
async def databases(db_backend: str, tmp_path: Path) -> AsyncIterator[Databases]:
    """Fresh databases on the test's backend, dropped afterwards."""
    dbs = Databases(db_backend, tmp_path, [])
    try:
        yield dbs
    finally:
        for url in dbs.created:
            try:
                await drop_postgres_database(url)
            except Exception:
                pass


@dataclass
class RunningService:
    """A service app running in-process: an HTTP client, its runtime and settings."""

    name: str
    client: httpx.AsyncClient
    runtime: Runtime
    app: Any

    @property
    def settings(self) -> Any:
        """The service's settings."""
        return self.runtime.settings


@asynccontextmanager
async def run_service(
    name: str, *, database_url: str, kafka_bootstrap: str, topic_prefix: str, **overrides: Any
) -> AsyncIterator[RunningService]:
    """Start one service's app in-process (lifespan: relay and consumers run) with an httpx client."""
    module = SERVICES[name]["module"]
    main = importlib.import_module(f"{module}.main")
    settings_mod = importlib.import_module(f"{module}.settings")
    settings_cls = next(getattr(settings_mod, n) for n in dir(settings_mod)
                        if n.endswith("Settings") and n != "ServiceSettings")
    if name == "intake" and not ({"pii_keys", "pii_key_file"} & overrides.keys()):
        # a test without a key ring of its own encrypts with a key that lives as long as the process
        overrides.setdefault("pii_ephemeral_key_allowed", True)
    settings = settings_cls(database_url=database_url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                            consumer_group_prefix=topic_prefix, topic_partitions=3,
                            outbox_poll_interval_s=0.05, broker_epoch_check_s=3600,
                            **{"consumer_session_timeout_ms": 3000, "consumer_heartbeat_ms": 300, **overrides})
    app = main.create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield RunningService(name, client, app.state.runtime, app)


async def eventually(check: Any, timeout_s: float = 20.0, interval_s: float = 0.1) -> Any:
    """Await `check()` until it returns a truthy value (or raise AssertionError with the last value)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}")
        await asyncio.sleep(interval_s)


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition (None when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


# the processes of a test system notice a dead consumer and a new outbox row quickly
SYSTEM_ENV = {"{P}CONSUMER_SESSION_TIMEOUT_MS": "3000", "{P}CONSUMER_HEARTBEAT_MS": "300",
              "{P}OUTBOX_POLL_INTERVAL_S": "0.05", "{P}LOG_LEVEL": "WARNING"}


def postgres_template(name: str) -> str:
    """A URL template with {service} for fresh PostgreSQL databases of one test system (`bc_<name>_<id>_<svc>`)."""
    base = make_url(postgres_base_url() or PG_DEFAULT)
    return base.set(database=f"bc_{name}_{uuid.uuid4().hex[:8]}_{{service}}").render_as_string(
        hide_password=False).replace("%7B", "{").replace("%7D", "}")


@asynccontextmanager
async def running_system(kafka_bootstrap: str, data_dir: Path, db_template: str = "", *, topic_prefix: str = "",
                         partitions: int = 3, replicas: int = 1, extra_env: dict[str, str] | None = None,
                         ready_timeout_s: float = 120) -> AsyncIterator[Stack]:
    """The four services as processes (`replicas` of each) on fresh databases, the demo directory and the test keys
    loaded; stopped and their PostgreSQL databases dropped afterwards."""
    stack = Stack(kafka_bootstrap=kafka_bootstrap, data_dir=data_dir, db_template=db_template,
                  topic_prefix=topic_prefix, partitions=partitions, ports={name: free_port() for name in SERVICES},
                  extra_env={**SYSTEM_ENV, **(extra_env or {})})
    try:
        await stack.prepare()
        await seed_directory(stack.db_url("triage"))
        for name, spec in SERVICES.items():
            await seed_keys(stack.db_url(name), spec["module"], KEY_ROWS)
        for name in SERVICES:
            stack.start(name)
            for i in range(2, replicas + 1):
                stack.start(f"{name}#{i}")
        await stack.wait_ready(timeout_s=ready_timeout_s)
        yield stack
    finally:
        stack.stop()
        if db_template:
            for name in SERVICES:
                await drop_postgres_database(stack.db_url(name))
