"""The ticket number (pure): BC + Shanghai time to the millisecond + 4 Crockford characters of 20 random bits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake_svc.domain.ticket_numbers import looks_like_ticket_no, new_ticket_no


def test_the_format_in_shanghai_time() -> None:
    at = datetime(2026, 11, 23, 1, 2, 3, 4567, tzinfo=UTC)  # 09:02:03.004 in Shanghai
    assert new_ticket_no(at, rnd=0) == "BC20261123090203004" + "0000"
    assert new_ticket_no(at, rnd=(1 << 20) - 1).endswith("ZZZZ")
    assert new_ticket_no(at, rnd=0b00001_00010_01010_10010).endswith("12AJ")  # Crockford: no I L O U
    # the local day turns at 16:00 UTC
    assert new_ticket_no(datetime(2026, 12, 31, 16, 0, tzinfo=UTC), rnd=0).startswith("BC20270101000000000")
    assert len(new_ticket_no(at)) == 23


def test_numbers_sort_in_the_order_of_receipt_and_differ_in_the_same_millisecond() -> None:
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    nos = [new_ticket_no(start + timedelta(milliseconds=n)) for n in range(50)]
    assert nos == sorted(nos)
    assert len({new_ticket_no(start) for _ in range(50)}) > 45  # 2^20 random suffixes


def test_a_cursor_carries_a_number_this_service_issued() -> None:
    assert looks_like_ticket_no("BC20261123090203004ABCD")
    assert not looks_like_ticket_no("XX20261123090203004ABCD") and not looks_like_ticket_no("BC" + "0" * 40)
