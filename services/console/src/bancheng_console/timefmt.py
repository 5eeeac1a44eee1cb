"""Plain local dates and times (Asia/Shanghai) and time left on a clock, in the user's language (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

# an ISO 8601 time inside a label the services wrote, e.g. "截止 2026-12-11T23:59:59.999999+08:00"
ISO_IN_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")


def parse(value: str | datetime | None) -> datetime | None:
    """An aware datetime from the APIs' ISO text (naive is taken as UTC)."""
    if value is None or value == "":
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _end_of_day(local: datetime) -> bool:
    return (local.hour, local.minute, local.second) == (23, 59, 59)


def local_datetime(value: str | datetime | None, tz: tzinfo, lang: str, now: datetime | None = None) -> str:
    """"2026年12月11日 17:30" (the year left out when it is this year: "12月11日 17:30"); a deadline at the end of a
    day is the date alone."""
    dt = parse(value)
    if dt is None:
        return ""
    local = dt.astimezone(tz)
    this_year = (now or datetime.now(UTC)).astimezone(tz).year == local.year
    if lang == "en":
        date = local.strftime("%d %b") if this_year else local.strftime("%d %b %Y")
        return date if _end_of_day(local) else f"{date} {local:%H:%M}"
    date = f"{local.month}月{local.day}日" if this_year else f"{local.year}年{local.month}月{local.day}日"
    return date if _end_of_day(local) else f"{date} {local:%H:%M}"


def local_date(value: str | datetime | None, tz: tzinfo, lang: str) -> str:
    """"2026年12月11日" with the year always (for a person's page that may be read much later)."""
    dt = parse(value)
    if dt is None:
        return ""
    local = dt.astimezone(tz)
    return local.strftime("%d %b %Y") if lang == "en" else f"{local.year}年{local.month}月{local.day}日"


def full_datetime(value: str | datetime | None, tz: tzinfo, lang: str) -> str:
    """"2026年12月11日 17:30", the year always (a person's page may be read long after)."""
    dt = parse(value)
    if dt is None:
        return ""
    return f"{local_date(dt, tz, lang)} {dt.astimezone(tz):%H:%M}"


def duration(delta: timedelta, t: Callable[..., str]) -> str:
    """"2 天 3 小时", "5 小时", "40 分钟": the two largest units, rounded down."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("dur.days", n=days) + (" " + t("dur.hours", n=hours) if hours else "")
    if hours:
        return t("dur.hours", n=hours)
    return t("dur.minutes", n=max(mins, 1))


def time_left(due: str | datetime | None, now: datetime, t: Callable[..., str]) -> tuple[str, bool]:
    """The time left before a deadline as text, and whether it has passed."""
    dt = parse(due)
    if dt is None:
        return t("left.none"), False
    delta = dt - now
    if delta.total_seconds() < 0:
        return t("left.overdue", d=duration(delta, t)), True
    return t("left.remaining", d=duration(delta, t)), False


def humanize(text: str, tz: tzinfo, lang: str, now: datetime | None = None) -> str:
    """A service's label with every ISO time in it written as a plain local time."""
    return ISO_IN_TEXT.sub(lambda m: local_datetime(m.group(0), tz, lang, now), text)
