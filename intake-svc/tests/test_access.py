"""Who may see and touch a ticket, and the person's public lookup (pure): a unit only what is at its unit, the
proof (last four phone digits or the token); how often it may be tried is test_throttle.py."""

from __future__ import annotations

import pytest

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from intake_svc.domain import access
from intake_svc.domain.public_lookup import not_found, phone_proves, token_hash

UNIT = Principal("k-unit", "东湖区市场监管局", Role.unit, "339901-market_regulation")
OPERATOR = Principal("k-op", "话务员", Role.operator)
FRONTEND = Principal("k-web", "网站", Role.frontend)
CLOSED = ("closed", "answered", "transferred")


def test_a_unit_sees_only_tickets_at_its_unit_and_no_more_than_unknown() -> None:
    access.check_visible(UNIT, "BC1", "339901-market_regulation")
    access.check_visible(OPERATOR, "BC1", None)
    for unit in ("339902-market_regulation", None):
        with pytest.raises(Problem) as err:
            access.check_visible(UNIT, "BC1", unit)
        assert (err.value.status, err.value.detail) == (404, access.unknown_ticket("BC1").detail)


def test_list_scopes() -> None:
    assert access.unit_filter(UNIT, None) == "339901-market_regulation"
    assert access.unit_filter(UNIT, "339901-market_regulation") == "339901-market_regulation"
    assert access.unit_filter(OPERATOR, "339902-market_regulation") == "339902-market_regulation"
    with pytest.raises(Problem) as err:
        access.unit_filter(UNIT, "339902-market_regulation")
    assert err.value.status == 403


def test_follow_ups_need_the_person_s_proof_and_an_open_ticket() -> None:
    assert access.needs_proof(FRONTEND) and not access.needs_proof(OPERATOR)
    assert not access.needs_proof(Principal("k-admin", "管理员", Role.admin))
    access.check_takes_follow_ups("BC1", "dispatched", "已交办", CLOSED)
    with pytest.raises(Problem) as err:
        access.check_takes_follow_ups("BC1", "answered", "已答复", CLOSED)
    assert err.value.status == 409 and err.value.detail == "ticket BC1 is 已答复; file a new request instead"


def test_the_proof() -> None:
    assert phone_proves(["13700001234"], "1234") and phone_proves([None, "13900005678"], "5678")
    assert not phone_proves(["13700001234", None], "9999") and not phone_proves([], "1234")
    # only the token's hash is stored: SHA-256 of the token
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_wrong_proof_and_an_unknown_number_answer_the_same() -> None:
    assert not_found().status == 404 and not_found().type_ == "unknown-ticket"
