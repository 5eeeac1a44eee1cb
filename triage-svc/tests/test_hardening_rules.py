"""Issue 11's rules, pure: who reads contact numbers, spreadsheet-safe CSV that imports back, what triage publishes
bounded by the shared limits, imports and catalogues refused field by field instead of failing later."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from triage_helpers import NOW, UNIT, UNIT_CODE, WORK_TEAM, catalogue, directory, work_order

from bancheng_shared.contracts.limits import EXPLANATION_LINE_MAX, NAME_MAX, REASON_MAX
from bancheng_shared.contracts.triage import TicketTriaged, TierChanged, TierCopyIssued
from bancheng_shared.contracts.vocab import Tier
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from triage_svc.demo_directory import demo_city
from triage_svc.domain import bounds, classifier, routing, tier_moves, tiers
from triage_svc.domain.catalogue import check_compiles, load_catalogue, validate_catalogue
from triage_svc.domain.corrections import reclassify
from triage_svc.domain.directory import parents_to_look_up, parse_csv, sees_contacts, to_csv, validate_rows

FORMULAS = ["=HYPERLINK(\"http://x.example\",\"点我\")", "+1", "-1", "@SUM(A1)", "＝1", "＋1", "－1", "＠x"]


def who(role: Role, unit: str | None = None) -> Principal:
    return Principal(key_id="k", name="n", role=role, unit_code=unit)


def test_contact_numbers_are_for_the_work_team_operators_admins_and_the_unit_itself() -> None:
    for role in (Role.admin, Role.work_team, Role.operator):
        assert sees_contacts(who(role), UNIT_CODE)
    for role in (Role.frontend, Role.platform, Role.leader, Role.inspector, Role.supervision_office,
                 Role.business_environment):
        assert not sees_contacts(who(role), UNIT_CODE), role
    assert sees_contacts(UNIT, UNIT_CODE) and not sees_contacts(UNIT, "339902-market_regulation")


def test_no_text_cell_of_the_csv_starts_a_formula_and_the_csv_imports_back() -> None:
    rows = demo_city(districts=1, streets=1, communities=1)
    rows += [{**rows[1], "code": f"3399-f{i}", "name": name, "contacts": {"sms": name}}
             for i, name in enumerate(FORMULAS)]
    rows.append({**rows[1], "code": "-3399-dash"})
    text = to_csv(rows)
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert [c for c in cells if c and c[0] in "=+-@＝＋－＠\t\r"] == []
    clean, errors = validate_rows(parse_csv(text))
    assert errors == []
    assert [(r["code"], r["name"], r["contacts"]) for r in clean] == [
        (r["code"], r["name"], r["contacts"]) for r in rows]


def test_what_triage_composes_is_cut_to_what_consumers_store() -> None:
    # a catalogue with many long difficulty words: the tier reason quotes them all
    rules = copy.deepcopy(catalogue().tier_rules)
    words = [f"{i:03d}" + "长期反映无人处理" * 20 for i in range(40)]
    rules["difficulty_words"] = words
    wo = work_order(content="".join(words))
    upd, events = tier_moves.raise_tier(wo, tier_moves.tier_facts(wo), rules=rules, directory=directory(), now=NOW)
    changed = next(e for e in events if isinstance(e, TierChanged))
    copied = next(e for e in events if isinstance(e, TierCopyIssued))
    assert len(changed.reason) == REASON_MAX and changed.reason.endswith(bounds.ELLIPSIS)
    assert len(copied.reason) <= REASON_MAX and len(upd["explanation"][-1]) == EXPLANATION_LINE_MAX
    # a person with the longest key name sets the tier with the longest reason
    long_name = Principal(key_id="k", name="专" * NAME_MAX, role=Role.work_team)
    out = tier_moves.change_tier(wo, long_name, tier=Tier.red, reason="理" * REASON_MAX, ticket_no=wo.ticket_no,
                                 rules=catalogue().tier_rules, directory=directory(), now=NOW)
    changed = next(e for e in out.events if isinstance(e, TierChanged))
    assert changed.by is not None and len(changed.by) == NAME_MAX and len(changed.reason) == REASON_MAX
    assert out.log is not None and out.log.actor == "work_team:" + "专" * NAME_MAX  # the log keeps it whole
    assert all(len(x) <= EXPLANATION_LINE_MAX for x in out.changes["explanation"])
    # a correction quotes its reason: in the re-published decision and in the next similar request's explanation
    text = "东湖区城关街道小区门口的电动车充电桩经常坏，车充不了电"
    fixed, correction = reclassify(work_order(content=text), WORK_TEAM, kind="emergency", category=None, route=None,
                                   reason="理" * REASON_MAX, ticket_no=wo.ticket_no, catalogue=catalogue(),
                                   directory=directory(), now=NOW)
    triaged = next(e for e in fixed.events if isinstance(e, TicketTriaged))
    assert all(len(x) <= EXPLANATION_LINE_MAX for x in triaged.explanation)
    compiled = classifier.compile_catalogue(load_catalogue(), 0, [classifier.Correction(
        1, frozenset(classifier.ngrams(text)), "emergency", None, None, correction.reason)])
    decided = routing.decide(text, "339901001", None, None, compiled, directory())
    assert any("correction #1" in x for x in decided.decision.explanation)
    assert all(len(x) <= EXPLANATION_LINE_MAX for x in decided.decision.explanation)


def test_an_import_refuses_what_a_store_cannot_hold_naming_row_and_field() -> None:
    good = {"code": "339901-zz", "name": "测试站", "level": 3, "kind": "water", "region_code": "339901",
            "parent_code": "339901-local_government", "contacts": {"sms": "13900001111"}}
    for change, field in (({"name": "测\x00试"}, "name"), ({"name": "\x1b[31m"}, "name"), ({"level": 2.5}, "level"),
                          ({"level": True}, "level"), ({"level": float("inf")}, "level"), ({"level": 1e308}, "level"),
                          ({"parent_code": "a\x00"}, "parent_code"), ({"contacts": {"sms": "1\x00"}}, "contacts"),
                          ({"contacts": {"sms": {"nested": 1}}}, "contacts"), ({"contacts": '{"a": NaN}'}, "contacts"),
                          ({"contacts": "[" * 50_000}, "contacts"), ({"contacts": {str(i): i for i in range(99)}},
                                                                     "contacts")):
        _clean, errors = validate_rows([{**good, **change}], {"339901-local_government": 2})
        assert [(e.row, e.field) for e in errors] == [(1, field)], change
    for level in (3, 3.0, "3", " 3 "):
        assert validate_rows([{**good, "level": level}], {"339901-local_government": 2})[1] == []
    # a parent code that is not a code is the validation's to name, never looked up
    assert parents_to_look_up([{**good, "parent_code": "a\x00"}, {**good, "parent_code": "x" * 65}]) == []


def test_a_catalogue_is_refused_field_by_field_before_it_could_fail_a_ticket() -> None:
    doc = load_catalogue()
    for change, field in (
            ({"name": "目录\x00"}, "name"), ({"min_score": float("nan")}, "min_score"),
            ({"model_temperature": 0}, "model_temperature"), ({"max_co_units": 2.5}, "max_co_units"),
            ({"fallback_kind": "k" * 41}, "fallback_kind"),
            ({"knowledge": [{"id": "k" * 65, "answer": "答"}]}, "knowledge.0.id"),
            ({"knowledge": [{"id": "k", "answer": "答", "all_of": "在哪"}]}, "knowledge.0.all_of"),
            ({"category_cues": [["consult", "问"]]}, "category_cues.0"),
            ({"tier_rules": {**doc["tier_rules"], "coordination": [{"min_units": "2", "tier": "red"}]}},
             "tier_rules.coordination.0"),
            ({"tier_rules": {**doc["tier_rules"], "repeats": [{"min_repeats": 1, "tier": "purple"}]}},
             "tier_rules.repeats.0"),
            ({"tier_rules": {**doc["tier_rules"], "response_level": {"red": 0}}}, "tier_rules.response_level"),
            ({"tier_rules": {**doc["tier_rules"], "copy": {"red": {"on": "tier", "purpose": "p\x00",
                                                                  "to_kinds": ["discipline"]}}}},
             "tier_rules.copy.red.purpose")):
        errs = validate_catalogue({**copy.deepcopy(doc), **change})
        assert errs and errs[0]["field"] == field, (change, errs)
    deep: dict = {"x": 1}
    for _ in range(20):
        deep = {"x": deep}
    assert validate_catalogue({**doc, "extra": deep})[0]["message"].startswith("nested deeper")
    # what is left for the compiler (a keyword's type inside the model) is refused as a whole, 422
    with pytest.raises(Problem) as info:
        check_compiles({"rules": [{"kind": "water", "domain": "public_service", "examples": [["水"]]}]})
    assert info.value.status == 422


def test_the_default_tier_rules_and_the_shipped_catalogue_pass() -> None:
    assert validate_catalogue(load_catalogue()) == []
    assert validate_catalogue({**load_catalogue(), "tier_rules": tiers.DEFAULT_TIER_RULES}) == []
    assert json.dumps(load_catalogue(), allow_nan=False)  # the shipped document is plain JSON
