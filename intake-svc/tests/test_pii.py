"""PII rules (pure): who sees complainant data in full, masking, the informant of a 举报 withheld from units."""

from __future__ import annotations

import pytest

from bancheng_shared.principal import Role
from intake_svc.domain.pii import (
    INFORMANT_WITHHELD,
    Disclosure,
    complainant_view,
    disclosure,
    is_report,
    mask_id,
    mask_name,
    mask_phone,
    repeat_phone,
)
from intake_svc.domain.timeline import STATUS_LABELS

PERSON = {"name": "王五", "phone": "13512345678", "id_number": "11010519491231002X"}


@pytest.mark.parametrize("role", [Role.admin, Role.operator, Role.work_team, Role.inspector])
def test_these_roles_see_it_in_full_and_every_field_shown_is_audited(role: Role) -> None:
    shown = disclosure(role, anonymous=False, enterprise=False, report=True)
    assert shown == Disclosure.full
    view, fields = complainant_view(shown, anonymous=False, enterprise=None, **PERSON)
    assert view["phone"] == "13512345678" and view["masked"] is False
    assert fields == ["name", "phone", "id_number"]


@pytest.mark.parametrize("role", [Role.supervision_office, Role.business_environment, Role.leader, Role.unit])
def test_everyone_else_sees_it_masked_and_nothing_is_audited(role: Role) -> None:
    shown = disclosure(role, anonymous=False, enterprise=False, report=False)
    assert shown == Disclosure.masked
    view, fields = complainant_view(shown, anonymous=False, enterprise=None, **PERSON)
    assert (view["name"], view["phone"], view["id_number"]) == ("王*", "135****5678", "1101**********002X")
    assert fields == []


def test_a_report_never_shows_its_informant_to_a_unit() -> None:
    assert is_report("report", None) and is_report(None, "report") and not is_report("complaint", "complaint")
    shown = disclosure(Role.unit, anonymous=False, enterprise=True, report=True)
    assert shown == Disclosure.withheld
    assert complainant_view(shown, anonymous=False, enterprise={"name": "某公司"}, **PERSON) == (
        {"hidden": True, "reason": INFORMANT_WITHHELD}, [])
    # the repeats' phones too: withheld from the unit, full (and audited) for an operator, masked otherwise
    assert repeat_phone(Role.unit, "13612345678", report=True) == (None, False)
    assert repeat_phone(Role.unit, "13612345678", report=False) == ("136****5678", False)
    assert repeat_phone(Role.operator, "13612345678", report=True) == ("13612345678", True)
    assert repeat_phone(Role.operator, None, report=True) == (None, False)


def test_anonymous_shows_nothing_unless_an_enterprise_asked() -> None:
    assert disclosure(Role.operator, anonymous=True, enterprise=False, report=False) == Disclosure.anonymous
    assert complainant_view(Disclosure.anonymous, anonymous=True, name=None, phone=None, id_number=None,
                            enterprise=None) == ({"anonymous": True}, [])
    shown = disclosure(Role.leader, anonymous=True, enterprise=True, report=False)
    view, _ = complainant_view(shown, anonymous=True, name=None, phone=None, id_number=None,
                               enterprise={"name": "某某有限公司", "credit_code": "91350100M000100Y43"})
    assert view["enterprise"]["name"] == "某某有限公司" and view["anonymous"] is True


def test_masks() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("010-62345678") == "010*****5678"
    assert mask_phone("1234567") == "*******" and mask_phone(None) is None
    assert mask_id("11010519491231002X") == "1101**********002X"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***" and mask_name("王") == "王*"
    assert STATUS_LABELS["received"] == "已受理"
