"""The `bancheng` command line: migrate and key administration against real SQLite files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bancheng_services.stack import SERVICES, plumbing_of
from bancheng_shared.auth import ApiKeyStore, Role
from bancheng_shared.db import make_engine, make_sessionmaker


def bancheng(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "bancheng_services.cli", *args], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


async def test_a_key_added_once_works_on_every_service_and_revoking_it_stops_it(tmp_path: Path) -> None:
    data = str(tmp_path)
    bancheng("migrate", "--data-dir", data)
    out = bancheng("keys", "--data-dir", data, "add", "--name", "东湖区市场监管局", "--role", "unit",
                   "--unit", "339901-market_regulation")
    plaintext = out.strip().rsplit(" ", 1)[-1]
    assert plaintext.startswith("bc_")

    for name, spec in SERVICES.items():
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}")
        principal = await ApiKeyStore(make_sessionmaker(engine), plumbing_of(spec["module"]),
                                      cache_s=0).lookup(plaintext)
        assert principal is not None and principal.role == Role.unit
        assert principal.unit_code == "339901-market_regulation"
        await engine.dispose()
    listing = bancheng("keys", "--data-dir", data, "list")
    assert plaintext not in listing  # only hashes are stored, the plaintext is never shown again
    key_id = principal.key_id
    bancheng("keys", "--data-dir", data, "revoke", key_id)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}")
    from intake_svc.adapters.tables import plumbing

    assert await ApiKeyStore(make_sessionmaker(engine), plumbing, cache_s=0).lookup(plaintext) is None
    await engine.dispose()
