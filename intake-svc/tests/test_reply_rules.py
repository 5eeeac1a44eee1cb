"""Replies reach the person (pure): which events text what to the person who asked, what the public page shows,
masking, and how a failed text is retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.sla import AlertRaised, ExtensionDecided, ExtensionRequested
from bancheng_shared.contracts.triage import (
    ProgressReported,
    ResolutionSubmitted,
    ReturnDecided,
    ReturnRequested,
    TicketAnswered,
    TicketSigned,
)
from intake_svc.domain import sms, timeline
from intake_svc.domain.public_lookup import public_view

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 10, 15, 59, 59, 999999, tzinfo=UTC)  # end of 10 December in Shanghai
NO = "BC20261203100000000ABCD"
REPLY = "已责令超市下架过期牛奶，并为您办理退款"


def env(payload: object, producer: str = "triage-svc"):  # type: ignore[no-untyped-def]
    return make_event(payload, ticket_id=NO, producer=producer, occurred_at=NOW)  # type: ignore[arg-type]


def test_the_reply_and_the_rulings_that_change_the_wait_are_texted() -> None:
    kind, text = sms.person_notice(NO, ResolutionSubmitted(unit="u", outcome="resolved", reply=REPLY,
                                                           submitted_at=NOW)) or ("", "")
    assert kind == "reply" and text == f"您的工单{NO}承办单位已办结，答复：{REPLY}。{sms.LOOK_UP}"
    kind, text = sms.person_notice(NO, ResolutionSubmitted(unit="u", outcome="unresolvable", reply="政策不允许",
                                                           submitted_at=NOW)) or ("", "")
    assert "经核实暂无法解决，答复：政策不允许" in text
    kind, text = sms.person_notice(NO, TicketAnswered(answer="社保卡可在街道办理", answered_at=NOW)) or ("", "")
    assert kind == "answered" and "社保卡可在街道办理" in text
    kind, text = sms.person_notice(NO, ReturnDecided(unit="u", approved=True, reason="非本单位职责", new_unit="v",
                                                     decided_at=NOW)) or ("", "")
    assert kind == "return_approved" and "改由其他单位承办" in text
    kind, text = sms.person_notice(NO, ExtensionDecided(request_id="r1", unit="u", days=5, approved=True,
                                                        decided_at=NOW, resolve_due=DUE)) or ("", "")
    assert kind == "extension_approved" and "延期5个工作日已获批准，办理时限延至2026年12月10日" in text
    # nothing changes for the person: no text
    for quiet in (ReturnDecided(unit="u", approved=False, reason="属本单位职责", decided_at=NOW),
                  ExtensionDecided(request_id="r1", unit="u", days=5, approved=False, decided_at=NOW),
                  ReturnRequested(unit="u", reason="x", basis="y", requested_at=NOW),
                  ExtensionRequested(request_id="r1", unit="u", days=5, reason="x", requested_at=NOW),
                  TicketSigned(unit="u", signed_at=NOW), ProgressReported(unit="u", note="在办", reported_at=NOW),
                  AlertRaised(level="reported", unit="u", raised_at=NOW)):
        assert sms.person_notice(NO, quiet) is None


def test_a_long_reply_is_cut_in_the_text_and_whole_on_the_page() -> None:
    long = "答" * 2000
    _kind, text = sms.person_notice(NO, ResolutionSubmitted(unit="u", outcome="resolved", reply=long,
                                                            submitted_at=NOW)) or ("", "")
    assert "答" * (sms.REPLY_SMS_MAX - 1) + "…" in text and len(text) < sms.REPLY_SMS_MAX + 100
    step = timeline.step_for(ResolutionSubmitted(unit="u", outcome="resolved", reply=long, submitted_at=NOW))
    assert step is not None and step.detail == {"reply": long, "outcome": "resolved"} and step.public


def test_projection_collects_the_texts_and_the_public_steps() -> None:
    payloads = [
        (ReturnDecided(unit="u", approved=False, reason="属本单位职责", decided_at=NOW), "triage-svc"),
        (ReturnDecided(unit="u", approved=True, reason="非本单位职责", new_unit="v", decided_at=NOW), "triage-svc"),
        (ExtensionDecided(request_id="r1", unit="v", days=3, approved=True, decided_at=NOW, resolve_due=DUE),
         "sla-svc"),
        (ResolutionSubmitted(unit="v", outcome="resolved", reply=REPLY, submitted_at=NOW), "triage-svc"),
    ]
    out = timeline.project([(env(p, producer), p) for p, producer in payloads])
    assert [n.kind for n in out.notices] == ["return_approved", "extension_approved", "reply"]
    assert {n.ticket_no for n in out.notices} == {NO}
    assert [(s["label"], s["public"]) for s in out.steps] == [
        ("退回申请被驳回", 0), ("原承办单位退回申请已批准，重新交办", 1),
        ("延期已批准：办理时限延长 3 个工作日，截止 2026-12-10T15:59:59.999999Z", 1), ("承办单位已办结，等待回访", 1)]
    assert out.changes[NO]["deadline"] == DUE and out.changes[NO]["status"] == "resolved"
    assert out.steps[-1]["detail"] == {"reply": REPLY, "outcome": "resolved"}


def test_the_public_view_shows_the_latest_reply_and_nobody() -> None:
    row = SimpleNamespace(ticket_no=NO, status="resolved", status_label="已办结", received_at=NOW,
                          phone_enc="secret", name_enc="secret")
    steps = [SimpleNamespace(at=NOW, label="已受理（12345热线）", detail=None),
             SimpleNamespace(at=NOW, label="已直接答复", detail={"reply": "先答复"}),
             SimpleNamespace(at=NOW, label="承办单位已办结，等待回访", detail={"reply": REPLY, "outcome": "resolved"})]
    view = public_view(row, steps)
    assert view["reply"] == REPLY and [s["reply"] for s in view["steps"]] == [None, "先答复", REPLY]
    assert set(view) == {"ticket_no", "status", "status_label", "received_at", "reply", "steps"}
    assert public_view(row, steps[:1])["reply"] is None


def test_the_number_never_appears_in_full_in_an_error() -> None:
    assert sms.redact("ConnectError: refused for 13912345678", "13912345678") == "ConnectError: refused for 139****5678"
    assert sms.redact("HTTPStatusError: 500", "13912345678") == "HTTPStatusError: 500"
    assert sms.redact("anything", None) == "anything"


def test_a_failed_text_backs_off_then_is_parked() -> None:
    assert [sms.retry_delay_s(n, base_s=30, max_s=3600) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    first = sms.after_send(attempts=1, error="boom", now=NOW, max_attempts=3, base_s=30, max_s=3600)
    assert first == {"attempts": 1, "last_error": "boom", "status": "pending",
                     "next_attempt_at": NOW + timedelta(seconds=30)}
    # equal jitter: the second wait (ceiling 60 s) lies between 30 s and 60 s, spread by the random share
    waits = [sms.after_send(attempts=2, error="boom", now=NOW, max_attempts=3, base_s=30, max_s=3600,
                            jitter=j)["next_attempt_at"] - NOW for j in (0.0, 0.5, 1.0)]
    assert waits == [timedelta(seconds=30), timedelta(seconds=45), timedelta(seconds=60)]
    last = sms.after_send(attempts=3, error="boom", now=NOW, max_attempts=3, base_s=30, max_s=3600)
    assert last["status"] == "failed" and last["next_attempt_at"] is None
    ok = sms.after_send(attempts=2, error=None, now=NOW)
    assert ok == {"status": "sent", "sent_at": NOW, "attempts": 2, "next_attempt_at": None}
