"""Wait until a service's database is at its newest migration, then exit 0 (1 after the timeout).

A Deployment's initContainer runs this from the service's own image (which carries the migrations):
the `<service>-migrate` Job upgrades the database, the pods wait here instead of racing it, so no
replica serves with an old schema and no two replicas run Alembic at once.

    python /opt/bancheng/wait_for_migrations.py <service> [timeout seconds, default 600]

The database URL is the service's own setting, `<SERVICE>_DATABASE_URL`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bancheng_shared.db import make_engine
from bancheng_shared.migrate import alembic_config


def wanted_heads(service: str, url: str) -> set[str]:
    """The newest revisions of the service's migration history (what the image expects)."""
    return set(ScriptDirectory.from_config(alembic_config(f"{service}_svc:migrations", url)).get_heads())


async def current_heads(url: str) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    def read(conn: Connection) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    """Poll every 3 s until the database is at head; 0 when it is, 1 on timeout."""
    service = argv[0]
    timeout_s = float(argv[1]) if len(argv) > 1 else 600.0
    url = os.environ[f"{service.upper()}_DATABASE_URL"]
    wanted = wanted_heads(service, url)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = asyncio.run(current_heads(url))
            state = f"at {sorted(found) or 'no revision'}"
        except Exception as exc:  # the database may not answer yet: keep waiting, say why
            found, state = set(), f"unreachable ({type(exc).__name__}: {exc})"
        if found == wanted:
            print(f"{service}: database at {sorted(wanted)}", flush=True)
            return 0
        if time.monotonic() >= deadline:
            print(f"{service}: gave up waiting for migrations {sorted(wanted)}; database {state}", flush=True)
            return 1
        print(f"{service}: waiting for the migrate Job: database {state}, want {sorted(wanted)}", flush=True)
        time.sleep(3)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
