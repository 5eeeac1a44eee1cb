"""Field limits from one place: the HTTP edge checks them, the contracts carry them, every store is sized by them.

A text field refuses control characters (NUL and the like; tab, newline and carriage return are text) with a 422
naming the field: PostgreSQL cannot store NUL, and a byte that breaks a log line or an XML export is not a word.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

TICKET_NO_MAX = 40
CONTENT_MAX = 10_000  # a request's text, a follow-up, a reply to the person
TITLE_MAX = 500
NAME_MAX = 200  # a person's, a unit's, a key's name; a short label
REASON_MAX = 2_000  # a reason, a basis, a note, a ruling
ADDRESS_MAX = 500
REGION_CODE_MAX = 64
UNIT_CODE_MAX = 64
EXTERNAL_ID_MAX = 200  # a channel's or a platform's own id
PHONE_MAX = 30
URL_MAX = 2_000
EXPLANATION_LINE_MAX = 500  # one line of a decision's explanation

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(value: str) -> str:
    """Refuse NUL and other control characters (tab, newline and carriage return are allowed)."""
    m = _CONTROL.search(value)
    if m is not None:
        raise ValueError(f"control character U+{ord(m.group()):04X} at position {m.start()} is not allowed")
    return value


# Each alias is `str` with its limit and the control-character check (use Field(min_length=…) where one is needed).
Content = Annotated[str, StringConstraints(max_length=CONTENT_MAX), AfterValidator(no_control_characters)]
Title = Annotated[str, StringConstraints(max_length=TITLE_MAX), AfterValidator(no_control_characters)]
Name = Annotated[str, StringConstraints(max_length=NAME_MAX), AfterValidator(no_control_characters)]
Reason = Annotated[str, StringConstraints(max_length=REASON_MAX), AfterValidator(no_control_characters)]
Address = Annotated[str, StringConstraints(max_length=ADDRESS_MAX), AfterValidator(no_control_characters)]
RegionCode = Annotated[str, StringConstraints(max_length=REGION_CODE_MAX), AfterValidator(no_control_characters)]
UnitCode = Annotated[str, StringConstraints(max_length=UNIT_CODE_MAX), AfterValidator(no_control_characters)]
TicketNo = Annotated[str, StringConstraints(max_length=TICKET_NO_MAX), AfterValidator(no_control_characters)]
ExternalId = Annotated[str, StringConstraints(max_length=EXTERNAL_ID_MAX), AfterValidator(no_control_characters)]
Phone = Annotated[str, StringConstraints(max_length=PHONE_MAX), AfterValidator(no_control_characters)]
ExplanationLine = Annotated[str, StringConstraints(max_length=EXPLANATION_LINE_MAX),
                            AfterValidator(no_control_characters)]
