"""The console's pure parts: local dates and time left, the lights and the inbox order, sessions, the catalogue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bancheng_console import lights, timefmt
from bancheng_console.i18n import MESSAGES, pick_lang, translator
from bancheng_console.session import same_token

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
ZH, EN = translator("zh"), translator("en")


def test_dates_are_local_and_plain() -> None:
    assert timefmt.local_datetime("2026-12-11T09:30:00Z", SH, "zh", NOW) == "12月11日 17:30"
    assert timefmt.local_datetime("2027-01-04T09:30:00Z", SH, "zh", NOW) == "2027年1月4日 17:30"
    # a deadline at the end of a day is the day alone (not 23:59, not UTC's 15:59)
    assert timefmt.local_datetime("2026-12-11T15:59:59.999999Z", SH, "zh", NOW) == "12月11日"
    assert timefmt.local_date("2026-12-31T17:00:00Z", SH, "zh") == "2027年1月1日"
    assert timefmt.full_datetime("2026-12-11T09:30:00+00:00", SH, "zh") == "2026年12月11日 17:30"
    assert timefmt.local_datetime("2026-12-11T09:30:00Z", SH, "en", NOW) == "11 Dec 17:30"


def test_times_inside_service_labels_are_rewritten() -> None:
    label = "办理时限：5 个工作日，截止 2026-12-11T23:59:59.999999+08:00"
    assert timefmt.humanize(label, SH, "zh", NOW) == "办理时限：5 个工作日，截止 12月11日"
    assert timefmt.humanize("已交办至 东湖区市场监管局", SH, "zh", NOW) == "已交办至 东湖区市场监管局"


def test_time_left_and_overdue() -> None:
    assert timefmt.time_left(NOW + timedelta(days=2, hours=3, minutes=20), NOW, ZH) == ("还剩 2 天 3 小时", False)
    assert timefmt.time_left(NOW + timedelta(minutes=20), NOW, ZH) == ("还剩 20 分钟", False)
    assert timefmt.time_left(NOW - timedelta(hours=5), NOW, ZH) == ("已超时 5 小时", True)
    assert timefmt.time_left(NOW - timedelta(hours=5), NOW, EN) == ("overdue by 5 h", True)
    assert timefmt.time_left(None, NOW, ZH) == ("—", False)


def _order(no: str, tier: str, state: str = "dispatched") -> dict[str, str]:
    return {"ticket_no": no, "tier": tier, "state": state}


def _clock(no: str, due: datetime, rnd: int = 1) -> dict[str, object]:
    return {"ticket_no": no, "round": rnd, "resolve_due": due.isoformat()}


def test_inbox_puts_overdue_first_then_the_nearest_deadline_then_red() -> None:
    orders = [_order("A", "green"), _order("B", "red"), _order("C", "green"), _order("D", "yellow"),
              _order("E", "red", state="closed"), _order("F", "green")]
    clocks = [_clock("A", NOW + timedelta(days=3)), _clock("B", NOW + timedelta(days=3)),
              _clock("C", NOW - timedelta(hours=1)), _clock("D", NOW + timedelta(hours=4)),
              _clock("E", NOW - timedelta(days=9)),
              _clock("A", NOW + timedelta(days=1), rnd=2)]  # round 2 (a redo) is the one that counts
    rows = lights.inbox(orders, clocks, NOW)
    assert [r.order["ticket_no"] for r in rows] == ["C", "D", "A", "B", "F"]  # closed E left out; F has no clock
    assert rows[2].clock is not None and rows[2].clock["round"] == 2


def test_every_light_has_its_own_shape_and_word() -> None:
    assert len(set(lights.SHAPES.values())) == 3
    for tier in ("red", "yellow", "green"):
        assert ZH(f"light.{tier}").endswith("灯") and EN(f"light.{tier}") != f"light.{tier}"


def test_csrf_tokens_compare_in_constant_time_and_never_empty() -> None:
    assert same_token("a", "a") and not same_token("", "") and not same_token("a", None)


def test_the_catalogue_has_every_key_in_both_languages_and_the_templates_name_only_known_keys() -> None:
    assert MESSAGES["zh"].keys() == MESSAGES["en"].keys()
    assert pick_lang("en", "zh") == "en" and pick_lang(None, "en") == "en" and pick_lang("fr", None) == "zh"
    templates = Path(__file__).resolve().parents[1] / "src" / "bancheng_console" / "templates"
    key = re.compile(r'(?<![\w.])t\("([a-z0-9_.]*[a-z0-9_])"[,)]')
    used = {m for p in templates.glob("*.html") for m in key.findall(p.read_text("utf-8"))}
    assert used and used <= MESSAGES["zh"].keys(), used - MESSAGES["zh"].keys()
    # no Chinese text written into a template: it comes from the catalogue
    for p in templates.glob("*.html"):
        assert not re.search(r"[\u4e00-\u9fff]", p.read_text("utf-8")), p.name


def test_a_place_is_named_after_its_jurisdiction() -> None:
    from bancheng_console.views.calls import place_name

    assert place_name({"name": "东湖区城关街道办事处"}) == "东湖区城关街道"
    assert place_name({"name": "东湖区人民政府"}) == "东湖区"
    assert place_name({"name": "人民政府"}) == "人民政府"
