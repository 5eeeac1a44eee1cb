"""The bench's backends: which databases a run compares (SQLite files, a PostgreSQL server), the CPU a PostgreSQL
server on this machine spends, and the table that puts their figures side by side."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bancheng_services.stack import SERVICES
from bancheng_shared.db import is_sqlite


def run_template(template: str) -> str:
    """A URL template whose PostgreSQL databases are this run's own (a unique name per service): a database left
    from an earlier run holds rows a fresh key ring cannot read, and figures on a grown database are not a fresh
    stack's. SQLite ("": files in the run's temporary directory) is returned as it is."""
    if not template or is_sqlite(template.replace("{service}", "x")):
        return template
    return template.replace("{service}", f"bench_{uuid.uuid4().hex[:8]}_{{service}}")


DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/{service}"
BACKENDS = ("sqlite", "postgresql")


def postgres_template(database_url: str = "") -> str:
    """The PostgreSQL server the bench compares with: --database-url when it is one, else
    BANCHENG_BENCH_POSTGRES_URL, else the local server (a URL template with {service})."""
    if database_url and not is_sqlite(database_url.replace("{service}", "x")):
        return database_url
    return os.environ.get("BANCHENG_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES


def server_answers(template: str, timeout_s: float = 1.0) -> bool:
    """Whether something accepts connections at the template's host and port."""
    u = make_url(template.replace("{service}", "x"))
    try:
        with socket.create_connection((u.host or "127.0.0.1", u.port or 5432), timeout=timeout_s):
            return True
    except OSError:
        return False


def choose_backends(wanted: str, database_url: str, answers: Any = server_answers) -> dict[str, str]:
    """Backend name -> URL template ("" for SQLite files) from --backends and --database-url.

    No --backends: SQLite, and PostgreSQL too when its server answers (`answers(template)`); with only
    --database-url, that one backend. A named backend that cannot be reached is an error (ValueError)."""
    pg = postgres_template(database_url)
    if not wanted:
        if database_url:
            return {"sqlite" if is_sqlite(database_url.replace("{service}", "x")) else "postgresql": database_url}
        return {"sqlite": "", **({"postgresql": pg} if answers(pg) else {})}
    chosen: dict[str, str] = {}
    for name in (w.strip().lower() for w in wanted.split(",") if w.strip()):
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}: choose from {', '.join(BACKENDS)}")
        if name == "postgresql" and not answers(pg):
            raise ValueError(f"PostgreSQL does not answer at {make_url(pg.replace('{service}', 'x')).host}; "
                             "set BANCHENG_BENCH_POSTGRES_URL or --database-url")
        chosen[name] = pg if name == "postgresql" else ""
    return chosen


def _stat(pid: int | str) -> list[str]:
    """A process's /proc stat fields after its name (state first; [] when it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


async def _parent_of_backend(url: str) -> str | None:
    """The parent pid of this connection's backend, read while it lives (None: not in this machine's /proc)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            fields = _stat(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            return fields[1] if fields else None
    finally:
        await engine.dispose()


def postmaster_of(url: str) -> int | None:
    """The pid of the PostgreSQL server at `url` when it runs on this machine (seen in /proc), else None."""
    if is_sqlite(url):
        return None
    parent = asyncio.run(_parent_of_backend(url))
    try:
        return int(parent) if parent and Path(f"/proc/{parent}/comm").read_text().strip() == "postgres" else None
    except OSError:
        return None


def server_cpu_seconds(postmaster: int) -> float:
    """CPU seconds the server has spent so far: the postmaster, the children it has and those it has reaped (a
    connection's backend leaves its time to the postmaster when it exits)."""
    tick = os.sysconf("SC_CLK_TCK")
    own = _stat(postmaster)
    total = sum(int(x) for x in own[11:15]) if own else 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields and fields[1] == str(postmaster):
                total += int(fields[11]) + int(fields[12])
    return total / tick


class ServerClock:
    """The CPU a PostgreSQL server on this machine spends from `start` on, above its idle rate (`idle` measures it
    over a quiet span first); no figures for SQLite or a server elsewhere."""

    def __init__(self, url: str) -> None:
        self.pid = postmaster_of(url)
        self.idle_rate = 0.0
        self.start()

    def _cpu(self) -> float:
        return server_cpu_seconds(self.pid) if self.pid else 0.0

    def start(self) -> None:
        """Count from now."""
        self.t0, self.cpu0 = time.monotonic(), self._cpu()

    def idle(self) -> None:
        """Take the rate since `start` as the idle rate (nothing was asked of the stack), and start again."""
        self.idle_rate = (self._cpu() - self.cpu0) / max(1e-6, time.monotonic() - self.t0)
        self.start()

    def figures(self, tickets: int, until: float | None = None) -> dict[str, float]:
        """{"db_server_cpu_ms_per_ticket": …} since `start` (until the monotonic time `until`, default now)."""
        if not self.pid:
            return {}
        span = (until or time.monotonic()) - self.t0
        spent = self._cpu() - self.cpu0 - self.idle_rate * span
        return {"db_server_cpu_ms_per_ticket": round(spent * 1000 / max(1, tickets), 2)}


# what the side-by-side table shows of each part (the full figures are printed above it)
SUMMARY = {
    "e2e": ["accept_tickets_per_s", "accept_request_p50_ms", "accept_request_p99_ms", "e2e_completed",
            "e2e_tickets_per_s", "e2e_lag_p50_s", "e2e_lag_p99_s",
            *(f"cpu_ms_per_ticket_{s}" for s in SERVICES), "db_server_cpu_ms_per_ticket", "machine_cpu_ms_per_ticket",
            *(f"db_kb_per_ticket_{s}" for s in SERVICES), *(f"db_kb_per_ticket_{s}_outbox" for s in SERVICES)],
    "accept": ["accept_tickets_per_s", "intake_cpu_ms_per_ticket", "db_server_cpu_ms_per_ticket", "request_p50_ms",
               "request_p99_ms"],
    "replay": ["cpu_ms_per_ticket", "wall_s"],
}


def side_by_side(results: dict[str, dict[str, dict[str, Any]]], backends: list[str]) -> str:
    """A Markdown table, one row per measure and one column per backend: part -> backend -> figures."""
    rows = [["measure", *backends], ["---", *("---:" for _ in backends)]]
    for part, by_backend in results.items():
        for measure in SUMMARY.get(part.split(".", 1)[0], []):
            if any(measure in by_backend.get(b, {}) for b in backends):
                rows.append([f"{part} {measure}", *(str(by_backend.get(b, {}).get(measure, "")) for b in backends)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows)
