"""The routing catalogue (派单目录) as data (pure): the shipped version 0, and what a new version must satisfy."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from bancheng_shared.contracts.vocab import Category, Domain
from bancheng_shared.errors import Problem
from triage_svc.domain import classifier

SHIPPED_VERSION = 0  # the catalogue shipped with the service; stored versions count from 1


def load_catalogue() -> dict[str, Any]:
    """The default routing catalogue shipped with the service."""
    return json.loads(resources.files("triage_svc").joinpath("data/catalogue.json").read_text("utf-8"))


def validate_catalogue(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Problems of a catalogue document, each naming its field."""
    errs: list[dict[str, str]] = []
    rules = doc.get("rules")
    if not isinstance(rules, list) or not rules:
        return [{"field": "rules", "message": "a non-empty list of rules is required"}]
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            errs.append({"field": f"rules.{i}", "message": "must be an object"})
            continue
        if not isinstance(r.get("kind"), str) or not r.get("kind"):
            errs.append({"field": f"rules.{i}.kind", "message": "required"})
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
    cues = doc.get("category_cues", [])
    for i, c in enumerate(cues if isinstance(cues, list) else [None]):
        if not (isinstance(c, list) and len(c) == 2 and c[0] in {x.value for x in Category}):
            errs.append({"field": f"category_cues.{i}", "message": "must be [category, [cues...]]"})
    tr = doc.get("tier_rules")
    if tr is not None and not isinstance(tr, dict):
        errs.append({"field": "tier_rules", "message": "must be an object"})
    return errs


def checked(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a valid catalogue document to store; Problem 422 naming the first invalid field."""
    errs = validate_catalogue(doc)
    if errs:
        raise Problem(422, f"catalogue invalid: {errs[0]['field']}: {errs[0]['message']}", type_="validation",
                      errors=errs)
    return copy.deepcopy(doc)


def check_compiles(doc: dict[str, Any]) -> None:
    """A catalogue that does not compile must not become active: Problem 422 (takes a fraction of a second)."""
    try:
        classifier.compile_catalogue(doc, -1)
    except Exception as exc:  # whatever the document breaks in compiling, the answer is the same
        raise Problem(422, f"catalogue does not compile: {exc}", type_="validation") from None
