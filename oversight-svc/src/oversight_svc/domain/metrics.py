"""The counters oversight keeps per unit and period (one rollup column each), and a unit's region."""

from __future__ import annotations

from datetime import date

# Counters kept per unit and period (one column each in the rollups).
METRICS: tuple[str, ...] = (
    "received",  # delivered to the unit (lead or co-unit)
    "dispatched",  # dispatched to it as lead unit
    "signed",  # signed for (by the unit or deemed)
    "signed_in_time",  # signed by the unit itself within the acceptance window
    "deemed_signed",  # the window passed: counted as signed (逾期视为签收)
    "returned",  # return requests
    "return_approved",  # return requests the work team approved
    "resolved",  # results submitted (办结), any outcome
    "self_resolved",  # results the unit reported as fully resolved
    "resolved_in_time",  # results submitted by the (extended) deadline
    "overdue",  # rounds that reached the alarm (overdue)
    "extended",  # extensions granted
    "urged",  # urge notices (催办)
    "supervised",  # escalations to supervision and supervision cases naming the unit
    "visited",  # return visits that reached the person
    "unreachable",  # return visits that could not reach the person
    "visit_yes",  # the person said: resolved
    "visit_partly",  # the person said: partly resolved
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "claimed_visited",  # reached visits of rounds the unit reported as resolved
    "claimed_denied",  # ... where the person said it was not (or only partly) resolved
    "redone",  # redo orders (发回重办)
    "accountability",  # accountability measures decided
    "recheck_due",  # closed rounds sampled for a re-check visit (回头看)
    "rechecked",  # re-check visits made
    "recheck_relapsed",  # ... where the problem had come back
)

# What each counter counts (the API's schema descriptions), in METRICS order.
METRIC_NOTES: dict[str, str] = {
    "received": "work orders delivered to the unit (lead or co-unit)",
    "dispatched": "work orders dispatched to it as lead unit",
    "signed": "signed for (by the unit, or deemed when the window passed)",
    "signed_in_time": "signed by the unit itself within the acceptance window",
    "deemed_signed": "counted as signed when the window passed (逾期视为签收)",
    "returned": "return requests",
    "return_approved": "return requests the work team approved",
    "resolved": "results submitted (办结), any outcome",
    "self_resolved": "results the unit reported as fully resolved",
    "resolved_in_time": "results submitted by the (extended) deadline",
    "overdue": "rounds that reached the alarm (overdue)",
    "extended": "extensions granted",
    "urged": "urge notices (催办)",
    "supervised": "escalations to supervision and supervision cases naming the unit",
    "visited": "return visits that reached the person",
    "unreachable": "return visits that could not reach the person",
    "visit_yes": "the person said: resolved",
    "visit_partly": "the person said: partly resolved",
    "satisfied": "the person was satisfied",
    "basically_satisfied": "the person was basically satisfied",
    "unsatisfied": "the person was unsatisfied",
    "claimed_visited": "reached visits of rounds the unit reported as resolved",
    "claimed_denied": "of those, the person said it was not (or only partly) resolved",
    "redone": "redo orders (发回重办)",
    "accountability": "accountability measures decided",
    "recheck_due": "closed work orders sampled for a re-check visit (回头看), in the round's dispatch period",
    "rechecked": "re-check visits made (回头看)",
    "recheck_relapsed": "re-check visits that found the problem back",
}
assert tuple(METRIC_NOTES) == METRICS

# Counted for a work order round in the period it was DISPATCHED in (its cohort), whenever they happen: the round's
# sign, result, overdue, extension and return visits. So every rate's numerator belongs to its denominator's period
# and no rate leaves [0, 1]. These columns are derived from the rounds and visits tables alone (rebuild-rollups).
# The others count on the day of their own event (dispatches, returns, urges, supervision, accountability); the
# re-check counters (回头看) also count in the round's dispatch period, from the rechecks table (not rebuilt here).
COHORT_METRICS: tuple[str, ...] = (
    "signed", "signed_in_time", "deemed_signed", "resolved", "self_resolved", "resolved_in_time", "overdue",
    "extended", "visited", "unreachable", "visit_yes", "visit_partly", "satisfied", "basically_satisfied",
    "unsatisfied", "claimed_visited", "claimed_denied", "redone",
)
assert set(COHORT_METRICS) <= set(METRICS)

# A unit's row of statistics: who it is, then its counters in METRICS order (the rollup query's columns).
ROW_KEYS: tuple[str, ...] = ("unit", "name", "region_code", "level", *METRICS)
AT: dict[str, int] = {k: i for i, k in enumerate(ROW_KEYS)}  # column -> position in a row

# (unit, local day, counter deltas): what one fact adds to a unit's rollups
Count = tuple[str, date, dict[str, int]]


def unit_region(unit: str, dispatched_region: str | None) -> str | None:
    """A unit's region: the numeric prefix of its code ('339901-market_regulation'), else the dispatch's."""
    head = unit.split("-", 1)[0]
    return head if head.isdigit() else dispatched_region
