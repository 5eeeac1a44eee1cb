"""What triage publishes fits what its consumers store (pure): every text an event carries is bounded by the
shared field limits (`bancheng_shared.contracts.limits`), cut with an ellipsis when it would not fit.

Texts a person sent are already refused at the HTTP edge when too long; what triage composes itself (tier reasons
joined from the catalogue's words, explanation lines quoting a reason, an actor's role and key name) is cut here.
"""

from __future__ import annotations

from bancheng_shared.contracts.limits import (
    CONTENT_MAX,
    EXPLANATION_LINE_MAX,
    NAME_MAX,
    REASON_MAX,
)

ELLIPSIS = "…"
KIND_MAX = 40  # a department kind (the directory's and the catalogue's `kind`, a correction's kind)
KNOWLEDGE_ID_MAX = 64  # a knowledge-base entry's id
ACTOR_MAX = NAME_MAX + 40  # the log's actor: the role, a colon and the key's name


def clip(text: str, limit: int) -> str:
    """The text, or its first characters and an ellipsis so that it is `limit` characters long."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def reason(text: str) -> str:
    """A reason, a ruling or a note as an event carries it (at most REASON_MAX characters)."""
    return clip(text, REASON_MAX)


def name(text: str) -> str:
    """A name or a short label as an event carries it (at most NAME_MAX characters)."""
    return clip(text, NAME_MAX)


def content(text: str) -> str:
    """A reply or an answer to the person as an event carries it (at most CONTENT_MAX characters)."""
    return clip(text, CONTENT_MAX)


def line(text: str) -> str:
    """One line of a decision's explanation (at most EXPLANATION_LINE_MAX characters)."""
    return clip(text, EXPLANATION_LINE_MAX)


def lines(texts: list[str]) -> list[str]:
    """Every line of an explanation bounded (the same list when every line fits, else a new one)."""
    if all(len(t) <= EXPLANATION_LINE_MAX for t in texts):
        return texts
    return [line(t) for t in texts]
