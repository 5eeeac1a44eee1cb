"""Handing a hotspot down (交办): the work order to the department of the hotspot's kind at the level asked (pure).

The summary names the common problem (the longest phrase every ticket's text shares), the count, the places and the
ticket numbers, never a complainant: a phrase all of several people's texts share is the matter, not a person."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bancheng_shared.contracts.limits import CONTENT_MAX, TITLE_MAX
from bancheng_shared.contracts.oversight import HotspotHandedDown
from bancheng_shared.errors import Problem

PHRASE_MIN = 2  # shorter runs of shared characters are not a phrase
SUMMARY_TICKETS_MAX = 200  # ticket numbers named in the summary (the event carries them all)


def common_phrase(texts: Sequence[str]) -> str | None:
    """The longest run of characters every text contains (whitespace and punctuation break a run), or None."""
    cleaned = [re.sub(r"\s+", "", t) for t in texts if t]
    if not cleaned:
        return None
    first, rest = min(cleaned, key=len), cleaned
    best = ""
    for i in range(len(first)):
        # grow from i while every text still has it: the longest shared run starting at i
        j = i + len(best) + 1
        while j <= len(first) and all(first[i:j] in t for t in rest):
            best = first[i:j]
            j += 1
    best = re.sub(r"^[，。、；：！？,.;:!?（）()\s]+|[，。、；：！？,.;:!?（）()\s]+$", "", best)
    return best if len(best) >= PHRASE_MIN else None


def common_region(places: Sequence[str]) -> str | None:
    """The longest region code prefix of all the places (the city for places in several districts)."""
    if not places:
        return None
    head = places[0]
    for p in places[1:]:
        n = 0
        while n < min(len(head), len(p)) and head[n] == p[n]:
            n += 1
        head = head[:n]
    # region codes go by 2, 4, 6, 9, 12 digits: cut to the last whole level
    for cut in (12, 9, 6, 4, 2):
        if len(head) >= cut:
            return head[:cut]
    return None


@dataclass(frozen=True)
class HandDown:
    """The order to keep and the event to publish."""

    row: dict[str, Any]
    event: HotspotHandedDown


def refuse_twice(hotspot_id: str, existing: Any) -> None:
    """409 naming the work order a hotspot was handed down as (its ticket, once intake registered it)."""
    if existing is None:
        return
    ticket = existing.ticket_no
    where = f"ticket {ticket}" if ticket else f"a ticket intake is registering (handed down at " \
                                               f"{existing.handed_down_at.isoformat()})"
    raise Problem(409, f"hotspot {hotspot_id} was already handed down as {where}", type_="already-handed-down",
                  ticket_no=ticket)


def hand_down(hotspot: Any, texts: Sequence[str], *, level: int, by_name: str, now: datetime) -> HandDown:
    """The work order of a hotspot: title, summary (problem, count, places, ticket numbers), kind and level."""
    nos, places = list(hotspot.ticket_nos), list(hotspot.places)
    phrase = common_phrase(texts)
    problem = phrase or hotspot.title
    title = f"高频共性问题交办：{problem}"[:TITLE_MAX]
    named = "、".join(nos[:SUMMARY_TICKETS_MAX]) + ("等" if len(nos) > SUMMARY_TICKETS_MAX else "")
    summary = (f"共性问题：{problem}。近期共{len(nos)}件同类工单，涉及{len(places)}个地方（{'、'.join(places)}）。"
               f"请作为牵头部门从面上统筹解决，单件工单仍由属地办理。工单号：{named}。")[:CONTENT_MAX]
    event = HotspotHandedDown(
        hotspot_id=hotspot.hotspot_id, department_kind=hotspot.kind, category=hotspot.category, title=title,
        summary=summary, unit_level=level, region_code=common_region(places), ticket_nos=nos, places=places,
        handed_down_at=now)
    row = {"hotspot_id": hotspot.hotspot_id, "department_kind": hotspot.kind, "unit_level": level, "title": title,
           "summary": summary, "ticket_no": None, "by_name": by_name, "handed_down_at": now}
    return HandDown(row, event)
