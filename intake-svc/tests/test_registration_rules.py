"""What a new request becomes (pure): anonymity, accepted regions, TicketReceived without PII, the SMS texts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bancheng_shared.errors import Problem
from intake_svc.domain import registration, sms
from intake_svc.domain.merging import Match
from intake_svc.models import TicketCreate

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def body(**extra: object) -> TicketCreate:
    return TicketCreate.model_validate({"channel": "hotline", "location": {"region_code": "339901001"},
                                        "content": "幸福小区门口的烧烤摊每晚油烟很大，噪音扰民到凌晨两点", **extra})


def test_anonymous_unless_a_name_phone_or_id_number_is_given() -> None:
    assert registration.is_anonymous(body())
    assert registration.is_anonymous(body(complainant={"anonymous": True}))
    assert registration.is_anonymous(body(complainant={}))
    assert not registration.is_anonymous(body(complainant={"phone": "13800138000"}))
    assert not registration.is_anonymous(body(complainant={"name": "张三"}))


def test_only_regions_of_this_platform_when_prefixes_are_set() -> None:
    registration.check_region("339901001", ["3399"])
    registration.check_region("330101", [])
    registration.check_region(None, ["3399"])
    with pytest.raises(Problem) as err:
        registration.check_region("330101001", ["3399"], "items[2].")
    assert err.value.status == 422 and err.value.extra["errors"][0]["field"] == "items[2].location.region_code"


def test_the_events_carry_no_complainant_data() -> None:
    b = body(complainant={"name": "张三", "phone": "13800138000"}, category="complaint", external_id="H-1")
    event = registration.received(b, platform=None, anonymous=False, now=NOW)
    dumped = event.model_dump_json()
    assert "13800138000" not in dumped and "张三" not in dumped
    assert (event.region_code, event.category_hint, event.external_id, event.received_at) == (
        "339901001", "complaint", "H-1", NOW)
    repeat = registration.repeated(b, Match("BC1", 0.612345, True), 2, NOW)
    assert (repeat.repeat_count, repeat.same_person, repeat.similarity) == (2, True, 0.6123)


def test_the_texts() -> None:
    assert sms.receipt_text("【办成】", "BC1", merged=False) == (
        "【办成】您的诉求已受理，工单号BC1，可凭工单号和手机后四位查询进度。")
    assert sms.receipt_text("【办成】", "BC1", merged=True).startswith("【办成】您反映的问题已并入工单BC1一并办理")
    assert sms.receipt_kind(merged=True) == "repeat_merged"
    assert sms.alert_text("【办成】", "BC1", "339901-urban_management", "东湖区城管局") == (
        "【办成】工单BC1已交办贵单位（339901-urban_management 东湖区城管局），请及时签收办理。")
    assert sms.alert_text("【办成】", "BC1", "339901-urban_management", None) == (
        "【办成】工单BC1已交办贵单位（339901-urban_management），请及时签收办理。")
    assert sms.initial_status(records_only=True) == "recorded" and sms.initial_status(records_only=False) == "pending"


def test_a_message_is_tried_five_times() -> None:
    assert sms.after_send(attempts=1, error=None, now=NOW) == {"status": "sent", "sent_at": NOW, "attempts": 1,
                                                               "next_attempt_at": None}
    assert sms.after_send(attempts=4, error="HTTP 502", now=NOW)["status"] == "pending"
    assert sms.after_send(attempts=5, error="HTTP 502", now=NOW)["status"] == "failed"
