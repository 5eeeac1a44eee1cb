"""The `bancheng` command line: migrate and key administration against real SQLite files."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_bench_compares_sqlite_with_postgresql_when_a_server_answers() -> None:
    from bancheng_services.bench_backends import DEFAULT_POSTGRES, choose_backends
    from bancheng_services.cli import parser

    args = parser().parse_args(["bench", "--backends", "sqlite,postgresql", "--database-url", ""])
    assert args.backends == "sqlite,postgresql"
    assert choose_backends("", "", answers=lambda _t: True) == {"sqlite": "", "postgresql": DEFAULT_POSTGRES}
    assert choose_backends("", "", answers=lambda _t: False) == {"sqlite": ""}
    # --database-url alone: that backend only; with --backends it is the PostgreSQL compared with
    pg = "postgresql+asyncpg://u@db:5433/x_{service}"
    assert choose_backends("", pg, answers=lambda _t: True) == {"postgresql": pg}
    assert choose_backends("postgresql,sqlite", pg, answers=lambda _t: True) == {"postgresql": pg, "sqlite": ""}
    for wanted, error in (("postgresql", "does not answer"), ("mysql", "unknown backend")):
        try:
            choose_backends(wanted, "", answers=lambda _t: False)
        except ValueError as exc:
            assert error in str(exc)
        else:
            raise AssertionError(wanted)


def test_bench_databases_are_the_runs_own_on_postgresql() -> None:
    from bancheng_services.bench_backends import run_template

    assert run_template("") == ""
    a, b = run_template("postgresql+asyncpg://postgres@h/{service}"), run_template("postgresql+asyncpg://postgres@h/{service}")
    assert a != b and a.endswith("_{service}") and "/bench_" in a


def test_bench_prints_the_backends_side_by_side() -> None:
    from bancheng_services.bench_backends import side_by_side

    table = side_by_side({
        "accept": {"sqlite": {"accept_tickets_per_s": 1087.0, "tickets": 3000},
                   "postgresql": {"accept_tickets_per_s": 659.0, "tickets": 3000}},
        "replay.sla": {"sqlite": {"cpu_ms_per_ticket": 0.52}, "postgresql": {"cpu_ms_per_ticket": 1.39}},
    }, ["sqlite", "postgresql"]).splitlines()
    assert [c.strip() for c in table[0].strip("|").split("|")] == ["measure", "sqlite", "postgresql"]
    assert [c.strip() for c in table[2].strip("|").split("|")] == ["accept accept_tickets_per_s", "1087.0", "659.0"]
    assert [c.strip() for c in table[3].strip("|").split("|")] == ["replay.sla cpu_ms_per_ticket", "0.52", "1.39"]
    assert len(table) == 4  # only the summary measures


def test_bench_replicas_need_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    from bancheng_services.bench import main
    from bancheng_services.cli import parser

    args = parser().parse_args(["bench", "--backends", "sqlite", "--replicas", "2", "--only", "e2e"])
    assert args.replicas == 2
    assert main(args) == 2
    assert "--replicas needs PostgreSQL" in capsys.readouterr().out


def test_stacks_on_one_broker_have_their_own_consumer_groups(tmp_path: Path) -> None:
    from bancheng_services.stack import Stack

    def groups_of(prefix: str) -> set[str]:
        stack = Stack(kafka_bootstrap="127.0.0.1:1", data_dir=tmp_path, topic_prefix=prefix,
                      ports={name: 1 for name in SERVICES})
        return {stack.env_for(name)[f"{SERVICES[name]['env']}CONSUMER_GROUP_PREFIX"] for name in SERVICES}

    # a member killed -9 in one test's stack must not hold the next stack's group rebalance (it did: 4 minutes)
    assert groups_of("a.") == {"a."} and groups_of("b.") == {"b."}


def test_free_ports_are_below_the_ephemeral_range_and_never_handed_out_twice() -> None:
    import socket

    from bancheng_services.broker import _ephemeral_range, free_port

    # outgoing connections take ephemeral ports: a service's port taken from there could be lost before its bind
    low, _high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50 and all(1024 <= p < low for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[0]))  # still free to bind


async def test_bench_counts_the_cpu_of_a_postgresql_server_on_this_machine(db_backend: str, tmp_path: Path) -> None:
    import asyncpg

    from bancheng_services.bench_backends import ServerClock, postmaster_of
    from bancheng_services.testing import empty_database

    async with empty_database(db_backend, tmp_path, "servercpu") as url:
        pid = await asyncio.to_thread(postmaster_of, url)
        if db_backend == "sqlite":
            assert pid is None and (await asyncio.to_thread(ServerClock, url)).figures(1) == {}
            return
        if pid is None:
            pytest.skip("the PostgreSQL server runs outside this machine's process table (a container or host)")
        clock = await asyncio.to_thread(ServerClock, url)
        # a backend that works and exits: its time reaches the postmaster's reaped children
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            assert await conn.fetchval("SELECT count(*) FROM generate_series(1, 3000000)") == 3_000_000
        finally:
            await conn.close()
        spent = (await asyncio.to_thread(clock.figures, 1))["db_server_cpu_ms_per_ticket"]
        assert 100 <= spent < 60_000, spent  # a few hundred ms of one backend's CPU (counted once, not per process)
