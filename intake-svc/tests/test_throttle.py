"""How often a ticket's proof may be tried (domain.throttle, adapters.throttle): counted in the database before the
proof is checked, per source address and per ticket; a guesser is stopped, the person who asked is not."""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hooks_support import PII_KEY
from intake_helpers import ticket

from bancheng_services.testing import Databases, RunningService, auth, run_service
from intake_svc.domain import throttle
from intake_svc.domain.throttle import Counter, ThrottlePolicy

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
P = ThrottlePolicy()  # the seed: 10 failures per address per 600 s; per ticket: slow after 10, last four off at 100


def _fail(src: Counter, tck: Counter | None, at: datetime, *, by_last4: bool = True) -> tuple[Counter, Counter | None]:
    v = throttle.reserve(src, tck, now=at, policy=P, by_last4=by_last4)
    assert v.refused is None, v.refused
    return v.source, v.ticket


def test_ten_failures_from_one_address_then_429_with_a_block_that_doubles() -> None:
    # tries on tickets nobody else guesses at (each its own ticket: one failure per ticket)
    src, tck = Counter(), None
    for n in range(10):
        src, _ = _fail(src, Counter(), T0 + timedelta(seconds=n))
    v = throttle.reserve(src, tck, now=T0 + timedelta(seconds=10), policy=P, by_last4=True)
    assert v.refused is not None and v.refused.status == 429 and v.refused.type_ == "throttled"
    assert v.refused.extra["retry_after"] == 600
    blocked = v.source
    assert blocked.strikes == 1 and blocked.blocked_until == T0 + timedelta(seconds=610)
    # still blocked a minute later: the wait left, counted nothing more
    later = throttle.reserve(blocked, tck, now=T0 + timedelta(seconds=70), policy=P, by_last4=True)
    assert later.refused is not None and later.refused.extra["retry_after"] == 540 and later.source == blocked
    # after the block: ten more tries, then a block twice as long
    src = blocked
    for n in range(10):
        src, _ = _fail(src, Counter(), T0 + timedelta(seconds=611 + n))
    again = throttle.reserve(src, tck, now=T0 + timedelta(seconds=625), policy=P, by_last4=True)
    assert again.refused is not None and again.refused.extra["retry_after"] == 1200 and again.source.strikes == 2


def test_a_proof_that_holds_gives_its_try_back() -> None:
    src, tck = Counter(), Counter()
    for n in range(9):
        src, tck = _fail(src, tck, T0 + timedelta(seconds=n))
    v = throttle.reserve(src, tck, now=T0 + timedelta(seconds=9), policy=P, by_last4=True)
    assert v.refused is None and (v.source_held, v.ticket_held) == (1, 1)
    src, tck = throttle.release(v.source, v.source_held), throttle.release(v.ticket, v.ticket_held)  # type: ignore[arg-type]
    assert (src.failures, tck.failures) == (9, 9)


def test_a_ticket_many_addresses_guess_at_gives_each_one_try_but_opens_for_the_right_proof() -> None:
    tck: Counter | None = Counter()
    for n in range(10):  # ten addresses, one wrong guess each: the ticket is now guessed at
        _src, tck = _fail(Counter(), tck, T0 + timedelta(seconds=n))
    assert tck is not None and tck.failures == 10
    # an eleventh address: its one try holds its whole allowance, so a failure blocks it at its next try
    v = throttle.reserve(Counter(), tck, now=T0 + timedelta(seconds=11), policy=P, by_last4=True)
    assert v.refused is None and v.source.failures == 10 and v.source_held == 10
    nxt = throttle.reserve(v.source, v.ticket, now=T0 + timedelta(seconds=12), policy=P, by_last4=True)
    assert nxt.refused is not None and nxt.refused.status == 429
    # the right proof from such an address gets in and gives everything back
    assert throttle.release(v.source, v.source_held).failures == 0


def test_after_100_failures_a_ticket_takes_only_its_token_for_the_day() -> None:
    tck = Counter(100, T0)
    v = throttle.reserve(Counter(), tck, now=T0 + timedelta(hours=1), policy=P, by_last4=True)
    assert v.refused is not None and v.refused.extra["retry_after"] == 23 * 3600 and "token" in v.refused.detail
    assert throttle.reserve(Counter(), tck, now=T0 + timedelta(hours=1), policy=P, by_last4=False).refused is None
    assert throttle.reserve(Counter(), tck, now=T0 + timedelta(days=1), policy=P, by_last4=True).refused is None


def test_a_window_ends_and_old_blocks_are_forgotten() -> None:
    src = Counter(7, T0)
    v = throttle.reserve(src, None, now=T0 + timedelta(seconds=601), policy=P, by_last4=False)
    assert v.source.failures == 1 and v.source.window_start == T0 + timedelta(seconds=601)
    old_block = Counter(0, T0, T0 + timedelta(seconds=600), strikes=3)
    v = throttle.reserve(old_block, None, now=T0 + timedelta(days=2), policy=P, by_last4=False)
    assert v.source.strikes == 0


# ------------------------------------------------------------------ the service, on both databases


@asynccontextmanager
async def _intake(url: str, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY) as svc:
        yield svc


@asynccontextmanager
async def _from(svc: RunningService, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from another address."""
    transport = httpx.ASGITransport(app=svc.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_400_concurrent_wrong_guesses_are_counted_before_they_are_checked(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("intake")
    async with _intake(url, kafka_bootstrap, topic_prefix) as svc:
        r = await svc.client.post("/v1/tickets", json=ticket("楼下餐馆油烟直排", "13700001234"),
                                  headers=auth("operator"))
        no = r.json()["ticket_no"]
        answers = await asyncio.gather(*(svc.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "0000"})
                                         for _ in range(400)))
        codes = Tally(a.status_code for a in answers)
        assert set(codes) <= {404, 429} and codes[404] <= 10 and codes[429] >= 390, codes
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["type"].endswith("throttled") and refused.json()["retry_after"] > 0
        # the guesser is stopped, even with the right digits
        assert (await svc.client.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1234"})).status_code == 429
        # the person who asked, from another address, gets in
        async with _from(svc, "10.1.2.3") as person:
            ok = await person.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1234"})
            assert ok.status_code == 200 and ok.json()["ticket_no"] == no
            # and their right proof did not count against them
            for _ in range(3):
                assert (await person.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1234"})).status_code == 200
    # the counters are in the database: a restarted service (or another replica) still refuses the guesser
    async with _intake(url, kafka_bootstrap, topic_prefix) as again:
        assert (await again.client.get(f"/v1/public/tickets/{no}",
                                       params={"phone_last4": "1234"})).status_code == 429
        async with _from(again, "10.1.2.3") as person:
            assert (await person.get(f"/v1/public/tickets/{no}", params={"phone_last4": "1234"})).status_code == 200


async def test_follow_ups_from_front_ends_are_throttled_the_same_way(intake: RunningService) -> None:
    r = await intake.client.post("/v1/tickets", json=ticket("小区供暖温度不达标", "13700005678", channel="web"),
                                 headers=auth("frontend"))
    no = r.json()["ticket_no"]
    wrong = {"content": "补充", "phone_last4": "0000"}
    answers = await asyncio.gather(*(intake.client.post(f"/v1/tickets/{no}/follow-ups", json=wrong,
                                                        headers=auth("frontend")) for _ in range(60)))
    codes = Tally(a.status_code for a in answers)
    assert set(codes) <= {404, 429} and codes[404] <= 10 and codes[429] >= 50, codes
    assert next(a for a in answers if a.status_code == 429).json()["retry_after"] > 0
    async with _from(intake, "10.9.8.7") as person:
        ok = await person.post(f"/v1/tickets/{no}/follow-ups", json={"content": "室温只有12度", "phone_last4": "5678"},
                               headers=auth("frontend"))
        assert ok.status_code == 201 and ok.json()["follow_ups"] == 1
    # operators need no proof and are not throttled
    op = await intake.client.post(f"/v1/tickets/{no}/follow-ups", json={"content": "来电补充"},
                                  headers=auth("operator"))
    assert op.status_code == 201


async def test_tokens_alone_are_throttled_per_address(intake: RunningService) -> None:
    codes = Tally()
    for n in range(12):
        codes[(await intake.client.get(f"/v1/public/track/not-a-token-{n}")).status_code] += 1
    assert codes == {404: 10, 429: 2}


@pytest.mark.parametrize("policy_window", [600.0])
def test_policy_from_settings(policy_window: float) -> None:
    from intake_svc.context import throttle_policy
    from intake_svc.settings import IntakeSettings

    p = throttle_policy(IntakeSettings(public_lookup_window_s=policy_window, public_lookup_ticket_slow_after=5))
    assert p.window_s == policy_window and p.ticket_slow_after == 5 and p.source_max_failures == 10


async def test_behind_a_trusted_proxy_each_person_is_counted_and_the_links_point_to_the_console(
        databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY, trusted_proxies=["10.9.9.9"],
                           tracking_base_url="https://12345.example.gov.cn/console/") as svc:
        r = await svc.client.post("/v1/tickets", json=ticket("小区电梯困人后物业迟迟不到场", "13600004321"),
                                  headers=auth("operator"))
        no, token = r.json()["ticket_no"], r.json()["tracking_token"]
        assert r.json()["tracking_url"] == f"https://12345.example.gov.cn/console/track/{no}?token={token}"
        async with _from(svc, "10.9.9.9") as console:
            guesser = {"X-Forwarded-For": "203.0.113.7"}
            for n in range(10):
                assert (await console.get(f"/v1/public/tickets/BC2026NOPE{n}", params={"phone_last4": "0000"},
                                          headers=guesser)).status_code == 404
            stopped = await console.get(f"/v1/public/tickets/{no}", params={"token": token}, headers=guesser)
            assert stopped.status_code == 429
            # another person behind the same console is not stopped by the guesser
            last_hop = await console.get(f"/v1/public/tickets/{no}", params={"token": token},
                                         headers={"X-Forwarded-For": "198.51.100.4"})
            assert last_hop.status_code == 200 and last_hop.json()["ticket_no"] == no
        # a caller that is not a trusted proxy cannot choose its address with the header
        async with _from(svc, "10.1.1.1") as direct:
            for n in range(10):
                assert (await direct.get(f"/v1/public/tickets/BC2026NOPE{n}", params={"phone_last4": "0000"},
                                         headers={"X-Forwarded-For": f"192.0.2.{n}"})).status_code == 404
            assert (await direct.get(f"/v1/public/tickets/{no}", params={"token": token},
                                     headers={"X-Forwarded-For": "192.0.2.200"})).status_code == 429
