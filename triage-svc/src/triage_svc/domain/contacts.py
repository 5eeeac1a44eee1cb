"""Which of a unit's directory contacts receives its 报到 SMS (pure): the duty number that can take a text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# The contacts' keys that name a unit's duty number, in the order one is chosen (an import may use either the
# English or the Chinese key); other keys (email, fax, address) never receive an SMS.
SMS_KEYS: tuple[str, ...] = (
    "sms", "短信", "duty_mobile", "值班手机", "duty_phone", "值班电话", "mobile", "手机", "phone", "电话",
)
# a mainland mobile number: only these take an SMS (a landline duty phone does not)
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_SEPARATORS = re.compile(r"[\s\-().（）]")
_COUNTRY = ("+86", "0086", "86")
WITHOUT_SMS_SHOWN = 50  # units without an SMS number an import answer names (all are counted)


def mobile(value: Any) -> str | None:
    """The 11-digit mobile number a contact value is (spaces, dashes and a +86 prefix allowed), or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    digits = _SEPARATORS.sub("", str(value))
    for prefix in _COUNTRY:
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.match(digits) else None


def sms_number(contacts: dict[str, Any] | None) -> str | None:
    """The number a unit's 报到 SMS goes to: the first mobile under the first duty key that has one (a key may hold
    several numbers); None when the unit has no SMS-capable contact."""
    if not isinstance(contacts, dict):
        return None
    for key in SMS_KEYS:
        value = contacts.get(key)
        for v in value if isinstance(value, list) else [value]:
            if (number := mobile(v)) is not None:
                return number
    return None



def without_sms(rows: Iterable[dict[str, Any]]) -> list[str]:
    """The codes of the active units among directory rows that have no SMS number (their 报到 SMS would be parked)."""
    return sorted(str(r["code"]) for r in rows if r.get("active", True) and sms_number(r.get("contacts")) is None)
