"""Open311 GeoReport v2 on a running service: the key only in headers, no reads past a role (a front end or a
platform reads only what it submitted, a 举报 report's text and place go to no front end), discovery,
jurisdiction_id, status=open,closed, the 90-day default, attribute[], media_url, lat/long routing, well-formed XML
whatever a ticket holds, and no 5xx from any parameter."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hooks_support import PII_KEY
from intake_helpers import REGION
from sqlalchemy import update

from bancheng_services.testing import Databases, RunningService, auth, run_service
from intake_svc.adapters.tables import tickets

V2 = "/open311/v2"
PLACES = {REGION: (30.25, 120.16)}


@pytest.fixture
async def geo(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[RunningService]:
    """intake with the place of one region configured for lat/long routing."""
    url = await databases.new("intake")
    async with run_service("intake", database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           pii_key=PII_KEY, merge_refresh_s=0.2, open311_places=PLACES) as svc:
        yield svc


async def _staff_ticket(svc: RunningService, content: str, category: str | None = None) -> str:
    body = {"channel": "hotline", "content": content, "location": {"region_code": REGION, "address": "幸福小区3栋",
                                                                     "latitude": 30.2, "longitude": 120.1}}
    if category:
        body["category"] = category
    r = await svc.client.post("/v1/tickets", json=body, headers=auth("operator"))
    assert r.status_code == 201, r.text
    return str(r.json()["ticket_no"])


async def _post(svc: RunningService, who: str, **form: str) -> dict:
    r = await svc.client.post(f"{V2}/requests.json", data=form, headers=auth(who))
    assert r.status_code == 201, r.text
    return dict(r.json()[0])


async def test_the_key_goes_in_a_header_only(intake: RunningService) -> None:
    c = intake.client
    for fmt in ("json", "xml"):
        r = await c.get(f"{V2}/services.{fmt}", params={"api_key": "test-operator-key"})
        assert r.status_code == 400
        text = r.json()[0]["description"] if fmt == "json" else ET.fromstring(r.content).findtext("error/description")
        assert "Authorization" in text and "URL" in text
    # even with a valid header: the key in the URL leaked already, say so
    r = await c.get(f"{V2}/requests.json", params={"api_key": "x"}, headers=auth("operator"))
    assert r.status_code == 400
    r = await c.post(f"{V2}/requests.json", data={"api_key": "test-frontend-key", "service_code": "complaint",
                                                  "description": "树倒了", "address_string": "建设路"})
    assert r.status_code == 400
    assert (await c.get(f"{V2}/services.json", headers={"X-API-Key": "test-frontend-key"})).status_code == 200
    unauth = await c.get(f"{V2}/services.json")
    assert unauth.status_code == 401 and unauth.headers["www-authenticate"].startswith("Bearer")


async def test_no_reads_past_a_role(intake: RunningService) -> None:
    c = intake.client
    theirs = await _staff_ticket(intake, "某局工作人员收受企业红包，地点在某局三楼", category="report")
    mine = await _post(intake, "frontend", service_code="complaint", description="人行道上的树倒了",
                       address_string="建设路100号", lat="30.25", long="120.16")
    my_report = await _post(intake, "frontend", service_code="report", description="某店铺偷税漏税，老板姓王",
                            address_string="解放路8号")
    # a front end: only what it submitted; its report with status fields only
    listed = (await c.get(f"{V2}/requests.json", headers=auth("frontend"))).json()
    assert {r["service_request_id"] for r in listed} == {mine["service_request_id"], my_report["service_request_id"]}
    report_view = next(r for r in listed if r["service_request_id"] == my_report["service_request_id"])
    assert report_view["description"] is None and report_view["address"] is None and report_view["lat"] is None
    own = next(r for r in listed if r["service_request_id"] == mine["service_request_id"])
    assert own["description"] == "人行道上的树倒了" and own["lat"] == 30.25
    for fmt in ("json", "xml"):
        assert (await c.get(f"{V2}/requests/{theirs}.{fmt}", headers=auth("frontend"))).status_code == 404
    by_id = (await c.get(f"{V2}/requests.json", params={"service_request_id": theirs},
                         headers=auth("frontend"))).json()
    assert by_id == []
    xml = (await c.get(f"{V2}/requests.xml", headers=auth("platform"))).content
    assert "收受" not in xml.decode() and ET.fromstring(xml).findall("request") == []
    # the roles that may list tickets get the GeoReport view (still no complainant data)
    for who in ("operator", "work_team", "inspector", "supervision_office", "business_environment", "leader"):
        seen = {r["service_request_id"]: r for r in (await c.get(f"{V2}/requests.json", headers=auth(who))).json()}
        assert seen[theirs]["description"].startswith("某局工作人员") and len(seen) == 3, who
    # a unit: only the tickets now at its unit (none here)
    assert (await c.get(f"{V2}/requests.json", headers=auth("unit"))).json() == []
    assert (await c.get(f"{V2}/requests/{theirs}.json", headers=auth("unit"))).status_code == 404
    # who may submit: operators, front ends and platforms
    for who in ("work_team", "unit", "leader"):
        r = await c.post(f"{V2}/requests.json", data={"service_code": "complaint", "description": "x",
                                                     "address_string": "y"}, headers=auth(who))
        assert r.status_code == 403, who


async def test_a_repeat_merged_into_another_ticket_shows_its_status_only(intake: RunningService) -> None:
    c = intake.client
    theirs = await _staff_ticket(intake, "幸福小区门口烧烤摊油烟大噪音大到凌晨两点")
    repeat = await _post(intake, "frontend", service_code="complaint",
                         description="幸福小区门口烧烤摊油烟大噪音大到凌晨", address_id=REGION,
                         address_string="幸福小区 三栋")  # the same building: a region code alone is no place
    assert repeat["service_request_id"] == theirs and repeat["service_notice"]
    seen = (await c.get(f"{V2}/requests/{theirs}.json", headers=auth("frontend"))).json()[0]
    assert seen["status"] == "open" and seen["description"] is None and seen["address"] is None


async def test_discovery_jurisdiction_status_and_the_90_day_default(intake: RunningService) -> None:
    c = intake.client
    for fmt in ("json", "xml"):
        r = await c.get(f"/open311/discovery.{fmt}")  # public
        assert r.status_code == 200
    d = (await c.get("/open311/discovery.json")).json()
    assert d["endpoints"][0]["url"].endswith("/open311/v2") and "application/json" in d["endpoints"][0]["formats"]
    assert ET.fromstring((await c.get("/open311/discovery.xml")).content).findtext(
        "endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    recent = await _staff_ticket(intake, "路灯不亮")
    old = await _staff_ticket(intake, "井盖缺失")
    async with intake.runtime.unit_of_work() as uow:
        await uow.session.execute(update(tickets).where(tickets.c.ticket_no == old).values(
            received_at=datetime.now(UTC) - timedelta(days=100)))
    key = auth("operator")

    async def ids(**params: str) -> set[str]:
        r = await c.get(f"{V2}/requests.json", params=params, headers=key)
        assert r.status_code == 200, r.text
        return {x["service_request_id"] for x in r.json()}

    assert await ids() == {recent}  # the last 90 days by default
    start = (datetime.now(UTC) - timedelta(days=110)).isoformat()
    end = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    assert await ids(start_date=start, end_date=end) == {old}
    assert await ids(start_date=start) == {old}  # 90 days from the start
    assert await ids(status="open,closed") == {recent} and await ids(status="closed") == set()
    assert await ids(jurisdiction_id="bancheng") == {recent}
    wide = await c.get(f"{V2}/requests.json", params={"start_date": "2020-01-01T00:00:00Z",
                                                      "end_date": "2026-01-01T00:00:00Z"}, headers=key)
    assert wide.status_code == 400 and "90 days" in wide.json()[0]["description"]
    for path in ("services.json", "services/complaint.json", "requests.json", f"requests/{recent}.json",
                 "tokens/abc.json"):
        r = await c.get(f"{V2}/{path}", params={"jurisdiction_id": "elsewhere.gov"}, headers=key)
        assert r.status_code == 404 and "jurisdiction_id" in r.json()[0]["description"], path
    r = await c.post(f"{V2}/requests.json", data={"jurisdiction_id": "elsewhere.gov", "service_code": "complaint",
                                                  "description": "x", "address_string": "y"}, headers=auth("frontend"))
    assert r.status_code == 404


async def test_attributes_media_and_lat_long_are_kept(geo: RunningService) -> None:
    c = geo.client
    near = await _post(geo, "frontend", service_code="complaint", description="路面塌陷", lat="30.251",
                       long="120.161", **{"attribute[depth]": "50cm", "attribute[lanes][]": "2",
                                          "media_url": "https://img.example.cn/p/1.jpg"})
    staff = (await c.get(f"/v1/tickets/{near['service_request_id']}", headers=auth("operator"))).json()
    assert staff["region_code"] == REGION and staff["latitude"] == 30.251  # routed to the nearest place
    assert "depth=50cm" in staff["content"] and "lanes=2" in staff["content"]
    assert staff["attachments"][0]["url"] == "https://img.example.cn/p/1.jpg"
    own = (await c.get(f"{V2}/requests/{near['service_request_id']}.json", headers=auth("frontend"))).json()[0]
    assert own["media_url"] == "https://img.example.cn/p/1.jpg" and own["address_id"] == REGION
    far = await _post(geo, "frontend", service_code="complaint", description="北京某处路灯坏了", lat="39.9",
                      long="116.4")
    staff = (await c.get(f"/v1/tickets/{far['service_request_id']}", headers=auth("operator"))).json()
    assert staff["region_code"] is None and staff["latitude"] == 39.9  # no place that near: coordinates only
    bad = await c.post(f"{V2}/requests.json", data={"service_code": "complaint", "description": "x",
                                                    "address_string": "y", "media_url": "javascript:alert(1)"},
                       headers=auth("frontend"))
    assert bad.status_code == 400 and "media_url" in bad.json()[0]["description"]
    js = await c.post(f"{V2}/requests.json", json={"service_code": "complaint", "description": "路灯", "lat": 30.25,
                                                   "long": 120.16, "attribute": {"pole": "A-12"}},
                      headers=auth("frontend"))
    assert js.status_code == 201, js.text


async def test_xml_of_any_ticket_is_well_formed(intake: RunningService) -> None:
    no = await _staff_ticket(intake, "路灯不亮")
    async with intake.runtime.unit_of_work() as uow:  # text stored before control characters were refused
        await uow.session.execute(update(tickets).where(tickets.c.ticket_no == no).values(
            content="路灯\x01不亮\x1b[31m", address="3栋\x0b"))
    for path in (f"requests/{no}.xml", "requests.xml"):
        r = await intake.client.get(f"{V2}/{path}", headers=auth("operator"))
        assert r.status_code == 200
        assert ET.fromstring(r.content).findtext("request/description") == "路灯\ufffd不亮\ufffd[31m"


@pytest.mark.parametrize("query", [
    {"service_request_id": "\x00"}, {"service_request_id": "BC" + "9" * 300}, {"service_code": "a\x00"},
    {"start_date": "0001-01-01T00:00:00+05:00"}, {"end_date": "9999-12-31T23:59:59-05:00"},
    {"start_date": "9999-12-31T00:00:00Z"}, {"status": "open,closed,x"}, {"jurisdiction_id": "\x00"},
    {"start_date": "2026-01-01T00:00:00"}, {"service_request_id": ",".join(["BC1"] * 5000)},
])
async def test_no_5xx_from_any_parameter(intake: RunningService, query: dict) -> None:
    c = intake.client
    for fmt in ("json", "xml"):
        r = await c.get(f"{V2}/requests.{fmt}", params=query, headers=auth("operator"))
        assert r.status_code < 500, (query, r.text)
        if fmt == "xml":
            ET.fromstring(r.content)
    for path in ("requests/%00.json", "requests/BC%00.xml", "tokens/%00.json", "services/%00.xml",
                 f"tokens/{'a' * 5000}.json", "requests/" + "B" * 3000 + ".json"):
        assert (await c.get(f"{V2}/{path}", headers=auth("operator"))).status_code == 404, path
    for form in ({"service_code": "complaint", "description": "a\x00b", "address_string": "y"},
                 {"service_code": "complaint", "description": "x", "lat": "1e999", "long": "1"},
                 {"service_code": "complaint", "description": "x", "address_id": "\x00"},
                 {"service_code": "complaint", "description": "x" * 20000, "address_string": "y"},
                 {"service_code": "complaint", "description": "x", "address_string": "y", "first_name": "张" * 500}):
        r = await c.post(f"{V2}/requests.xml", data=form, headers=auth("frontend"))
        assert r.status_code == 400, (form, r.text)
    r = await c.post(f"{V2}/requests.json", content=b'{"service_code": 1e999999}',
                     headers={**auth("frontend"), "content-type": "application/json"})
    assert r.status_code == 400
