"""Which directory contact a unit's 报到 SMS goes to (pure), and that every dispatch carries the numbers of its units.

A contacts object is whatever an office imported: `{"sms": …}`, a duty landline beside a duty mobile, Chinese keys,
several numbers under one key, a number typed with spaces or +86, an email only. Only a mainland mobile takes a text.
"""

from __future__ import annotations

from typing import Any

import pytest
from triage_helpers import NOW, WORK_TEAM, catalogue, work_order

from bancheng_shared.contracts.oversight import RedoOrdered
from bancheng_shared.contracts.triage import TicketDispatched
from triage_svc.demo_directory import demo_city
from triage_svc.domain import handling, returns
from triage_svc.domain.contacts import mobile, sms_number, without_sms
from triage_svc.domain.directory import DirectoryIndex, UnitRef

NO = "BC20250303000001"


@pytest.mark.parametrize(("contacts", "number"), [
    ({"sms": "13912345678"}, "13912345678"),
    ({"phone": "138 1234 5678"}, "13812345678"),  # typed with spaces
    ({"mobile": "+86 158-0000-1111"}, "15800001111"),  # with the country code
    ({"值班手机": 18712340000}, "18712340000"),  # a number stored as a JSON number, a Chinese key
    # a duty landline cannot take a text: the duty mobile beside it does, whichever key comes first in the object
    ({"duty_phone": "0399-82345678", "sms": "13500002222"}, "13500002222"),
    ({"值班电话": "0399-82345678", "手机": "13600003333"}, "13600003333"),
    # several: the first mobile of the preferred key, landlines in the list skipped
    ({"sms": ["0399-82345678", "13700004444", "13700005555"], "mobile": "13900006666"}, "13700004444"),
    ({"phone": ["13900006666"], "sms": "13700004444"}, "13700004444"),  # `sms` is preferred to `phone`
    # none that takes a text
    ({"duty_phone": "0399-82345678"}, None),
    ({"email": "zjj@dh.gov.cn", "fax": "0399-82340000"}, None),
    ({"sms": "1234"}, None),
    ({"sms": True}, None),
    ({"sms": None, "phone": []}, None),
    ({}, None),
    (None, None),
])
def test_the_sms_number_of_a_units_contacts(contacts: dict[str, Any] | None, number: str | None) -> None:
    assert sms_number(contacts) == number


def test_what_counts_as_a_mobile() -> None:
    assert mobile("0086 13912345678") == "13912345678" and mobile("(139)1234-5678") == "13912345678"
    assert mobile("12912345678") is None and mobile("139123456789") is None and mobile(1.39e10) is None


def _directory(contacts: dict[str, dict[str, Any] | None]) -> DirectoryIndex:
    """The demo city with these units' contacts replaced."""
    return DirectoryIndex.build(UnitRef(r["code"], r["name"], r["level"], r["kind"], r["region_code"],
                                        r["parent_code"], sms_number(contacts.get(r["code"], r["contacts"])))
                                for r in demo_city())


LEAD, CO, NONE = "339901-urban_management", "339901-housing_construction", "339901-education"
DIRECTORY = _directory({LEAD: {"duty_phone": "0399-82345678", "sms": "13500002222"},
                        CO: {"值班手机": "139 0000 7777"}, NONE: {"duty_phone": "0399-82340000"}})


def test_a_manual_dispatch_carries_the_lead_and_co_units_numbers_and_none_for_a_unit_without() -> None:
    wo = work_order(state="triaged", lead_unit=None, lead_unit_name=None, route="hotline")
    out = handling.dispatch(wo, WORK_TEAM, lead_unit=LEAD, co_units=[CO, NONE],
                            reason="占道经营属城管，需住建、教育配合", ticket_no=NO, rules=catalogue().tier_rules,
                            directory=DIRECTORY, now=NOW)
    dispatched = out.events[0]
    assert isinstance(dispatched, TicketDispatched)
    assert dispatched.unit_contacts == {LEAD: "13500002222", CO: "13900007777"}  # the education bureau: none


def test_a_redo_and_an_approved_return_carry_the_numbers_of_the_units_they_go_to() -> None:
    redo = handling.redo(work_order(state="resolved", lead_unit=LEAD, co_units=[NONE]),
                         RedoOrdered(round=1, reason="回访不满意，摊位仍在", ordered_at=NOW), directory=DIRECTORY,
                         now=NOW)
    assert redo is not None
    again = [e for e in redo.events if isinstance(e, TicketDispatched)]
    assert [e.unit_contacts for e in again] == [{LEAD: "13500002222"}]
    other = "339902-market_regulation"
    approved = returns.decide_return(
        work_order(state="return_requested", return_request={"unit": "339901-market_regulation", "reason": "不属本区"}),
        WORK_TEAM, approved=True, reason="经核实商家位于西岭区", new_unit=other, co_units=[], ticket_no=NO,
        rules=catalogue().tier_rules, directory=DIRECTORY, now=NOW)
    moved = [e for e in approved.events if isinstance(e, TicketDispatched)]
    assert [e.unit_contacts for e in moved] == [{other: sms_number(
        next(r["contacts"] for r in demo_city() if r["code"] == other))}]
    assert moved[0].unit_contacts[other] is not None


def test_every_demo_unit_has_a_number_that_takes_a_text() -> None:
    city = demo_city()
    numbers = [sms_number(r["contacts"]) for r in city]
    assert all(numbers) and len(set(numbers)) > len(city) * 0.95


def test_an_old_dispatch_without_numbers_still_parses() -> None:
    old = {"lead_unit": LEAD, "lead_unit_name": "东湖区城管局", "unit_level": 2, "tier": "green", "response_level": 2,
           "dispatched_at": NOW.isoformat()}
    assert TicketDispatched.model_validate(old).unit_contacts == {}


def test_an_import_names_the_active_units_without_a_number() -> None:
    rows = [{"code": "b", "contacts": {"duty_phone": "0399-82345678"}}, {"code": "a", "contacts": None},
            {"code": "c", "contacts": {"sms": "13912345678"}}, {"code": "d", "contacts": None, "active": False}]
    assert without_sms(rows) == ["a", "b"]
