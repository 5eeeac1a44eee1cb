"""Who is asking: a role and, for a unit, its unit code (pure: rules and commands use it)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Who a key belongs to (DESIGN.md: who uses it)."""

    admin = "admin"  # platform administrators
    operator = "operator"  # hotline operator, window clerk
    frontend = "frontend"  # mailbox / web / app / WeChat front ends
    platform = "platform"  # other government platforms
    work_team = "work_team"  # 工作专班 / dispatcher
    unit = "unit"  # handling unit, scoped to its own tickets
    inspector = "inspector"  # 纪委监委 discipline inspection
    supervision_office = "supervision_office"  # 督查室
    business_environment = "business_environment"  # 营商办
    leader = "leader"  # leaders: statistics and reports


# Roles that may see complainant PII in full (audit-logged by intake).
PII_ROLES = frozenset({Role.admin, Role.operator, Role.work_team, Role.inspector})


@dataclass(frozen=True)
class Principal:
    """The caller behind a credential."""

    key_id: str
    name: str
    role: Role
    unit_code: str | None = None

    def can_see_unit(self, unit_code: str | None) -> bool:
        """A unit key sees only its own unit's matters; other roles are not unit-scoped."""
        return self.role != Role.unit or (unit_code is not None and unit_code == self.unit_code)
