"""Once per key (pure): a repeated Idempotency-Key or channel id replays the first answer; a different body is 409."""

from __future__ import annotations

import pytest

from bancheng_shared.errors import Problem
from intake_svc.domain.idempotency import Earlier, fingerprint, keys_of, plan

BODY = {"channel": "mailbox", "content": "信箱来信：某小区停车难问题", "external_id": "MB-77"}


def test_keys_and_fingerprints() -> None:
    assert keys_of(caller="op1", idempotency_key="k-1", channel="mailbox", source="", external_id="MB-77") == [
        ("key", "op1", "k-1"), ("channel", "mailbox", "", "MB-77")]
    assert keys_of(caller="op1", idempotency_key=None, channel="hotline", source="", external_id=None) == []
    assert fingerprint(BODY, None) == fingerprint(dict(reversed(BODY.items())), None)  # key order does not matter
    assert fingerprint(BODY, None) != fingerprint({**BODY, "title": "改了"}, None)
    assert fingerprint(BODY, None) != fingerprint(BODY, "gov-duch")


def test_an_earlier_submission_replays_or_conflicts() -> None:
    k = [[("key", "op1", "k-1")], [("channel", "mailbox", "", "MB-77")], []]
    fps = ["a", "b", "c"]
    p = plan(k, fps, {0: Earlier("BC1", "a")})
    assert (p.replays, p.repeats_of, p.new) == ([0], {}, [1, 2])
    with pytest.raises(Problem) as err:
        plan(k, fps, {1: Earlier("BC2", "other body")})
    assert err.value.status == 409 and err.value.type_ == "idempotency-conflict"
    assert err.value.extra == {"ticket_no": "BC2"} and not err.value.detail.startswith("items")
    with pytest.raises(Problem) as err:
        plan(k, fps, {1: Earlier("BC2", "other body")}, positions=True)
    assert err.value.detail.startswith("items[1]: ")


def test_a_key_twice_in_one_group_answers_the_first_or_conflicts() -> None:
    k = [[("channel", "mailbox", "", "MB-10")], [("key", "op1", "x")], [("channel", "mailbox", "", "MB-10")]]
    p = plan(k, ["a", "b", "a"], {})
    assert (p.replays, p.repeats_of, p.new) == ([], {2: 0}, [0, 1])
    with pytest.raises(Problem) as err:
        plan(k, ["a", "b", "different"], {}, positions=True)
    assert err.value.status == 409 and err.value.detail == (
        "items[2]: the same Idempotency-Key or channel id comes twice with different bodies")
