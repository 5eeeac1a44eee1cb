"""Open311 GeoReport v2 (pure): our categories as services, our statuses as open/closed, who reads what, the
query window, service discovery, and JSON / well-formed XML.

Who reads what: the roles that may list tickets read the GeoReport view of the tickets they may list (staff every
ticket, a unit the tickets now at its unit). A front end or a platform reads only the requests it submitted itself;
it sees the text, place and media of a ticket it filed first, and only the status fields of a 举报 report (the
text of a report about wrongdoing, its place and its informant go to no front end or platform: a front end may
show GeoReport lists to the public) or of a repeat it filed that was merged into someone else's ticket. No view
ever carries complainant data.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from bancheng_shared.contracts.limits import no_control_characters
from bancheng_shared.principal import Principal, Role
from intake_svc.domain.merging import MERGED
from intake_svc.domain.pii import is_report

SERVICES: list[dict[str, Any]] = [
    {"service_code": "complaint", "service_name": "投诉 Complaint", "group": "诉求 Requests",
     "description": "对单位或个人行为的投诉 / a complaint about a unit or a business", "keywords": "投诉,complaint"},
    {"service_code": "report", "service_name": "举报 Report", "group": "诉求 Requests",
     "description": "举报违法违规行为（举报人信息保密）/ report wrongdoing (the informant is protected)",
     "keywords": "举报,report"},
    {"service_code": "consult", "service_name": "咨询 Enquiry", "group": "诉求 Requests",
     "description": "政策、办事咨询 / ask about a policy or a procedure", "keywords": "咨询,consult"},
    {"service_code": "help", "service_name": "求助 Help", "group": "诉求 Requests",
     "description": "生活求助 / ask for help", "keywords": "求助,help"},
    {"service_code": "suggestion", "service_name": "建议 Suggestion", "group": "诉求 Requests",
     "description": "意见建议 / a suggestion", "keywords": "建议,suggestion"},
    {"service_code": "praise", "service_name": "表扬 Praise", "group": "诉求 Requests",
     "description": "表扬 / praise", "keywords": "表扬,praise"},
]
BY_CODE = {s["service_code"]: s for s in SERVICES}
FORMATS = ("json", "xml")
MEDIA_TYPES = {"json": "application/json", "xml": "application/xml"}
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00Z"  # when the services or their definitions last changed
DEFAULT_WINDOW = timedelta(days=90)  # GeoReport: the default query and the widest range
MAX_REQUESTS = 1000  # GeoReport: at most 1000 requests per answer
MAX_IDS = 200
STAFF = frozenset({Role.admin, Role.operator, Role.work_team, Role.inspector, Role.supervision_office,
                   Role.business_environment, Role.leader})
SUBMITTERS = frozenset({Role.admin, Role.operator, Role.frontend, Role.platform})
_TICKET_NO = re.compile(r"^BC[0-9A-Z]{1,38}\Z")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?\Z")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PUBLIC_ONLY = ("description", "address", "address_id", "zipcode", "lat", "long", "media_url")


class Open311Error(Exception):
    """An error in GeoReport's own format."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Scope(StrEnum):
    """Which tickets a caller's Open311 reads cover."""

    all = "all"  # staff
    unit = "unit"  # a unit: the tickets now at its unit
    own = "own"  # a front end or platform: the requests it submitted


def scope_of(who: Principal) -> Scope:
    """The tickets this caller may read through Open311."""
    if who.role in STAFF:
        return Scope.all
    return Scope.unit if who.role == Role.unit else Scope.own


def check_submitter(who: Principal) -> None:
    """Who may file a service request: the roles that register tickets (operators, front ends, platforms)."""
    if who.role not in SUBMITTERS:
        raise Open311Error(403, f"role {who.role.value!r} may not submit service requests")


def shows_detail(who: Principal, row: Any) -> bool:
    """Whether the caller sees a request's text, place and media, or only its status fields."""
    if scope_of(who) != Scope.own:
        return True
    return row.submitted_by == who.key_id and not is_report(row.category, row.category_hint)


def service_list() -> list[dict[str, Any]]:
    """GET services: every service with GeoReport's fields."""
    return [{**s, "metadata": False, "type": "realtime"} for s in SERVICES]


def service_definition(code: str) -> dict[str, Any]:
    """GET services/{code}: no extra attributes are asked."""
    if code not in BY_CODE:
        raise Open311Error(404, f"service_code {code[:100]!r} not found")
    return {"service_code": code, "attributes": []}


def discovery(base_url: str, contact: str) -> dict[str, Any]:
    """Service discovery (GET discovery): where the GeoReport v2 endpoint is and its formats."""
    return {"changeset": CHANGESET, "contact": contact,
            "key_service": "API 密钥由平台管理员发放；请在 Authorization: Bearer 头中发送 / keys are issued by the "
                           "platform's administrators; send them as Authorization: Bearer",
            "endpoints": [{"specification": SPECIFICATION, "url": f"{base_url.rstrip('/')}/open311/v2",
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}]}


def status_of(status: str, closed_statuses: list[str]) -> str:
    """Our status in GeoReport's two words (a ticket merged into another is closed: the other carries it)."""
    return "closed" if status in closed_statuses or status in ("resolved", MERGED) else "open"


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def request_view(row: Any, closed_statuses: list[str], *, detail: bool = True) -> dict[str, Any]:
    """A ticket as a GeoReport service request (no complainant data; without `detail` only its status fields)."""
    code = row.category or row.category_hint or "complaint"
    media = [a.get("url") for a in (row.attachments or []) if isinstance(a, dict) and a.get("url")]
    view = {
        "service_request_id": row.ticket_no,
        "status": status_of(row.status, closed_statuses),
        "status_notes": row.status_label,
        "service_name": BY_CODE.get(code, {}).get("service_name", code),
        "service_code": code,
        "description": row.content,
        "agency_responsible": row.unit_name,
        "service_notice": None,
        "requested_datetime": _iso(row.received_at),
        "updated_datetime": _iso(row.updated_at),
        "expected_datetime": _iso(row.deadline),
        "address": row.address,
        "address_id": row.region_code,
        "zipcode": None,
        "lat": row.latitude,
        "long": row.longitude,
        "media_url": media[0] if media else None,
    }
    if not detail:
        view.update(dict.fromkeys(_PUBLIC_ONLY))
    return view


# ---------------------------------------------------------------- parameters


def check_params(params: Mapping[str, str]) -> None:
    """No control characters in any parameter (400 naming it): they break logs, XML and the store."""
    for k, v in params.items():
        for text in (k, v):
            try:
                no_control_characters(text)
            except ValueError as exc:
                raise Open311Error(400, f"{k[:100]!r}: {exc}") from exc


def check_jurisdiction(params: Mapping[str, str], configured: str) -> None:
    """GeoReport's jurisdiction_id: optional here (one jurisdiction); another one is unknown (404)."""
    given = params.get("jurisdiction_id")
    if given and given != configured:
        raise Open311Error(404, f"jurisdiction_id {given[:100]!r} not found; this endpoint serves {configured!r}")


def ticket_ids(raw: str) -> list[str]:
    """The service_request_id values of a query (comma-delimited; ones that are no ticket number match nothing)."""
    return [i for i in (p.strip() for p in raw.split(",")[:MAX_IDS]) if _TICKET_NO.match(i)]


def is_ticket_no(text: str) -> bool:
    """A number this service could have issued (anything else is not found, without a look in the store)."""
    return bool(_TICKET_NO.match(text))


def service_codes(raw: str | None) -> list[str] | None:
    """The service_code filter (comma-delimited; unknown codes match nothing); None: every code."""
    if not raw:
        return None
    return [c for c in (p.strip() for p in raw.split(",")) if c in BY_CODE]


def status_filter(raw: str | None) -> set[str] | None:
    """GeoReport's status filter: open, closed or both, comma-delimited; None: every status."""
    if not raw:
        return None
    wanted = {p.strip() for p in raw.split(",") if p.strip()}
    if not wanted or not wanted <= {"open", "closed"}:
        raise Open311Error(400, "status: use open, closed or open,closed")
    return None if wanted == {"open", "closed"} else wanted


def parse_date(name: str, raw: str | None) -> datetime | None:
    """A W3C date-time with its time zone, in UTC (400 naming the parameter)."""
    if not raw:
        return None
    try:
        d = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name}: not a W3C date-time (e.g. 2026-01-01T00:00:00Z)") from exc
    if d.tzinfo is None:
        raise Open311Error(400, f"{name}: give a time zone")
    try:
        return d.astimezone(UTC)
    except OverflowError as exc:
        raise Open311Error(400, f"{name}: out of range") from exc


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The receipt window of a query: GeoReport's default is the last 90 days; a start alone covers 90 days from
    it, an end alone the 90 days before it; a range may not span more than 90 days."""
    try:
        if start is None and end is None:
            return now - DEFAULT_WINDOW, None
        if start is not None and end is None:
            return start, start + DEFAULT_WINDOW
        if start is None and end is not None:
            return end - DEFAULT_WINDOW, end
    except OverflowError as exc:
        raise Open311Error(400, "start_date / end_date: out of range") from exc
    assert start is not None and end is not None
    if end < start:
        raise Open311Error(400, "end_date: before start_date")
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, "start_date..end_date: may not span more than 90 days")
    return start, end


def coordinate(params: Mapping[str, str], name: str, limit: float) -> float | None:
    """lat / long as a finite number within ±limit (400 naming it)."""
    raw = params.get(name, "")
    if raw == "":
        return None
    try:
        v = float(raw)
    except ValueError as exc:
        raise Open311Error(400, f"{name}: not a number") from exc
    if not math.isfinite(v) or abs(v) > limit:
        raise Open311Error(400, f"{name}: not a coordinate (WGS84, at most ±{limit:g})")
    return v


def attributes(params: Mapping[str, str]) -> dict[str, str]:
    """The `attribute[code]` answers of a request (kept with its text: our services define none themselves)."""
    found: dict[str, str] = {}
    for k, v in params.items():
        m = _ATTRIBUTE.match(k)
        if m and v != "":
            found[m.group(1)] = v
    return found


def with_attributes(description: str, attrs: Mapping[str, str]) -> str:
    """The request's text with its attribute answers appended, so that triage and the operator read them."""
    if not attrs:
        return description
    return description + "\n\n附加属性 / attributes: " + "; ".join(f"{k}={v}" for k, v in attrs.items())


def nearest_region(lat: float, lon: float, places: Mapping[str, tuple[float, float] | list[float]],
                   max_km: float) -> str | None:
    """The region whose place (its seat, as configured) is nearest the coordinates, within `max_km`; None when
    there is none that near (the coordinates still travel with the ticket)."""
    best: tuple[float, str] | None = None
    for code, (plat, plon) in places.items():
        d = _km(lat, lon, float(plat), float(plon))
        if d <= max_km and (best is None or d < best[0]):
            best = (d, code)
    return best[1] if best else None


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


# ---------------------------------------------------------------- XML

_ITEM = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "endpoints": "endpoint", "formats": "format", "values": "value"}


def xml_text(value: str) -> str:
    """Text that XML 1.0 can carry: a character it cannot (a control character) becomes U+FFFD."""
    return _NOT_XML.sub("\ufffd", value)


def to_xml(root: str, items: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """GeoReport XML: <services><service>…</service></services> etc. (always well-formed)."""
    top = ET.Element(root)
    if isinstance(items, list):
        for item in items:
            _fill(ET.SubElement(top, _ITEM.get(root, "item")), item)
    else:
        _fill(top, items)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode()


def _fill(el: ET.Element, item: dict[str, Any]) -> None:
    for k, v in item.items():
        child = ET.SubElement(el, k)
        if isinstance(v, list):
            for x in v:
                sub = ET.SubElement(child, _ITEM.get(k, "item"))
                if isinstance(x, dict):
                    _fill(sub, x)
                else:
                    sub.text = xml_text(str(x))
        elif isinstance(v, bool):
            child.text = "true" if v else "false"
        elif v is not None:
            child.text = xml_text(str(v))
