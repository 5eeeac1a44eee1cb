"""Identifiers oversight gives its records."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """A short unique id with a readable prefix (CASE-…, LTR-…, RV-…, ACC-…)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
