"""A tiny simulation through four real service processes on a real broker: the scorecard's bookkeeping holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from bancheng_services.broker import free_port
from bancheng_services.simulate.driver import Driver
from bancheng_services.simulate.generator import generate
from bancheng_services.simulate.run import SIM_ENV, prepared, score
from bancheng_services.stack import SERVICES, Stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim_stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The four services as processes with simulated time allowed, the demo directory and the simulation's keys."""
    stack = Stack(kafka_bootstrap=kafka_bootstrap, data_dir=Path(tmp_path_factory.mktemp("simulate")),
                  topic_prefix=f"s{uuid.uuid4().hex[:8]}.", partitions=3,
                  ports={name: free_port() for name in SERVICES},
                  extra_env={**SIM_ENV, "{P}OUTBOX_POLL_INTERVAL_S": "0.05"})
    await prepared(stack)
    stack.start_all()
    try:
        await stack.wait_ready(timeout_s=90)
        yield stack
    finally:
        stack.stop()


async def test_a_tiny_simulation_loses_and_doubles_nothing(sim_stack: Stack) -> None:
    items = generate(40, seed=3)
    played = await Driver({n: sp.url for n, sp in sim_stack.procs.items()}, seed=3).run(items)
    card = score(items, played)
    f = card.figures
    assert f["items"] == len(items)
    assert f["observed"] == len(items), f  # every item got a ticket number back
    assert f["lost"] == 0 and f["doubled"] == 0, f
    assert f["own_tickets"] + sum(o.merged for o in played.observed.values()) == len(items)
    assert played.tickets_seen == f["own_tickets"]
    assert f["deadlines_checked"] > 0 and f["deadlines_differing"] == 0
    assert played.log and any(e["what"] == "visit" for e in played.log)
    # oversight's three rates per unit are the ones computed from what the simulation did (redo rounds included)
    assert f["rates_differing_from_log"] == 0, [r for r in card.rates if not r["same"]]
    # every service follows the simulated clock: its time is the last one the driver set
    async with httpx.AsyncClient() as client:
        for name, sp in sim_stack.procs.items():
            r = await client.get(f"{sp.url}/v1/clock", headers=Driver({}).auth("work_team"))
            assert r.status_code == 200, (name, r.text)
            assert r.json()["simulated"] is True, name
            assert r.json()["now"].startswith("2026-10-"), (name, r.json())
