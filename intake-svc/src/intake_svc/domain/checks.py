"""Checks of identifiers people type in: phone numbers, ID numbers, credit codes, region codes (pure)."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# area code 0 + 2-3 digits, subscriber number 7-8 digits, optional extension
_LANDLINE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?$")
_SERVICE = re.compile(r"^(400|800)-?\d{3}-?\d{4}$")
_ID = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB 32100-2015: 31 characters (no I O Z S V), weights 3^i mod 31
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
# province-level prefixes of GB/T 2260 (the first two digits of a region code)
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})
_REGION = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$")


def clean_phone(raw: str) -> str:
    """Strip spaces, brackets and a +86 / 0086 prefix."""
    p = re.sub(r"[\s()（）]", "", raw)
    for prefix in ("+86", "0086"):
        if p.startswith(prefix):
            p = p[len(prefix):].lstrip("-")
    return p


def phone_ok(phone: str) -> bool:
    """A mainland mobile (1[3-9] + 9 digits), a landline with area code, or a 400/800 number."""
    return bool(_MOBILE.match(phone) or _LANDLINE.match(phone) or _SERVICE.match(phone))


def id_number_ok(idn: str) -> bool:
    """An 18-character resident ID number whose last character is its ISO 7064 MOD 11-2 check."""
    if not _ID.match(idn) or idn[:2] not in PROVINCES:
        return False
    total = sum(int(c) * w for c, w in zip(idn[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != idn[17]:
        return False
    month, day = int(idn[10:12]), int(idn[12:14])
    return 1 <= month <= 12 and 1 <= day <= 31


def id_check_char(first17: str) -> str:
    """The check character of the first 17 digits of an ID number."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def credit_code_ok(code: str) -> bool:
    """An 18-character unified social credit code with a valid region part and check character."""
    if not _USCC.match(code) or code[2:4] not in PROVINCES:
        return False
    return uscc_check_char(code[:17]) == code[17]


def region_code_ok(code: str, allowed_prefixes: tuple[str, ...] = ()) -> bool:
    """A directory region code: 2, 4, 6, 9 or 12 digits of a real province (and an allowed prefix if set)."""
    if not _REGION.match(code) or code[:2] not in PROVINCES:
        return False
    return not allowed_prefixes or any(code.startswith(p) for p in allowed_prefixes)
