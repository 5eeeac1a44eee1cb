"""A year's calendar as loaded through the API: parsed and checked, each error naming the field and the date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bancheng_shared.calendar import YearCalendar
from bancheng_shared.errors import Problem


def validate_year_payload(year: int, holidays: Sequence[Mapping[str, Any]],
                          workdays: Sequence[Mapping[str, Any]]) -> tuple[YearCalendar | None, list[dict[str, str]]]:
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
    if errors:
        return None, errors
    cal = YearCalendar(year=year, holidays=parsed["holidays"], workdays=parsed["workdays"])
    errors.extend({"field": "body", "message": m} for m in cal.validate())
    return (None, errors) if errors else (cal, [])


def year_to_load(year: int, holidays: Sequence[Mapping[str, Any]],
                 workdays: Sequence[Mapping[str, Any]]) -> YearCalendar:
    """A year's calendar ready to store, or a 422 naming every field that is wrong."""
    if not 1949 <= year <= 2200:
        raise Problem(422, f"year {year} is out of range (1949..2200)", type_="invalid-calendar",
                      errors=[{"field": "year", "message": "out of range"}])
    cal, errors = validate_year_payload(year, holidays, workdays)
    if cal is None:
        raise Problem(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), type_="invalid-calendar",
                      errors=errors)
    return cal
