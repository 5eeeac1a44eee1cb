"""Region names. Oversight learns each unit's name and region from the dispatches it consumes (triage's directory);
a region is called by the place its local government stands for, the way triage names places: 东湖区人民政府 →
东湖区, 东湖区城关街道办事处 → 东湖区城关街道. A region whose government oversight has not seen is called by what its
units' names share up to a place word (东湖区市场监管局, 东湖区公安局 → 东湖区); else it has no name (its code is
shown)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

# a local government's name ends with one of these; what comes before is its place (longest first)
GOV_SUFFIXES = ("人民政府", "居民委员会", "村民委员会", "办事处", "居委会", "村委会", "管委会")
PLACE_WORDS = ("街道", "社区", "区", "县", "市", "旗", "镇", "乡", "村")


def place_of(name: str) -> str | None:
    """The place a local government's name stands for, or None when the name is not a local government's."""
    for suffix in GOV_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def shared_place(names: Iterable[str]) -> str | None:
    """What two or more units' names share, cut after its last place word; None when they share no place."""
    distinct = sorted(set(names))
    if len(distinct) < 2:
        return None
    first, last = distinct[0], distinct[-1]  # sorted: what the first and the last share, all share
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    common = first[:n]
    cut = max((common.rfind(w) + len(w) for w in PLACE_WORDS if w in common), default=0)
    return common[:cut] or None


def region_names(units: Iterable[tuple[str | None, str | None]]) -> dict[str, str]:
    """Each region's name from its units' (region_code, name) pairs (regions without one are left out)."""
    by_region: dict[str, list[str]] = defaultdict(list)
    for code, name in units:
        if code and name:
            by_region[code].append(name)
    out: dict[str, str] = {}
    for code, names in by_region.items():
        places = sorted(p for p in map(place_of, names) if p)
        name = places[0] if places else shared_place(names)
        if name:
            out[code] = name
    return out
