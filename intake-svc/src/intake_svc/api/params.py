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
    """Where a try of a ticket's proof comes from, for the throttle: the client's address, or the address a trusted
    proxy (the console, INTAKE_TRUSTED_PROXIES) says it forwards for (the last hop it appended)."""
    peer = request.client.host if request.client else "unknown"
    if peer in request.app.state.runtime.settings.trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:64]
    return peer[:64]
