"""Open311 GeoReport v2: our categories as services, our statuses as open/closed, JSON and XML (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

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


class Open311Error(Exception):
    """An error in GeoReport's own format."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def service_list() -> list[dict[str, Any]]:
    """GET services: every service with GeoReport's fields."""
    return [{**s, "metadata": False, "type": "realtime"} for s in SERVICES]


def service_definition(code: str) -> dict[str, Any]:
    """GET services/{code}: no extra attributes are asked."""
    if code not in BY_CODE:
        raise Open311Error(404, f"service_code {code!r} not found")
    return {"service_code": code, "attributes": []}


def status_of(status: str, closed_statuses: list[str]) -> str:
    """Our status in GeoReport's two words."""
    return "closed" if status in closed_statuses or status == "resolved" else "open"


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def request_view(row: Any, closed_statuses: list[str]) -> dict[str, Any]:
    """A ticket as a GeoReport service request (no complainant data)."""
    code = row.category or row.category_hint or "complaint"
    return {
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
        "media_url": None,
    }


_PLURAL = {"services": "service", "service_requests": "request", "errors": "error"}


def to_xml(root: str, items: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """GeoReport XML: <services><service>…</service></services> etc."""
    top = ET.Element(root)
    rows = items if isinstance(items, list) else [items]
    for item in rows:
        el = ET.SubElement(top, _PLURAL.get(root, "item")) if isinstance(items, list) else top
        _fill(el, item)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode()


def _fill(el: ET.Element, item: dict[str, Any]) -> None:
    for k, v in item.items():
        child = ET.SubElement(el, k)
        if isinstance(v, list):
            for x in v:
                _fill(ET.SubElement(child, "attribute"), x) if isinstance(x, dict) else None
        elif isinstance(v, bool):
            child.text = "true" if v else "false"
        elif v is not None:
            child.text = str(v)
