"""The org directory: validated all-or-nothing import (CSV and JSON), export, filters."""

from __future__ import annotations

import pytest

from bancheng_services.testing import Databases, auth, run_service
from bancheng_shared.errors import Problem
from triage_svc.demo_directory import demo_city, scale_directory
from triage_svc.domain.directory import checked_rows, parents_to_look_up, parse_csv, to_csv, validate_rows


def test_validation_names_row_and_field() -> None:
    rows = demo_city(districts=1, streets=1, communities=1)
    bad = [dict(r) for r in rows]
    bad[3]["kind"] = "spaceport"
    bad[5]["level"] = 9
    bad[6]["parent_code"] = "nope"
    _clean, errors = validate_rows(bad)
    got = {(e.row, e.field) for e in errors}
    assert {(4, "kind"), (6, "level"), (7, "parent_code")} <= got


def test_csv_round_trip_and_scale_generator() -> None:
    rows = demo_city(districts=1, streets=2, communities=2)
    clean, errors = validate_rows(parse_csv(to_csv(rows)))
    assert not errors and [r["code"] for r in clean] == [r["code"] for r in rows]
    big = scale_directory(20000)
    assert len(big) == 20000 and not validate_rows(big)[1]


def test_an_upsert_looks_up_the_parents_outside_the_file_and_refuses_all_on_an_error() -> None:
    rows = [{"code": "339901-test_unit", "name": "东湖区测试站", "level": 2, "kind": "water", "region_code": "339901",
             "parent_code": "339901-local_government"},
            {"code": "339901-test_sub", "name": "东湖区测试分站", "level": 3, "kind": "water",
             "region_code": "339901001", "parent_code": "339901-test_unit"}]
    assert parents_to_look_up(rows) == ["339901-local_government"]
    assert len(checked_rows(rows, {"339901-local_government": 2})) == 2
    with pytest.raises(Problem) as info:
        checked_rows(rows, {})
    assert info.value.status == 422 and info.value.type_ == "invalid-import"
    assert info.value.extra["errors"] == [{"row": 1, "field": "parent_code", "message":
                                           "unknown parent '339901-local_government' (not in the file nor the "
                                           "directory)"}]


async def test_import_export_filters(tmp_path, kafka_bootstrap: str, topic_prefix: str) -> None:  # type: ignore[no-untyped-def]
    url = await Databases("sqlite", tmp_path, []).new("triage")
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        rows = demo_city(districts=2, streets=2, communities=1)
        bad = [*rows[:-1], {**rows[-1], "region_code": "x"}]
        r = await c.post("/v1/units:import", headers=auth("work_team"), json=bad)
        assert r.status_code == 422 and r.json()["errors"][0] == {
            "row": len(rows), "field": "region_code", "message": "required: 2-20 digits"}
        assert (await c.get("/v1/units", headers=auth("work_team"))).json() == []  # nothing written
        assert (await c.post("/v1/units:import", headers=auth("unit"), json=rows)).status_code == 403
        r = await c.post("/v1/units:import", headers={**auth("work_team"), "content-type": "text/csv"},
                         content=to_csv(rows).encode())
        assert r.status_code == 200 and r.json()["imported"] == len(rows) and r.json()["without_sms"] == 0
        # a unit with only a duty landline: named in the answer (its 报到 SMS will be parked in intake)
        landline = {**rows[1], "contacts": {"duty_phone": "0399-82340000"}}
        r = await c.post("/v1/units:import", headers=auth("work_team"), json=[landline])
        assert r.status_code == 200
        assert (r.json()["without_sms"], r.json()["without_sms_units"]) == (1, [rows[1]["code"]])
        r = await c.post("/v1/units:import", headers=auth("work_team"), json=[rows[1]])
        assert r.json()["without_sms"] == 0
        lv2 = (await c.get("/v1/units", params={"level": 2, "kind": "market_regulation"},
                           headers=auth("unit"))).json()
        assert [u["code"] for u in lv2] == ["339901-market_regulation", "339902-market_regulation"]
        kids = (await c.get("/v1/units", params={"parent": "339901-local_government"},
                            headers=auth("work_team"))).json()
        assert kids and all(u["parent_code"] == "339901-local_government" for u in kids)
        assert len((await c.get("/v1/units", params={"region": "339902"}, headers=auth("work_team"))).json()) > 2
        u = (await c.get("/v1/units/339901-local_government", headers=auth("operator"))).json()
        assert u["children"] >= 2
        assert (await c.get("/v1/units/none", headers=auth("operator"))).status_code == 404
        csv_text = (await c.get("/v1/units:export", params={"format": "csv"}, headers=auth("work_team"))).text
        assert len(parse_csv(csv_text)) == len(rows)
        # the catalogue: versioned, the active one used, roll back
        cat = (await c.get("/v1/catalogue", headers=auth("work_team"))).json()
        assert cat["version"] == 0
        bad_cat = {"catalogue": {"rules": [{"kind": "water"}]}}
        r = await c.put("/v1/catalogue", headers=auth("work_team"), json=bad_cat)
        assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("rules.0")
        doc = cat["catalogue"]
        doc["petition_words"] = [*doc["petition_words"], "上级部门反映"]
        r = await c.put("/v1/catalogue", headers=auth("work_team"), json={"catalogue": doc, "note": "add cue"})
        assert r.json()["version"] == 1
        assert (await c.get("/v1/catalogue", headers=auth("work_team"))).json()["version"] == 1
        assert len((await c.get("/v1/catalogue/versions", headers=auth("work_team"))).json()) == 2
        await c.post("/v1/catalogue/versions/0:activate", headers=auth("work_team"))
        assert (await c.get("/v1/catalogue", headers=auth("work_team"))).json()["version"] == 0
