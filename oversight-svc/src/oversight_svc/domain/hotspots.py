"""Hotspots (高频共性问题, Chongqing): the same kind of problem raised in several places within a window — mined
and handed top-down to the responsible department, while each ticket still goes to its local unit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HotspotTicket:
    """A ticket as hotspot mining sees it."""

    ticket_no: str
    kind: str
    category: str | None
    region_code: str | None
    text: str


def _place(region_code: str | None, level_digits: int) -> str | None:
    return region_code[:level_digits] if region_code and len(region_code) >= level_digits else region_code


def _shingles(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


def similarity(a: set[str], b: set[str]) -> float:
    """Overlap coefficient of two character-bigram sets (robust to one text being longer)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving keeps the union-find flat
        i = parent[i]
    return i


def find_hotspots(items: Sequence[HotspotTicket], *, min_places: int, threshold: float,
                  place_digits: int) -> list[dict[str, Any]]:
    """Groups of tickets of the same kind and category, with similar text, in at least min_places places."""
    by_kind: dict[tuple[str, str | None], list[HotspotTicket]] = {}
    for it in items:
        by_kind.setdefault((it.kind, it.category), []).append(it)
    out: list[dict[str, Any]] = []
    for (kind, category), group in by_kind.items():
        places_in_group = {_place(t.region_code, place_digits) for t in group}
        if len(places_in_group) < min_places:
            continue
        sh = [_shingles(t.text) for t in group]
        parent = list(range(len(group)))
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                if similarity(sh[i], sh[j]) >= threshold:
                    parent[_find(parent, i)] = _find(parent, j)
        clusters: dict[int, list[int]] = {}
        for i in range(len(group)):
            clusters.setdefault(_find(parent, i), []).append(i)
        for idx in clusters.values():
            members = [group[i] for i in idx]
            places = sorted({p for t in members if (p := _place(t.region_code, place_digits))})
            if len(places) < min_places:
                continue
            nos = sorted(t.ticket_no for t in members)
            common = set.intersection(*(sh[i] for i in idx))
            hid = "HS-" + hashlib.sha1(f"{kind}|{category}|{nos[0]}".encode()).hexdigest()[:10]
            out.append({
                "hotspot_id": hid,
                "kind": kind,
                "category": category,
                "title": f"{kind}: {len(nos)} similar tickets in {len(places)} places",
                "ticket_nos": nos,
                "places": places,
                "common_terms": sorted(common)[:20],
            })
    out.sort(key=lambda h: (-len(h["places"]), -len(h["ticket_nos"]), h["hotspot_id"]))
    return out
