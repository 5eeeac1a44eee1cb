"""intake tests: one intake service on a real broker and a fresh database of each backend."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bancheng_services.testing import Databases, RunningService, run_service

sys.path.insert(0, str(Path(__file__).parent))

from hooks_support import PII_KEY


@pytest.fixture
async def intake(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake-svc alone, with a PII key and fast callback retries."""
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY, callback_poll_s=0.1, callback_backoff_base_s=0.2,
                           callback_max_attempts=3, merge_refresh_s=0.2,
                           platform_secrets={"gov-duch": "duch-secret-0123456789"}) as svc:
        yield svc
