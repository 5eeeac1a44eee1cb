"""Identifier checks and PII helpers (pure)."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from intake_svc.adapters.pii_vault import PiiVault
from intake_svc.domain import checks
from intake_svc.domain.pii import mask_id, mask_phone


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "010-62345678", "0571-87654321", "02162345678",
                                   "400-123-4567"])
def test_valid_phones(phone: str) -> None:
    assert checks.phone_ok(checks.clean_phone(phone))


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "138001380001", "62345678", "010-12345678", "abc"])
def test_invalid_phones(phone: str) -> None:
    assert not checks.phone_ok(checks.clean_phone(phone))


def test_phone_prefix_is_stripped() -> None:
    assert checks.clean_phone("+86 138 0013 8000") == "13800138000"


def test_id_number_checksum() -> None:
    assert checks.id_number_ok("11010519491231002X")
    assert not checks.id_number_ok("110105194912310021")  # wrong check character
    assert not checks.id_number_ok("11010519491331002X")  # month 13
    assert not checks.id_number_ok("99010519491231002X")  # no such province


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_id_check_char_round_trip(first17: str) -> None:
    idn = first17 + checks.id_check_char(first17)
    wrong = first17 + ("0" if idn[-1] != "0" else "1")
    assert checks.id_number_ok(wrong) is False or wrong == idn


def test_credit_code_gb32100() -> None:
    assert checks.credit_code_ok("91350100M000100Y43")
    assert not checks.credit_code_ok("91350100M000100Y44")
    assert not checks.credit_code_ok("91350100M000100YI3")  # I is not in the alphabet
    assert checks.uscc_check_char("91350100M000100Y4") == "3"


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=10, max_size=10))
def test_credit_code_single_change_detected(tail: str) -> None:
    first17 = "9133" + "0100" + tail[:9]
    first17 = first17[:8] + tail[:9]
    code = first17 + checks.uscc_check_char(first17)
    if code[2:4] in checks.PROVINCES and code[2:8].isdigit():
        assert checks.credit_code_ok(code)
        flipped = code[:-1] + ("0" if code[-1] != "0" else "1")
        assert not checks.credit_code_ok(flipped)


@pytest.mark.parametrize("code,ok", [("339901001", True), ("3399", True), ("339901", True), ("339901001001", True),
                                     ("33990100", False), ("999901", False), ("3399x1", False)])
def test_region_codes(code: str, ok: bool) -> None:
    assert checks.region_code_ok(code) is ok


def test_region_prefixes() -> None:
    assert checks.region_code_ok("339901", ("3399",))
    assert not checks.region_code_ok("330101", ("3399",))


def test_vault_round_trip_and_keyed_hash() -> None:
    v = PiiVault("k1")
    token = v.encrypt("13800138000", "phone")
    assert token and "13800138000" not in token
    assert v.decrypt(token, "phone") == "13800138000"
    assert v.encrypt("13800138000", "phone") != token  # random nonce
    assert v.hash("13800138000", "phone") == PiiVault("k1").hash("13800138000", "phone")
    assert v.hash("13800138000", "phone") != PiiVault("k2").hash("13800138000", "phone")
    with pytest.raises(InvalidTag):
        PiiVault("k2").decrypt(token, "phone")
    with pytest.raises(InvalidTag):
        v.decrypt(token, "id")  # bound to its field


def test_masks() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id("11010519491231002X") == "1101**********002X"
