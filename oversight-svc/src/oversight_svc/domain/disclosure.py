"""Disclosure (督查回声): published outcomes of concluded cases, stripped of personal data (phone numbers, ID
numbers, e-mail addresses, and the names known to the case, shown as surname + 某)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from bancheng_shared.contracts.limits import TITLE_MAX

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_SEPARATORS = re.compile(r"[\s,，;；、/|()（）:：]+")


def mask_name(name: str) -> str:
    """刘某 for 刘洋: the surname and 某, as published outcomes name people."""
    name = name.strip()
    return (name[0] + "某") if name else name


def strip_pii(text: str, names: Iterable[str] = ()) -> str:
    """Remove phone numbers, ID numbers, e-mail addresses and the given personal names from a text."""
    out = _ID.sub("[证件号已隐去]", text)
    out = _PHONE.sub("[电话已隐去]", out)
    out = _EMAIL.sub("[邮箱已隐去]", out)
    for n in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(n, mask_name(n))
    return out


def informant_names(informant: str | None) -> list[str]:
    """The names to strip for an informant given as free text ("张三 13900001111"): the whole text and each
    part of it (the phone number goes with strip_pii's patterns)."""
    if not informant:
        return []
    return [informant, *(p for p in _SEPARATORS.split(informant) if p and not p.isdigit())]


def disclose(*, case_id: str, title: str, summary: str, outcome: str, names: Iterable[str], unit_names: list[str],
             concluded_on: date | None, now: datetime) -> dict[str, Any]:
    """What the public feed shows of a concluded case: its texts without personal data, the units by name."""
    names = list(names)
    # the title within TITLE_MAX (a stripped e-mail's mark may be longer than the address)
    return {"case_id": case_id, "title": strip_pii(title, names)[:TITLE_MAX], "summary": strip_pii(summary, names),
            "outcome": strip_pii(outcome, names), "units": unit_names, "concluded_on": concluded_on,
            "published_at": now}
