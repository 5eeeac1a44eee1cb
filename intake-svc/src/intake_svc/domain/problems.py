"""The refusal that names one field (422, or 400 for a query parameter) as every intake answer does."""

from __future__ import annotations

from bancheng_shared.errors import Problem


def field_problem(field: str, message: str, status: int = 422) -> Problem:
    """A validation problem naming one field."""
    return Problem(status, f"{field}: {message}", type_="validation", errors=[{"field": field, "message": message}])
