"""The directory import reads CSV as Excel in China saves it (GBK / GB18030) as well as UTF-8 with or without a BOM:
detected, or named by `charset`; a file that is none of them is a 400 problem+json saying so."""

from __future__ import annotations

import pytest

from bancheng_services.testing import Databases, auth, run_service
from bancheng_shared.errors import Problem
from triage_svc.domain.directory import decode_csv

CSV_TEXT = (
    "code,name,level,kind,region_code,parent_code,contacts,active\r\n"
    "5001-local_government,重庆市人民政府,1,local_government,5001,,,true\r\n"
    "500103-local_government,重庆市渝中区人民政府,2,local_government,500103,5001-local_government,,true\r\n"
    "500103001-local_government,重庆市渝中区解放碑街道办事处,3,local_government,500103001,500103-local_government,,true\r\n"
    "500103-market_regulation,渝中区市场监督管理局（朝天门市场监管所）,2,market_regulation,500103,"
    "500103-local_government,,true\r\n")
NAMES = {"5001-local_government": "重庆市人民政府", "500103-local_government": "重庆市渝中区人民政府",
         "500103001-local_government": "重庆市渝中区解放碑街道办事处",
         "500103-market_regulation": "渝中区市场监督管理局（朝天门市场监管所）"}


def test_detects_utf8_with_and_without_a_bom_and_gbk() -> None:
    gb = CSV_TEXT.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")  # a real GBK file: not UTF-8, so detection has to decide
    assert decode_csv(gb) == CSV_TEXT
    assert decode_csv(CSV_TEXT.encode("gbk")) == CSV_TEXT
    assert decode_csv(CSV_TEXT.encode("utf-8")) == CSV_TEXT
    assert decode_csv(CSV_TEXT.encode("utf-8-sig")) == CSV_TEXT
    assert decode_csv(gb, "GBK") == decode_csv(gb, "gb2312") == CSV_TEXT
    assert decode_csv(CSV_TEXT.encode("utf-8-sig"), "utf-8") == CSV_TEXT  # the BOM is not a character of a code


@pytest.mark.parametrize("raw, charset, status", [
    (b"code,name\r\n\x81\x30\xff,x\r\n", None, 400),  # neither UTF-8 nor GB18030
    (CSV_TEXT.encode("utf-16"), None, 400),  # Excel's "Unicode text"
    (CSV_TEXT.encode("gb18030"), "utf-8", 400),  # not the charset it names
    (CSV_TEXT.encode("utf-8"), "latin-1", 422),  # a charset the import does not take
])
def test_refuses_what_it_cannot_read(raw: bytes, charset: str | None, status: int) -> None:
    with pytest.raises(Problem) as info:
        decode_csv(raw, charset)
    assert info.value.status == status
    assert info.value.type_ == ("malformed-csv" if status == 400 else "validation")


async def test_import_gb18030_csv(databases: Databases, kafka_bootstrap: str, topic_prefix: str) -> None:
    url = await databases.new("triage")
    async with run_service("triage", database_url=url, kafka_bootstrap=kafka_bootstrap,
                           topic_prefix=topic_prefix) as svc:
        c = svc.client
        csv_type = {**auth("work_team"), "content-type": "text/csv"}
        r = await c.post("/v1/units:import", headers=csv_type, content=CSV_TEXT.encode("gb18030"))
        assert r.status_code == 200, r.text
        assert r.json()["imported"] == 4
        units = (await c.get("/v1/units", params={"region": "5001"}, headers=auth("work_team"))).json()
        units += (await c.get("/v1/units", params={"region": "500103"}, headers=auth("work_team"))).json()
        assert {u["code"]: u["name"] for u in units} == NAMES
        # the charset named in the Content-Type or the query; UTF-8 with a BOM as "CSV UTF-8" saves it
        renamed = CSV_TEXT.replace("解放碑街道办事处", "解放碑街道")
        r = await c.post("/v1/units:import", headers={**csv_type, "content-type": "text/csv; charset=GBK"},
                         content=renamed.encode("gbk"))
        assert r.status_code == 200, r.text
        u = (await c.get("/v1/units/500103001-local_government", headers=auth("work_team"))).json()
        assert u["name"] == "重庆市渝中区解放碑街道"
        r = await c.post("/v1/units:import", headers=csv_type, params={"charset": "utf-8"},
                         content=CSV_TEXT.encode("utf-8-sig"))
        assert r.status_code == 200
        u = (await c.get("/v1/units/500103001-local_government", headers=auth("work_team"))).json()
        assert u["name"] == "重庆市渝中区解放碑街道办事处"
        # unreadable: a problem+json that says why, and nothing imported
        r = await c.post("/v1/units:import", headers=csv_type,
                         content=CSV_TEXT.replace("重庆市人民政府", "重庆市").encode("gb18030") + b"\xff\xfe\xff")
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("malformed-csv") and "GB18030" in r.json()["detail"]
        r = await c.post("/v1/units:import", headers={**csv_type, "content-type": "text/csv; charset=utf-8"},
                         content=CSV_TEXT.encode("gb18030"))
        assert r.status_code == 400 and "utf-8" in r.json()["detail"]
        r = await c.post("/v1/units:import", headers=csv_type, params={"charset": "big5"},
                         content=CSV_TEXT.encode("utf-8"))
        assert r.status_code == 422 and "charset" in r.json()["detail"]
        u = (await c.get("/v1/units/5001-local_government", headers=auth("work_team"))).json()
        assert u["name"] == "重庆市人民政府"
