"""What triage's handlers and queries share: the settings and the per-process caches (built once in main.py)."""

from __future__ import annotations

from dataclasses import dataclass

from triage_svc.adapters.caches import Caches
from triage_svc.settings import TriageSettings


@dataclass
class Triage:
    """triage's context: handed to every handler (through the message bus) and to the queries."""

    settings: TriageSettings
    caches: Caches
