"""Process improvement, pure: the suggestion's state machine (raised → adopted / not_adopted, once), its due date on
the calendar in force (National Day 2025 with its 调休 Saturday; a year not loaded is refused, never guessed),
overdue derived from the due time, the answer's required fields and scope, the per-department tally."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bancheng_shared.calendar import seed_years
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from oversight_svc.domain import suggestions
from oversight_svc.domain.calendar import CalendarInForce, in_force

TZ = ZoneInfo("Asia/Shanghai")
CAL = CalendarInForce(in_force(seed_years([2025, 2026]), []))
DEPT = "141000-natural_resources"  # 临汾市不动产登记 (a natural-resources unit)
WORK_TEAM = Principal("k1", "办不成事窗口工作专班", Role.work_team)
DEPT_KEY = Principal("k2", "市自然资源和规划局", Role.unit, DEPT)
OTHER_KEY = Principal("k3", "市市场监管局", Role.unit, "141000-market_regulation")


def local(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, tzinfo=TZ).astimezone(UTC)


def raised(now: datetime, **over: object) -> suggestions.NewSuggestion:
    args: dict[str, object] = {
        "source": "window_visit", "source_ref": "临汾市政务服务中心办不成事窗口登记簿 2025-0931",
        "source_known": True, "target": "certificate", "item": "无犯罪记录证明",
        "evidence": "办理不动产登记要求提供的“无犯罪记录证明”实无必要：登记条例未作要求，窗口可内部核验。",
        "department": DEPT, "department_known": True, "who": WORK_TEAM, "now": now, "working_days": 10,
        "calendar": CAL, "tz": TZ}
    args.update(over)
    return suggestions.raise_suggestion(**args)  # type: ignore[arg-type]


def stored(new: suggestions.NewSuggestion) -> SimpleNamespace:
    return SimpleNamespace(**new.row)


def test_due_ten_working_days_later_across_national_day() -> None:
    # raised Tuesday 30 September 2025: 1–8 October are off, Saturday 11 October is a working day (调休)
    new = raised(local(2025, 9, 30))
    assert new.row["due_at"] == datetime(2025, 10, 21, 23, 59, 59, tzinfo=TZ).astimezone(UTC)
    assert new.row["status"] == "raised" and new.event.due_at == new.row["due_at"]
    assert new.event.department == DEPT and new.event.item == "无犯罪记录证明"
    assert not hasattr(new.event, "evidence")  # the text a person wrote stays in oversight
    # the local day counts: 23:30 on Monday 3 March in Shanghai is still 3 March (15:30 UTC)
    late_evening = datetime(2025, 3, 3, 15, 30, tzinfo=UTC)
    assert suggestions.due_at(late_evening, working_days=10, calendar=CAL, tz=TZ).astimezone(TZ).date() == \
        date(2025, 3, 17)


def test_a_year_not_loaded_is_refused_not_guessed() -> None:
    assert not seed_years([2027]), "chinesecalendar now knows 2027: use a year it does not know"
    with pytest.raises(Problem) as exc:
        raised(local(2026, 12, 24))  # 10 working days from Christmas Eve 2026 run into 2027
    assert exc.value.status == 422 and exc.value.type_ == "unknown-calendar-year"
    assert "2027" in exc.value.detail and "due_at" in exc.value.detail


def test_the_state_machine_answers_once() -> None:
    assert suggestions.allowed_actions("raised") == ["answer"]
    assert suggestions.allowed_actions("adopted") == suggestions.allowed_actions("not_adopted") == []
    assert suggestions.next_state("raised", "answer", "adopted") == "adopted"
    assert suggestions.next_state("raised", "answer", "not_adopted") == "not_adopted"
    for state in ("adopted", "not_adopted"):
        with pytest.raises(Problem) as exc:
            suggestions.next_state(state, "answer", "adopted")
        assert exc.value.status == 409 and exc.value.type_ == "invalid-transition"
        assert exc.value.extra == {"state": state, "allowed_actions": []}


def test_adopted_names_the_change_and_not_adopted_the_reason() -> None:
    s = stored(raised(local(2025, 9, 30)))
    now = local(2025, 10, 15)
    out = suggestions.answer(s, who=DEPT_KEY, decision="adopted", now=now, reason=None,
                             change="自2025年11月1日起不动产登记不再要求提供无犯罪记录证明，改为部门间核验",
                             effective_date=date(2025, 11, 1))
    assert out.values["status"] == "adopted" and out.values["late"] is False
    assert out.event.decision == "adopted" and out.event.effective_date == date(2025, 11, 1)
    no = suggestions.answer(s, who=DEPT_KEY, decision="not_adopted", change=None, effective_date=None, now=now,
                            reason="该证明为《不动产登记暂行条例实施细则》规定的必要材料，暂不能取消")
    assert no.values["status"] == "not_adopted" and no.values["reason"].startswith("该证明")
    for kwargs, field in (({"decision": "adopted", "change": " ", "reason": None}, "change"),
                          ({"decision": "adopted", "change": "取消", "reason": "x"}, "reason"),
                          ({"decision": "not_adopted", "change": None, "reason": ""}, "reason"),
                          ({"decision": "not_adopted", "change": "取消", "reason": "理由"}, "change")):
        with pytest.raises(Problem) as exc:
            suggestions.answer(s, who=DEPT_KEY, effective_date=None, now=now, **kwargs)  # type: ignore[arg-type]
        assert exc.value.status == 422 and exc.value.detail.startswith(f"{field}:")
    with pytest.raises(Problem) as exc:
        suggestions.answer(s, who=DEPT_KEY, decision="not_adopted", change=None, effective_date=date(2025, 11, 1),
                           reason="理由", now=now)
    assert exc.value.detail.startswith("effective_date:")


def test_only_the_addressed_department_answers_and_another_unit_learns_nothing() -> None:
    s = stored(raised(local(2025, 9, 30)))
    with pytest.raises(Problem) as exc:
        suggestions.answer(s, who=OTHER_KEY, decision="adopted", change="取消", effective_date=None, reason=None,
                           now=local(2025, 10, 9))
    assert exc.value.status == 404 and exc.value.type_ == "unknown-suggestion"
    with pytest.raises(Problem) as exc:
        suggestions.answer(s, who=WORK_TEAM, decision="adopted", change="取消", effective_date=None, reason=None,
                           now=local(2025, 10, 9))
    assert exc.value.status == 403


def test_overdue_is_derived_and_a_late_answer_is_kept() -> None:
    s = stored(raised(local(2025, 9, 30)))
    assert not suggestions.is_overdue("raised", s.due_at, s.due_at)
    assert suggestions.is_overdue("raised", s.due_at, s.due_at + timedelta(seconds=1))
    assert not suggestions.is_overdue("adopted", s.due_at, s.due_at + timedelta(days=30))
    out = suggestions.answer(s, who=DEPT_KEY, decision="not_adopted", change=None, effective_date=None,
                             reason="需报省厅统一调整", now=s.due_at + timedelta(hours=10))
    assert out.values["late"] is True and out.event.late is True


def test_the_source_and_the_department_must_be_known() -> None:
    now = local(2025, 3, 3)
    for over, field, type_ in (
            ({"source": "ticket", "source_ref": "BC2025030309000000ABCD", "source_known": False}, "source_ref",
             "unknown-ticket"),
            ({"source": "case", "source_ref": "CASE-0123456789ab", "source_known": False}, "source_ref",
             "unknown-case"),
            ({"source_ref": "  "}, "source_ref", "validation"),
            ({"department_known": False}, "department", "validation"),
            ({"evidence": " \n"}, "evidence", "validation")):
        with pytest.raises(Problem) as exc:
            raised(now, **over)
        assert exc.value.status == 422 and exc.value.type_ == type_ and exc.value.detail.startswith(f"{field}:")
    # a window visit is only its reference: nothing to look up
    assert raised(now, source_known=False).row["source"] == "window_visit"


def test_tally_per_department() -> None:
    groups = [(DEPT, "raised", True, False, 2), (DEPT, "raised", False, False, 1), (DEPT, "adopted", False, True, 1),
              (DEPT, "adopted", True, False, 2), (DEPT, "not_adopted", False, False, 1),
              ("141000-market_regulation", "raised", False, False, 1)]
    rows = suggestions.tally(groups)
    assert [r["department"] for r in rows] == ["141000-market_regulation", DEPT]
    d = rows[1]
    assert (d["raised"], d["open"], d["overdue"], d["answered"], d["answered_late"], d["adopted"],
            d["not_adopted"]) == (7, 3, 2, 4, 1, 3, 1)
    assert d["adoption_rate"] == 0.75 and rows[0]["adoption_rate"] is None
    t = suggestions.totals(rows)
    assert (t["raised"], t["open"], t["overdue"], t["adopted"], t["adoption_rate"]) == (8, 4, 2, 3, 0.75)
