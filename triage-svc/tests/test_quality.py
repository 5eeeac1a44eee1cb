"""Measured quality on the labelled evaluation set (tests/data/eval_set.jsonl): the held-out part is never
used to tune the catalogue. Prints the figures; gates department-kind accuracy."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from triage_svc import classifier, domain

DATA = Path(__file__).parent / "data" / "eval_set.jsonl"
TARGET = 0.90  # issue 4: department kind on the held-out part
FLOOR = 0.85  # regression gate: what the shipped catalogue reaches today (see README)


def _rows(split: str) -> list[dict[str, str]]:
    return [r for r in (json.loads(x) for x in DATA.read_text("utf-8").splitlines() if x) if r["split"] == split]


@cache
def accuracy(split: str) -> dict[str, float]:
    c = classifier.compile_catalogue(domain.load_catalogue(), 0)
    rows = _rows(split)
    ok = {"kind": 0, "route": 0, "category": 0}
    for r in rows:
        d = classifier.classify(r["text"], c)
        ok["kind"] += d.target_kind == r["kind"]
        ok["route"] += d.route.value == r["route"]
        ok["category"] += d.category.value == r["category"]
    return {k: v / len(rows) for k, v in ok.items()} | {"n": float(len(rows))}


def test_eval_set_is_big_enough_and_split() -> None:
    assert len(_rows("tune")) + len(_rows("heldout")) >= 150
    assert len(_rows("heldout")) >= 60
    texts = [r["text"] for r in _rows("tune") + _rows("heldout")]
    assert len(set(texts)) == len(texts)


def test_heldout_quality_gate() -> None:
    tune, held = accuracy("tune"), accuracy("heldout")
    print(f"\ntune     {tune}\nheld-out {held}")
    assert held["route"] >= 0.95
    assert held["category"] >= 0.85
    assert held["kind"] >= FLOOR


@pytest.mark.xfail(strict=True, reason="the 90% department-kind target is not reached yet (see README)")
def test_heldout_department_kind_target() -> None:
    assert accuracy("heldout")["kind"] >= TARGET
