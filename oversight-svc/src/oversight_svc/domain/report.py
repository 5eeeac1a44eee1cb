"""A report's data from what the database gave (`ReportInputs`): the overview, the unit table, region names and each
figure's change from the previous period. Pure, so that it runs where the file is built (a worker process): the
statistics of a city's 20,000 units are CPU work the service's event loop should not wait on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from oversight_svc.domain import change, rates, regions

Row = tuple[Any, ...]


@dataclass(frozen=True, kw_only=True)
class PreviousPeriod:
    """The previous period of the same kind: its bounds, unit rows and tickets received."""

    start: date
    end: date
    rows: Sequence[Row]
    received: int


@dataclass(frozen=True, kw_only=True)
class ReportInputs:
    """What a report is made of, as read: unit rows (ROW_KEYS tuples), counts, lists, named units' regions."""

    period: str
    start: date
    end: date
    region: str | None
    generated_at: datetime
    policy: rates.RatePolicy
    rows: Sequence[Row]
    received: int
    red_track: dict[str, Any]
    overdue: list[dict[str, Any]]
    hotspots: list[dict[str, Any]]
    unit_regions: Sequence[tuple[str | None, str | None]] = ()  # (region_code, name) of every named unit
    previous: PreviousPeriod | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # sections' own data, passed through


def report_data(x: ReportInputs) -> dict[str, Any]:
    """The report's data: overview, unit table, overdue list, hotspots, region names, the change (环比)."""
    ov = rates.overview(x.rows, x.policy, start=x.start, end=x.end, region=x.region, received_tickets=x.received,
                        red_track=x.red_track)
    units = rates.unit_rows(x.rows, x.policy)
    names = regions.region_names(x.unit_regions)
    for row in (*ov["by_region"], *units, *x.overdue):
        row["region_name"] = names.get(row["region_code"] or "")
    diff = None
    if x.previous is not None:
        p = x.previous
        totals, by_region = rates.summary(p.rows, x.policy, received_tickets=p.received)
        before = {r["region_code"]: r for r in by_region}
        diff = {"from": p.start, "to": p.end, "totals": change.changes(ov["totals"], totals),
                "by_region": {r["region_code"]: change.changes(r, before.get(r["region_code"]))
                              for r in ov["by_region"]}}
    return {"period": x.period, "from": x.start, "to": x.end, "region": x.region,
            "region_name": names.get(x.region) if x.region else None, "generated_at": x.generated_at,
            "overview": ov, "units": units, "overdue": x.overdue, "hotspots": x.hotspots, "change": diff, **x.extra}
