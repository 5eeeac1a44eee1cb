"""The routing catalogue: the shipped version and what a new version must satisfy (pure)."""

from __future__ import annotations

import copy

import pytest

from bancheng_shared.errors import Problem
from triage_svc.domain.catalogue import check_compiles, checked, load_catalogue, validate_catalogue


def test_the_shipped_catalogue_is_valid() -> None:
    doc = load_catalogue()
    assert validate_catalogue(doc) == []
    assert len(doc["rules"]) == 29 and "信访" in doc["petition_words"] and "判决" in doc["legal_words"]


def test_errors_name_the_field() -> None:
    assert validate_catalogue({"rules": []}) == [{"field": "rules", "message": "a non-empty list of rules is required"}]
    errs = validate_catalogue({"rules": [{"kind": "water", "domain": "public_service"},
                                         {"kind": "water", "domain": "nowhere", "level": 7, "keywords": ["水", ""]}],
                               "category_cues": [["gossip", ["听说"]]]})
    fields = [e["field"] for e in errs]
    assert fields == ["rules.0", "rules.1.kind", "rules.1.domain", "rules.1.level", "rules.1.keywords",
                      "category_cues.0"]


def test_a_valid_document_is_copied_an_invalid_one_refused() -> None:
    doc = load_catalogue()
    stored = checked(doc)
    assert stored == doc and stored is not doc
    bad = copy.deepcopy(doc)
    bad["rules"][0]["domain"] = "weather"
    with pytest.raises(Problem) as info:
        checked(bad)
    assert info.value.status == 422 and info.value.detail.startswith("catalogue invalid: rules.0.domain")


def test_a_catalogue_that_does_not_compile_is_refused() -> None:
    with pytest.raises(Problem) as info:
        check_compiles({"rules": [{"kind": "water", "domain": "public_service", "level": "two"}]})
    assert info.value.status == 422 and "does not compile" in info.value.detail
