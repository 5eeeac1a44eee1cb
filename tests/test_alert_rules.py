"""deploy/prometheus/alerts.yml: Prometheus rule groups in shape, every expression parsed by a PromQL parser,
every metric and label it names one the services export."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY

from bancheng_services.stack import SERVICES

RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"
# series Prometheus makes itself (`up`) or the blackbox exporter probing /readyz (`probe_success`)
EXTERNAL = {"up": {"job", "instance"}, "probe_success": {"job", "instance"}}
TARGET_LABELS = {"job", "instance"}  # added by Prometheus to every scraped series
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def exported() -> dict[str, set[str]]:
    """Every metric name the four services register (with its label names), as a scrape would name them."""
    for spec in SERVICES.values():
        importlib.import_module(f"{spec['module']}.main")  # each service's own metrics register on import
    names: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        labels = set(getattr(REGISTRY._names_to_collectors.get(family.name), "_labelnames", ()))
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return names


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"]]


def selectors(expr: Any) -> list[Any]:
    """The vector selectors of an expression (range selectors' included)."""
    found: list[Any] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def test_the_file_is_prometheus_rule_groups() -> None:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert set(doc) == {"groups"} and isinstance(doc["groups"], list) and doc["groups"]
    group_names = [g["name"] for g in doc["groups"]]
    assert len(set(group_names)) == len(group_names)
    alerts: list[str] = []
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}, group.keys()
        assert isinstance(group["rules"], list) and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= RULE_KEYS and {"alert", "expr"} <= set(rule), rule
            assert isinstance(rule["expr"], str)
            if "for" in rule:
                assert promql_parser.parse_duration(rule["for"]).total_seconds() > 0
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in rule.get("labels", {}).items())
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
            alerts.append(rule["alert"])
    assert len(set(alerts)) == len(alerts)


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_expression_parses_and_names_what_the_services_export(rule: dict[str, Any]) -> None:
    expr = promql_parser.parse(rule["expr"])  # raises ValueError with the parser's message
    assert not isinstance(expr, promql_parser.MatrixSelector | promql_parser.SubqueryExpr | promql_parser.StringLiteral)
    known = {**exported(), **EXTERNAL}
    found = selectors(expr)
    assert found, "an alert on no series"
    for sel in found:
        assert sel.name in known, f"{rule['alert']}: {sel.name} is not exported by any service"
        for m in sel.matchers.matchers:
            assert m.name in known[sel.name] | TARGET_LABELS, f"{rule['alert']}: {sel.name} has no label {m.name}"


def test_the_rules_cover_what_operators_watch() -> None:
    names = {sel.name for r in rules() for sel in selectors(promql_parser.parse(r["expr"]))}
    assert {"up", "probe_success", "bancheng_outbox_unsent", "bancheng_outbox_oldest_unsent_age_seconds",
            "bancheng_consumer_lag", "bancheng_dead_letters", "bancheng_sla_clocks_overdue",
            "bancheng_intake_sms_oldest_pending_age_seconds", "bancheng_intake_callbacks_oldest_pending_age_seconds",
            "bancheng_sla_next_year_calendar_missing"} <= names


def test_a_broken_expression_is_refused_by_the_parser() -> None:
    with pytest.raises(ValueError):
        promql_parser.parse("max by (service) (bancheng_outbox_unsent > ")
