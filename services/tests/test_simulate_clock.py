"""The shared simulated clock: settable, frozen or running; refused together with the production setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bancheng_shared.settings import ServiceSettings
from bancheng_shared.unit_of_work import SimulatedClock


def test_simulated_time_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="production"):
        ServiceSettings(production=True, simulated_time_allowed=True)
    assert ServiceSettings(production=True).simulated_time_allowed is False
    assert ServiceSettings(simulated_time_allowed=True).production is False


def test_the_clock_is_real_until_set_then_frozen_or_running() -> None:
    clock = SimulatedClock()
    assert not clock.simulated and abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
    at = datetime(2026, 10, 12, 9, tzinfo=timezone(timedelta(hours=8)))
    clock.set(at)
    assert clock.simulated and clock.now() == at and clock.now().tzinfo == UTC
    clock.set(at, running=True)
    assert timedelta(0) <= clock.now() - at < timedelta(seconds=5)
    clock.set(None)
    assert not clock.simulated
