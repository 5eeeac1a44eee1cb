"""Runs the four services as separate processes (for `bancheng up`, the cross-service tests and benchmarks)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bancheng_services.broker import free_port
from bancheng_shared.db import make_engine, make_sessionmaker, transaction
from bancheng_shared.kafka import ensure_topics
from bancheng_shared.migrate import upgrade
from bancheng_shared.plumbing import Plumbing
from bancheng_shared.topics import all_broker_topics

SERVICES: dict[str, dict[str, str]] = {
    "intake": {"module": "intake_svc", "env": "INTAKE_", "migrations": "intake_svc:migrations"},
    "triage": {"module": "triage_svc", "env": "TRIAGE_", "migrations": "triage_svc:migrations"},
    "sla": {"module": "sla_svc", "env": "SLA_", "migrations": "sla_svc:migrations"},
    "oversight": {"module": "oversight_svc", "env": "OVERSIGHT_", "migrations": "oversight_svc:migrations"},
}
DEFAULT_PORTS = {"intake": 8001, "triage": 8002, "sla": 8003, "oversight": 8004, "console": 8005}
CONSOLE_MODULE = "bancheng_console"  # the web console: one more client of the four services' APIs, no data


def database_url(template: str, service: str, data_dir: Path) -> str:
    """A service's database URL from a template with {service}; default: a SQLite file in data_dir."""
    if not template:
        return f"sqlite+aiosqlite:///{(data_dir / f'{service}.db').resolve()}"
    return template.replace("{service}", service)


async def ensure_postgres_database(url: str) -> None:
    """Create a PostgreSQL database if it does not exist yet (no-op for SQLite)."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        return
    admin = create_async_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = (await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                         {"n": u.database})).scalar()
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    finally:
        await admin.dispose()


async def drop_postgres_database(url: str) -> None:
    """Drop a PostgreSQL database (tests clean up after themselves)."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        return
    admin = create_async_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@dataclass
class ServiceProcess:
    """One service process and how to reach it."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0  # starts again after its port was taken
    log_from: int = 0  # where this start's output begins in the log

    def output(self) -> str:
        """What this start of the process has written to its log."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_from)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """The four services, each its own process and database, on one broker."""

    kafka_bootstrap: str
    data_dir: Path
    db_template: str = ""
    topic_prefix: str = ""
    partitions: int = 12
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    console: bool = False  # start the web console too (`bancheng up`); tracking links then point to its page
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    def db_url(self, service: str) -> str:
        """The database URL of a service."""
        return database_url(self.db_template, service, self.data_dir)

    def pii_key_file(self) -> Path:
        """intake's key ring for complainant data: made once (mode 0600) and kept, so a restart reads what it wrote.

        One line `<key id>:<base64 of 32 random bytes>`; rotation adds a line on top (see intake's README).
        """
        path = self.data_dir / "secrets" / "intake-pii.keys"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            line = f"k{time.strftime('%Y%m%d')}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}\n"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(line)
        return path

    async def prepare(self) -> None:
        """Create databases, run migrations, create topics, make intake's key ring (once)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not (os.environ.get("INTAKE_PII_KEY_FILE") or os.environ.get("INTAKE_PII_KEYS")):
            self.pii_key_file()
        for name, spec in SERVICES.items():
            url = self.db_url(name)
            await ensure_postgres_database(url)
            await asyncio.to_thread(upgrade, spec["migrations"], url)
        await ensure_topics(self.kafka_bootstrap, all_broker_topics(self.topic_prefix), self.partitions)

    def console_url(self) -> str:
        """Where the console answers."""
        return f"http://127.0.0.1:{self.ports['console']}"

    def console_env(self) -> dict[str, str]:
        """Environment of the console process: the services' addresses."""
        env = {**os.environ, "CONSOLE_HOST": "127.0.0.1", "CONSOLE_PORT": str(self.ports["console"]),
               "PYTHONUNBUFFERED": "1"}
        env.update({f"CONSOLE_{name.upper()}_URL": f"http://127.0.0.1:{self.ports[name]}" for name in SERVICES})
        return env

    def env_for(self, name: str) -> dict[str, str]:
        """Environment of a service process."""
        if name == "console":
            return self.console_env()
        p = SERVICES[name]["env"]
        env = {
            **os.environ,
            f"{p}DATABASE_URL": self.db_url(name),
            f"{p}KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            f"{p}TOPIC_PREFIX": self.topic_prefix,
            # stacks sharing a broker (the test session's) must not share consumer groups: a member killed -9 in
            # one stack would hold the next stack's rebalance until the coordinator gives it up
            f"{p}CONSUMER_GROUP_PREFIX": self.topic_prefix,
            f"{p}TOPIC_PARTITIONS": str(self.partitions),
            f"{p}PORT": str(self.ports[name]),
            f"{p}HOST": "127.0.0.1",
            f"{p}PUBLIC_BASE_URL": f"http://127.0.0.1:{self.ports[name]}",
            "PYTHONUNBUFFERED": "1",
        }
        if name == "intake" and not (env.get("INTAKE_PII_KEY_FILE") or env.get("INTAKE_PII_KEYS")):
            env["INTAKE_PII_KEY_FILE"] = str(self.pii_key_file())
        if name == "intake" and self.console:
            # the links people are given open the console's page, which forwards each person's address
            env.setdefault("INTAKE_TRACKING_BASE_URL", self.console_url())
            env.setdefault("INTAKE_TRUSTED_PROXIES", '["127.0.0.1"]')
        env.update({k.replace("{P}", p): v for k, v in self.extra_env.items()})
        return env

    def start(self, name: str, restarts: int = 0) -> ServiceProcess:
        """Start (or restart) one service process; `intake#2` is a second replica (own port, same database)."""
        service = replica_of(name)
        env = self.env_for(service)
        if name != service:  # a further replica: the same database and topics, its own port
            port = self.ports.setdefault(name, free_port())
            p = SERVICES[service]["env"]
            env.update({f"{p}PORT": str(port), f"{p}PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"})
        sp = ServiceProcess(name, self.ports[name], env, self.data_dir / "logs" / f"{name}.log", restarts=restarts)
        sp.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(sp.log_path, "ab") as out:
            sp.log_from = out.tell()
            module = SERVICES[service]["module"] if service in SERVICES else CONSOLE_MODULE
            sp.proc = subprocess.Popen([sys.executable, "-m", module], env=sp.env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = sp
        return sp

    def start_all(self) -> None:
        """Start every service (and the console when asked for)."""
        for name in SERVICES:
            self.start(name)
        if self.console:
            self.start("console")

    async def wait_ready(self, names: list[str] | None = None, timeout_s: float = 60.0) -> None:
        """Wait until each service answers /readyz with 200."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            for name in names or list(self.procs):
                sp = self.procs[name]
                while True:
                    exited = sp.proc.poll() if sp.proc is not None else None
                    if exited is not None:
                        if sp.restarts < 3 and "address already in use" in sp.output():
                            # its port was taken between free_port() and its bind: start it on another
                            self.ports[name] = free_port()
                            sp = self.start(name, restarts=sp.restarts + 1)
                            continue
                        raise RuntimeError(f"{name} exited with {exited}; see {sp.log_path}")
                    try:
                        r = await client.get(f"{sp.url}/readyz")
                        if r.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} not ready after {timeout_s}s; see {sp.log_path}")
                    await asyncio.sleep(0.2)

    def kill(self, name: str) -> None:
        """kill -9 one service."""
        sp = self.procs[name]
        if sp.proc is not None and sp.proc.poll() is None:
            os.killpg(sp.proc.pid, signal.SIGKILL)
            sp.proc.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every service gracefully (SIGTERM, then SIGKILL)."""
        for sp in self.procs.values():
            if sp.proc is not None and sp.proc.poll() is None:
                os.killpg(sp.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for sp in self.procs.values():
            if sp.proc is None:
                continue
            try:
                sp.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(sp.proc.pid, signal.SIGKILL)
                sp.proc.wait()


def replica_of(name: str) -> str:
    """The service a process name runs: `sla#2` → `sla`."""
    return name.split("#", 1)[0]


def plumbing_of(module: str) -> Plumbing:
    """A service's plumbing tables (every service declares its tables in `<package>.adapters.tables`)."""
    import importlib

    tables = importlib.import_module(f"{module}.adapters.tables")
    plumbing: Plumbing = tables.plumbing
    return plumbing


async def seed_keys(url: str, module: str, keys: list[dict[str, str | None]]) -> None:
    """Store API keys in one service's database unless they exist (idempotent)."""
    from sqlalchemy import select

    from bancheng_shared.auth import hash_key, issue_api_key

    plumbing = plumbing_of(module)
    engine = make_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            for k in keys:
                plaintext = str(k["key"])
                exists = (await session.execute(select(plumbing.api_keys.c.key_id)
                                                .where(plumbing.api_keys.c.key_hash == hash_key(plaintext)))).first()
                if exists is None:
                    await issue_api_key(session, plumbing, name=str(k["name"]), role=str(k["role"]),
                                        unit_code=k.get("unit"), plaintext=plaintext)
    finally:
        await engine.dispose()
