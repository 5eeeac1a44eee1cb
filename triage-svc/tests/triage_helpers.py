"""Builders for the pure rule tests: the shipped catalogue, the demo city's directory, work orders, callers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from bancheng_shared.principal import Principal, Role
from triage_svc.demo_directory import demo_city
from triage_svc.domain import classifier
from triage_svc.domain.catalogue import load_catalogue
from triage_svc.domain.contacts import sms_number
from triage_svc.domain.directory import DirectoryIndex, UnitRef
from triage_svc.domain.work_order import Outcome, WorkOrder

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)  # Monday 3 March 2025, 09:30 in Shanghai
UNIT_CODE = "339901-market_regulation"  # 东湖区市场监管局
WORK_TEAM = Principal(key_id="k-wt", name="工作专班", role=Role.work_team)
OPERATOR = Principal(key_id="k-op", name="话务员", role=Role.operator)
UNIT = Principal(key_id="k-u", name="东湖区市场监管局", role=Role.unit, unit_code=UNIT_CODE)
CO_UNIT = Principal(key_id="k-co", name="东湖区城管局", role=Role.unit, unit_code="339901-urban_management")
OTHER_UNIT = Principal(key_id="k-o", name="西岭区市场监管局", role=Role.unit, unit_code="339902-market_regulation")


@cache
def catalogue() -> classifier.Compiled:
    """The shipped catalogue, compiled (model trained) once per test session."""
    return classifier.compile_catalogue(load_catalogue(), 0)


@cache
def directory() -> DirectoryIndex:
    """The demo city: 6 districts of 4 streets of 3 communities, departments at city and district level."""
    return DirectoryIndex.build(UnitRef(r["code"], r["name"], r["level"], r["kind"], r["region_code"],
                                        r["parent_code"], sms_number(r["contacts"])) for r in demo_city())


def work_order(**over: Any) -> WorkOrder:
    """A green work order dispatched to 东湖区市场监管局 in round 1 (fields overridden as given)."""
    base: dict[str, Any] = dict(
        ticket_no="BC20250303000001", state="dispatched", content="东湖区城关街道一家超市卖过期食品，商家拒绝退款",
        channel="hotline", category="complaint", domain="market_supervision", department_kinds=["market_regulation"],
        tier="green", response_level=2, complex=False, route="dispatch", region_code="339901001",
        place_source="given", lead_unit=UNIT_CODE, lead_unit_name="东湖区市场监管局", co_units=[], round=1,
        returns_count=0, repeat_count=0, urgent=False, deemed_signed=False, dispatched_at=NOW, copies=[],
        catalogue_version=0, explanation=["catalogue version 0"], created_at=NOW, updated_at=NOW)
    return WorkOrder(**{**base, **over})


def event_types(outcome: Outcome) -> list[str]:
    """The names of the events an outcome emits, in order."""
    return [type(e).__name__ for e in outcome.events]
