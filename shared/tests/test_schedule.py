"""The retry schedule of effects (exponential backoff, capped, equal jitter) and the periods of periodic jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bancheng_shared.schedule import backoff_s, jittered_s, period_of


def test_the_wait_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_s(n, 30.0, 3600.0) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert backoff_s(0, 30.0, 3600.0) == 30.0  # no failure counted yet: the base
    assert backoff_s(10_000, 2.0, 3600.0) == 3600.0  # no overflow however many failures


def test_equal_jitter_keeps_half_the_wait_and_spreads_the_other_half() -> None:
    assert jittered_s(3, 2.0, 3600.0, 0.0) == 4.0
    assert jittered_s(3, 2.0, 3600.0, 0.5) == 6.0
    assert jittered_s(3, 2.0, 3600.0, 1.0) == 8.0
    assert jittered_s(3, 2.0, 3600.0, 7.0) == 8.0  # a jitter outside [0, 1] is clamped
    assert jittered_s(30, 2.0, 60.0, 1.0) == 60.0  # the cap bounds the jittered wait too


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0.01, max_value=100),
       st.floats(min_value=0.01, max_value=86400), st.floats(min_value=0, max_value=1))
def test_a_jittered_wait_is_between_half_the_ceiling_and_the_ceiling(n: int, base: float, cap: float,
                                                                    jitter: float) -> None:
    ceiling = backoff_s(n, base, cap)
    assert ceiling <= max(cap, base) and ceiling >= min(base, cap)
    assert ceiling / 2 <= jittered_s(n, base, cap, jitter) <= ceiling
    assert backoff_s(n + 1, base, cap) >= ceiling  # never shorter after one more failure


def test_a_period_starts_on_its_boundary_and_every_instant_in_it_has_the_same_one() -> None:
    start = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    assert period_of(start, 300) == start
    assert period_of(start + timedelta(seconds=299.9), 300) == start
    assert period_of(start + timedelta(seconds=300), 300) == start + timedelta(seconds=300)
    assert period_of(start + timedelta(seconds=1.25), 0.5) == start + timedelta(seconds=1)
