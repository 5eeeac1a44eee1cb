"""Cross-service fixtures: the four services as real processes on SQLite, demo directory and test keys loaded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bancheng_services.broker import free_port
from bancheng_services.demo import seed_directory
from bancheng_services.stack import SERVICES, Stack, seed_keys
from bancheng_services.testing import KEY_ROWS


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def probed_stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The four services as processes, for the tests that probe every operation of every service."""
    stack = Stack(kafka_bootstrap=kafka_bootstrap, data_dir=tmp_path_factory.mktemp("probed"),
                  topic_prefix=f"p{uuid.uuid4().hex[:8]}.", partitions=3,
                  ports={name: free_port() for name in SERVICES},
                  extra_env={"{P}LOG_LEVEL": "WARNING", "{P}OUTBOX_POLL_INTERVAL_S": "0.05"})
    await stack.prepare()
    await seed_directory(stack.db_url("triage"))
    for name, spec in SERVICES.items():
        await seed_keys(stack.db_url(name), spec["module"], KEY_ROWS)
    stack.start_all()
    try:
        await stack.wait_ready(timeout_s=90)
        yield stack
    finally:
        stack.stop()

