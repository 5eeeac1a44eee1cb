"""triage rules (pure), gathered: the shipped catalogue, classification, tiers, the state machine, routing."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from triage_svc.classifier import Compiled, Decision, classify, compile_catalogue
from triage_svc.directory import DirectoryIndex, UnitRef
from triage_svc.lifecycle import Action, State, TransitionRefused, allowed_actions, transition
from triage_svc.tiers import TierFacts, evaluate

__all__ = [
    "Action", "Compiled", "Decision", "DirectoryIndex", "State", "TierFacts", "TransitionRefused", "UnitRef",
    "allowed_actions", "choose_unit", "classify", "compile_catalogue", "evaluate", "load_catalogue", "transition",
]


def load_catalogue() -> dict[str, Any]:
    """The default routing catalogue shipped with the service."""
    return json.loads(resources.files("triage_svc").joinpath("data/catalogue.json").read_text("utf-8"))


def choose_unit(kind: str, region_code: str | None, candidates: list[UnitRef]) -> UnitRef | None:
    """The unit of the kind nearest to the place: same region, else up the hierarchy, else city level."""
    return DirectoryIndex.build(candidates).choose(kind, region_code)
