"""Complainant data (PII): who sees it in full, masking for everyone else, and the informant of a 举报 (report)
never shown to a unit key (the unit reported on must not learn who informed). Full reads are audited."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bancheng_shared.principal import PII_ROLES, Role

INFORMANT_WITHHELD = "举报人信息不向被举报单位提供 / informant withheld"


class Disclosure(StrEnum):
    """How much of the complainant a caller sees."""

    anonymous = "anonymous"  # nobody to show
    withheld = "withheld"  # a report's informant, asked by a unit
    full = "full"  # PII_ROLES (admin, operator, work team, inspector): audit-logged
    masked = "masked"  # everyone else


def mask_phone(phone: str | None) -> str | None:
    """138****5678: first three and last four digits."""
    if not phone:
        return phone
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_id(idn: str | None) -> str | None:
    """3301**********123X: region prefix and last four."""
    if not idn:
        return idn
    return idn[:4] + "*" * (len(idn) - 8) + idn[-4:]


def mask_name(name: str | None) -> str | None:
    """张** : the family name only."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1 if len(name) > 1 else 1)


def is_report(category: str | None, category_hint: str | None) -> bool:
    """A 举报, as triage classified it or as the person said."""
    return "report" in (category, category_hint)


def disclosure(role: Role, *, anonymous: bool, enterprise: bool, report: bool) -> Disclosure:
    """How much of a ticket's complainant this role sees."""
    if anonymous and not enterprise:
        return Disclosure.anonymous
    if role == Role.unit and report:
        return Disclosure.withheld
    return Disclosure.full if role in PII_ROLES else Disclosure.masked


def complainant_view(shown: Disclosure, *, anonymous: bool, name: str | None, phone: str | None,
                     id_number: str | None, enterprise: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """The complainant as shown, and which PII fields were shown in full (to audit)."""
    if shown == Disclosure.anonymous:
        return {"anonymous": True}, []
    if shown == Disclosure.withheld:
        return {"hidden": True, "reason": INFORMANT_WITHHELD}, []
    if shown == Disclosure.full:
        fields = [f for f, val in (("name", name), ("phone", phone), ("id_number", id_number)) if val]
        return {"anonymous": anonymous, "name": name, "phone": phone, "id_number": id_number,
                "enterprise": enterprise, "masked": False}, fields
    return {"anonymous": anonymous, "name": mask_name(name), "phone": mask_phone(phone),
            "id_number": mask_id(id_number), "enterprise": enterprise, "masked": True}, []


def repeat_phone(role: Role, phone: str | None, *, report: bool) -> tuple[str | None, bool]:
    """A repeat's phone as this role sees it, and whether it was shown in full (to audit)."""
    if role == Role.unit and report:
        return None, False
    if role in PII_ROLES:
        return phone, bool(phone)
    return mask_phone(phone), False
