"""The routing catalogue (派单目录) as data (pure): the shipped version 0, and what a new version must satisfy."""

from __future__ import annotations

import copy
import json
import math
import re
from importlib import resources
from typing import Any

from bancheng_shared.contracts.limits import CONTENT_MAX, no_control_characters
from bancheng_shared.contracts.vocab import Category, Domain, Tier
from bancheng_shared.errors import Problem
from triage_svc.domain import classifier, cues, tiers
from triage_svc.domain.bounds import KIND_MAX, KNOWLEDGE_ID_MAX

SHIPPED_VERSION = 0  # the catalogue shipped with the service; stored versions count from 1
MAX_DEPTH = 12  # how deeply a catalogue document may nest (the shipped one: 4)
_SLUG = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{KIND_MAX}}}$")  # a kind, a copy's purpose
_TIERS = {t.value for t in Tier}
# numbers of the document: (the least, the most) it may be; the model's temperature and C must be above 0
_NUMBERS: dict[str, tuple[float, float]] = {
    "fallback_level": (1, 4), "min_score": (-1e6, 1e6), "model_temperature": (1e-6, 1e6), "model_weight": (0, 1e6),
    "model_c": (1e-6, 1e6), "co_unit_min_score": (-1e6, 1e6), "max_co_units": (0, 10),
    "clause_co_unit_min_score": (0, 1e6),
    "correction_similarity": (1e-6, 1.0),
}


def load_catalogue() -> dict[str, Any]:
    """The default routing catalogue shipped with the service."""
    return json.loads(resources.files("triage_svc").joinpath("data/catalogue.json").read_text("utf-8"))


def _values(doc: Any, path: str, depth: int, errs: list[dict[str, str]]) -> None:
    """Texts without control characters and finite numbers everywhere in the document, nested at most MAX_DEPTH."""
    if len(errs) >= 20:
        return
    if depth > MAX_DEPTH:
        errs.append({"field": path, "message": f"nested deeper than {MAX_DEPTH} levels"})
    elif isinstance(doc, str):
        try:
            no_control_characters(doc)
        except ValueError as exc:
            errs.append({"field": path, "message": str(exc)})
    elif isinstance(doc, float) and not math.isfinite(doc):
        errs.append({"field": path, "message": "must be a finite number"})
    elif isinstance(doc, dict):
        for k, v in doc.items():
            _values(k, f"{path}.{str(k)[:40]}" if path else str(k)[:40], depth + 1, errs)
            _values(v, f"{path}.{str(k)[:40]}" if path else str(k)[:40], depth + 1, errs)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _values(v, f"{path}.{i}", depth + 1, errs)


def _words(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


def _whole(v: Any, least: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and least <= v <= 1_000_000


def _tier_rule_errors(tr: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of the tier rules (they run on every ticket: a broken rule must not reach the consumer)."""
    errs: list[dict[str, str]] = []

    def err(field: str, message: str) -> None:
        errs.append({"field": f"tier_rules.{field}", "message": message})

    for name, count in (("coordination", "min_units"), ("repeats", "min_repeats"), ("returns", "min_returns")):
        steps = tr.get(name, [])
        if not isinstance(steps, list):
            err(name, "must be a list")
            continue
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or not _whole(step.get(count), 0) or step.get("tier") not in _TIERS:
                err(f"{name}.{i}", f"must be {{\"{count}\": a whole number ≥ 0, \"tier\": green|yellow|red}}")
            elif not isinstance(step.get("urgent", False), bool):
                err(f"{name}.{i}.urgent", "must be true or false")
            elif not isinstance(step.get("same_person", True), bool):
                err(f"{name}.{i}.same_person", "must be true or false")
    for group in tiers.CUE_GROUPS:
        counting = tr.get(f"{group}_count")
        if counting is not None and not (isinstance(counting, dict) and _whole(counting.get("min"), 1)
                                         and _words(counting.get("nouns"))):
            err(f"{group}_count", "must be {\"min\": a whole number ≥ 1, \"nouns\": [non-empty strings]}")
        if not _words(tr.get(f"{group}_words", [])):
            err(f"{group}_words", "must be a list of non-empty strings")
        for part in ("patterns", "unless"):
            if (why := cues.pattern_errors(tr.get(f"{group}_{part}", []))) is not None:
                err(f"{group}_{part}", why)
    if not _words(tr.get("consult_unless", [])):
        err("consult_unless", "must be a list of non-empty strings")
    if "consult_level" in tr and (not _whole(tr["consult_level"], 1) or tr["consult_level"] > 3):
        err("consult_level", "must be a level 1-3")
    for name in (*(f"{g}_tier" for g in tiers.CUE_GROUPS), "complex_from", "consult_max_tier"):
        if name in tr and tr[name] not in _TIERS:
            err(name, "must be green, yellow or red")
    levels = tr.get("response_level", {})
    if not isinstance(levels, dict) or any(k not in _TIERS or not _whole(v, 1) or v > 3 for k, v in levels.items()):
        err("response_level", "must map green/yellow/red to a level 1-3")
    copies = tr.get("copy", {})
    if not isinstance(copies, dict):
        err("copy", "must be an object")
        return errs
    for t, rule in copies.items():
        if t not in _TIERS or not isinstance(rule, dict):
            err(f"copy.{str(t)[:40]}", "must map green/yellow/red to a copy rule")
        elif rule.get("on") not in ("tier", "resolution") or not isinstance(rule.get("purpose"), str) \
                or not _SLUG.match(rule["purpose"]) or not _words(rule.get("to_kinds")) \
                or not all(_SLUG.match(k) for k in rule["to_kinds"]):
            err(f"copy.{t}", f"must be {{\"on\": tier|resolution, \"purpose\": 1-{KIND_MAX} letters, digits or _, "
                             "\"to_kinds\": [kinds]}")
    return errs


def _knowledge_errors(entries: Any) -> list[dict[str, str]]:
    """Problems of the knowledge base (level-3 answers): an id, the answer, the words that select it."""
    if not isinstance(entries, list):
        return [{"field": "knowledge", "message": "must be a list"}]
    errs: list[dict[str, str]] = []
    for i, e in enumerate(entries):
        f = f"knowledge.{i}"
        if not isinstance(e, dict):
            errs.append({"field": f, "message": "must be an object"})
            continue
        if not isinstance(e.get("id"), str) or not 1 <= len(e["id"]) <= KNOWLEDGE_ID_MAX:
            errs.append({"field": f"{f}.id", "message": f"required: 1-{KNOWLEDGE_ID_MAX} characters"})
        if not isinstance(e.get("answer"), str) or not 1 <= len(e["answer"]) <= CONTENT_MAX:
            errs.append({"field": f"{f}.answer", "message": f"required: 1-{CONTENT_MAX} characters"})
        groups = e.get("all_of", [])
        if not isinstance(groups, list) or not all(_words(g) for g in groups):
            errs.append({"field": f"{f}.all_of", "message": "must be a list of lists of non-empty strings"})
        if not _words(e.get("none_of", [])):
            errs.append({"field": f"{f}.none_of", "message": "must be a list of non-empty strings"})
    return errs


def validate_catalogue(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of a catalogue document, each naming its field."""
    errs: list[dict[str, str]] = []
    _values(doc, "", 0, errs)
    if errs:
        return errs
    rules = doc.get("rules")
    if not isinstance(rules, list) or not rules:
        return [{"field": "rules", "message": "a non-empty list of rules is required"}]
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            errs.append({"field": f"rules.{i}", "message": "must be an object"})
            continue
        if not isinstance(r.get("kind"), str) or not _SLUG.match(r["kind"]):
            errs.append({"field": f"rules.{i}.kind", "message": f"required: 1-{KIND_MAX} letters, digits or _"})
        elif r["kind"] in seen:
            errs.append({"field": f"rules.{i}.kind", "message": f"kind {r['kind']} appears twice"})
        else:
            seen.add(r["kind"])
        if r.get("domain") not in {d.value for d in Domain}:
            errs.append({"field": f"rules.{i}.domain", "message": "must be a domain of the glossary"})
        if r.get("level", 2) not in (1, 2, 3, 4):
            errs.append({"field": f"rules.{i}.level", "message": "must be 1-4"})
        for f in ("keywords", "strong", "examples"):
            v = r.get(f, [])
            if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
                errs.append({"field": f"rules.{i}.{f}", "message": "must be a list of non-empty strings"})
        if not r.get("keywords") and not r.get("strong") and not r.get("examples"):
            errs.append({"field": f"rules.{i}", "message": "needs keywords, strong keywords or examples"})
    for f in ("petition_words", "legal_words"):
        v = doc.get(f, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            errs.append({"field": f, "message": "must be a list of non-empty strings"})
    for f in ("petition_patterns", "petition_unless", "legal_patterns", "legal_unless"):
        if (why := cues.pattern_errors(doc.get(f, []))) is not None:
            errs.append({"field": f, "message": why})
    category_cues = doc.get("category_cues", [])
    for i, c in enumerate(category_cues if isinstance(category_cues, list) else [None]):
        if not (isinstance(c, list) and len(c) == 2 and c[0] in {x.value for x in Category} and _words(c[1])):
            errs.append({"field": f"category_cues.{i}", "message": "must be [category, [cues...]]"})
    fallback = doc.get("fallback_kind", "local_government")
    if not isinstance(fallback, str) or not _SLUG.match(fallback):
        errs.append({"field": "fallback_kind", "message": f"must be a kind: 1-{KIND_MAX} letters, digits or _"})
    for name, (least, most) in _NUMBERS.items():
        v = doc.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not least <= v <= most):
            errs.append({"field": name, "message": f"must be a number from {least:g} to {most:g}"})
    for name in ("fallback_level", "max_co_units"):
        if isinstance(doc.get(name), float):
            errs.append({"field": name, "message": "must be a whole number"})
    errs += _knowledge_errors(doc.get("knowledge", []))
    tr = doc.get("tier_rules")
    if tr is not None and not isinstance(tr, dict):
        errs.append({"field": "tier_rules", "message": "must be an object"})
    elif tr:
        errs += _tier_rule_errors(tr)
    return errs


def checked(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a valid catalogue document to store; Problem 422 naming the first invalid field."""
    errs = validate_catalogue(doc)
    if errs:
        raise Problem(422, f"catalogue invalid: {errs[0]['field']}: {errs[0]['message']}", type_="validation",
                      errors=errs)
    return copy.deepcopy(doc)


def check_compiles(doc: dict[str, Any]) -> None:
    """A catalogue that does not compile, or fails on a request, must not become active: Problem 422 (takes a
    fraction of a second). It is tried on one of its own examples with every tier rule made to fire."""
    try:
        compiled = classifier.compile_catalogue(doc, -1)
        words = [w for r in doc["rules"] for w in (*r.get("examples", []), *r.get("keywords", []))][:1]
        text = "".join([*words, *compiled.tier_rules.get("difficulty_words", [])[:1],
                        *compiled.tier_rules.get("conduct_words", [])[:1],
                        *compiled.tier_rules.get("mass_words", [])[:1],
                        *compiled.tier_rules.get("corruption_words", [])[:1]])
        classifier.classify(text or "x", compiled)
        tiers.evaluate(tiers.TierFacts(content=text, units=99, repeats=99, urgent=True, returns=99, own_repeats=99),
                       compiled.tier_rules)
        for t in Tier:
            tiers.response_level(t, compiled.tier_rules)
            tiers.is_complex(t, compiled.tier_rules)
            tiers.copy_rule(t, "tier", compiled.tier_rules)
    except Exception as exc:  # whatever the document breaks in compiling, the answer is the same
        raise Problem(422, f"catalogue does not compile: {str(exc)[:500]}", type_="validation") from None
