"""A year's calendar as loaded through the API: parsed and checked, each error naming the field and the date.

A real Chinese year always has statutory holidays (元旦, 春节, …): a year loaded without any is refused (422 naming
`holidays`) unless the caller says so on purpose with `no_holidays: true` (drills, tests), so an empty body never
turns a whole year into plain weekdays by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bancheng_shared.calendar import YearCalendar
from bancheng_shared.errors import Problem
from sla_svc.domain.bounds import check_year


def validate_year_payload(year: int, holidays: Sequence[Mapping[str, Any]], workdays: Sequence[Mapping[str, Any]],
                          *, no_holidays: bool = False) -> tuple[YearCalendar | None, list[dict[str, str]]]:
    """Parse and check a year's calendar; errors name the field and the date that is wrong."""
    errors: list[dict[str, str]] = []
    parsed: dict[str, dict[date, str]] = {"holidays": {}, "workdays": {}}
    for field_name, items in (("holidays", holidays), ("workdays", workdays)):
        for i, item in enumerate(items):
            where = f"{field_name}[{i}].date"
            raw = item.get("date")
            if not isinstance(raw, str):
                errors.append({"field": where, "message": f"missing or not a string: {raw!r}"})
                continue
            try:
                d = date.fromisoformat(raw)
                if len(raw) != 10:
                    raise ValueError
            except ValueError:
                errors.append({"field": where, "message": f"{raw!r} is not a date (YYYY-MM-DD)"})
                continue
            if d.year != year:
                errors.append({"field": where, "message": f"{raw} is not in year {year}"})
                continue
            if d in parsed[field_name]:
                errors.append({"field": where, "message": f"{raw} is listed twice in {field_name}"})
                continue
            if field_name == "workdays" and d.weekday() < 5:
                errors.append({"field": where, "message": f"{raw} is a weekday; a make-up working day "
                               "(调休上班) must be a Saturday or Sunday"})
                continue
            name = item.get("name", "")
            parsed[field_name][d] = str(name or "")
    for d in sorted(set(parsed["holidays"]) & set(parsed["workdays"])):
        i = [h.get("date") for h in workdays].index(d.isoformat())
        errors.append({"field": f"workdays[{i}].date",
                       "message": f"{d.isoformat()} overlaps: it is both a holiday and a make-up working day"})
    if not holidays and not no_holidays:
        errors.append({"field": "holidays", "message": f"no statutory holidays listed for {year}: a real year always "
                       "has them (元旦, 春节, …); to load a year without any on purpose (a drill), send "
                       "\"no_holidays\": true"})
    elif holidays and no_holidays:
        errors.append({"field": "no_holidays", "message": f"true says {year} has no statutory holidays, but "
                       f"{len(holidays)} are listed"})
    if errors:
        return None, errors
    cal = YearCalendar(year=year, holidays=parsed["holidays"], workdays=parsed["workdays"])
    errors.extend({"field": "body", "message": m} for m in cal.validate())
    return (None, errors) if errors else (cal, [])


def year_to_load(year: int, holidays: Sequence[Mapping[str, Any]], workdays: Sequence[Mapping[str, Any]],
                 *, no_holidays: bool = False) -> YearCalendar:
    """A year's calendar ready to store, or a 422 naming every field that is wrong."""
    check_year(year)
    cal, errors = validate_year_payload(year, holidays, workdays, no_holidays=no_holidays)
    if cal is None:
        raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), type_="invalid-calendar",
                      errors=errors)
    return cal
