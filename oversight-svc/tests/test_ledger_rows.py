"""What a ledger row shows (pure): local plain times, Chinese yes/no and vocabularies, masked texts, never the
informant, the file's name."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from oversight_svc.domain.ledgers import COLUMNS, file_name, headers, local_time, row_cells

TZ = ZoneInfo("Asia/Shanghai")


def test_times_are_local_wall_clock_without_offset() -> None:
    at = datetime(2025, 3, 31, 16, 30, 15, 999_000, tzinfo=UTC)
    assert local_time(at, TZ) == datetime(2025, 4, 1, 0, 30, 15)  # the next local day, to the second


def test_a_work_order_row() -> None:
    row = {"ticket_no": "T1", "round": 2, "received_at": datetime(2025, 3, 3, 1, tzinfo=UTC),
           "title": "群众刘洋反映，电话13912345678", "category": "complaint", "tier": "red", "unit": "339901-x",
           "unit_name": "东湖区市场监管局", "dispatch_day": date(2025, 3, 3), "sign_in_time": False, "overdue": True,
           "outcome": "partially_resolved", "satisfaction": "basically_satisfied", "status": "closed"}
    cells = dict(zip(headers("work-orders"), row_cells("work-orders", row, TZ), strict=True))
    assert cells["受理时间"] == datetime(2025, 3, 3, 9, 0) and cells["派单日期"] == date(2025, 3, 3)
    assert (cells["分级"], cells["诉求类别"], cells["办理结果"], cells["回访满意度"], cells["工单状态"]) == (
        "红灯", "投诉", "部分解决", "基本满意", "已关闭")
    assert (cells["按时签收"], cells["逾期"], cells["签收时间"], cells["按时办结"]) == ("否", "是", None, None)
    assert cells["标题"] == "群众刘某反映，电话[电话已隐去]"


def test_a_supervision_row_never_shows_the_informant() -> None:
    row = {"case_id": "CASE-1", "title": "王建国举报的占道经营", "sources": ["red_ticket", "hotspot"],
           "informant": "王建国 13900001111", "reply_content": "已与王建国沟通", "state": "letter_sent"}
    cells = row_cells("supervision", row, TZ)
    assert not any("王建国" in str(c) or "13900001111" in str(c) for c in cells)
    assert "informant" not in {c.key for c in COLUMNS["supervision"]}
    named = dict(zip(headers("supervision"), cells, strict=True))
    assert named["来源"] == "红灯件、热点" and named["案件状态"] == "已发督办函"
    assert named["案件标题"].startswith("王某")


def test_every_ledger_has_chinese_headers_and_a_file_name() -> None:
    for ledger, cols in COLUMNS.items():
        assert len(set(headers(ledger))) == len(cols) and all(not h.isascii() for h in headers(ledger))
    assert file_name("work-orders", date(2025, 1, 1), date(2025, 12, 31), None, "339901", "xlsx") == \
        "工单台账_2025-01-01_2025-12-31_339901.xlsx"
