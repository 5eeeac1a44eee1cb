"""Measured quality on the labelled evaluation set (tests/data/eval_set.jsonl). Prints the figures; gates them.

Three parts: `tune` (used to write and tune the catalogue), `dev` (the first held-out part: 73 requests that
were held out until the catalogue's second expansion, during which their results were looked at, so they are
no longer blind) and `heldout` (120 requests written afterwards by someone who saw neither the catalogue nor
the other parts, scored once as written; never used to edit the catalogue or the model).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from triage_svc.domain import classifier
from triage_svc.domain.catalogue import load_catalogue

DATA = Path(__file__).parent / "data" / "eval_set.jsonl"
TARGET = 0.90  # issue 4: department kind on the held-out part
# regression floors: just under what the shipped catalogue reaches today (see the README)
FLOORS = {
    "heldout": {"kind": TARGET, "route": 0.90, "category": 0.80},
    "dev": {"kind": 0.94, "route": 0.95, "category": 0.95},
}


def _rows(split: str) -> list[dict[str, str]]:
    return [r for r in (json.loads(x) for x in DATA.read_text("utf-8").splitlines() if x) if r["split"] == split]


@cache
def accuracy(split: str) -> dict[str, float]:
    c = classifier.compile_catalogue(load_catalogue(), 0)
    rows = _rows(split)
    ok = {"kind": 0, "route": 0, "category": 0}
    for r in rows:
        d = classifier.classify(r["text"], c)
        ok["kind"] += d.target_kind == r["kind"]
        ok["route"] += d.route.value == r["route"]
        ok["category"] += d.category.value == r["category"]
    return {k: v / len(rows) for k, v in ok.items()} | {"n": float(len(rows))}


def test_eval_set_is_big_enough_and_split() -> None:
    assert len(_rows("tune")) + len(_rows("dev")) + len(_rows("heldout")) >= 150
    assert len(_rows("heldout")) >= 100
    texts = [r["text"] for s in ("tune", "dev", "heldout") for r in _rows(s)]
    assert len(set(texts)) == len(texts)
    kinds = {r["kind"] for r in _rows("heldout")}
    assert len(kinds) >= 30  # the held-out part spans (nearly) every department kind
    assert {r["route"] for r in _rows("heldout")} == {"dispatch", "answer", "petition", "legal"}


def test_quality_gates() -> None:
    print()
    for split in ("tune", "dev", "heldout"):
        print(f"{split:<8} {accuracy(split)}")
    for split, floors in FLOORS.items():
        got = accuracy(split)
        for figure, floor in floors.items():
            assert got[figure] >= floor, (split, figure, got[figure])


def test_heldout_department_kind_target() -> None:
    assert accuracy("heldout")["kind"] >= TARGET
