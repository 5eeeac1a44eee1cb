"""Parameters shared by intake's routes, bounded and free of control characters (the shared field limits)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request
from pydantic import AfterValidator, Field

from bancheng_shared.contracts.limits import TicketNo, no_control_characters

Token = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_control_characters)]
Text40 = Annotated[str, Field(max_length=40), AfterValidator(no_control_characters)]
SearchText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_control_characters)]
Cursor = Annotated[str, Field(max_length=100), AfterValidator(no_control_characters)]
PathTicketNo = Annotated[TicketNo, Path(min_length=1, description="工单编号 / ticket number")]


def optional_text(value: str | None) -> str | None:
    """No control characters in an optional text (a header)."""
    return None if value is None else no_control_characters(value)


def source_of(request: Request) -> str:
    """Where a try of a ticket's proof comes from, for the throttle: the client's address."""
    return request.client.host[:64] if request.client else "unknown"
