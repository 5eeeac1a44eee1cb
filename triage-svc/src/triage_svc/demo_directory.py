"""Demo org directories: a realistic city for the demo, and a 20,000-unit one for scale tests."""

from __future__ import annotations

import zlib
from typing import Any

CITY_KINDS = [
    "hotline_center", "business_environment", "discipline", "supervision_office", "petition", "political_legal",
    "administrative_approval", "market_regulation", "tax", "public_security", "housing_construction",
    "natural_resources", "human_resources", "medical_insurance", "education", "health", "ecology_environment",
    "transport", "urban_management", "water", "power", "gas", "postal", "development_reform", "economy_it",
    "commerce", "civil_affairs", "agriculture", "emergency", "culture_tourism", "finance",
]
DISTRICT_KINDS = [
    "local_government", "market_regulation", "public_security", "housing_construction", "human_resources",
    "education", "health", "ecology_environment", "urban_management", "medical_insurance", "civil_affairs",
    "administrative_approval", "natural_resources", "tax", "transport", "petition", "discipline",
    "business_environment",
]
KIND_NAMES = {
    "hotline_center": "12345热线中心", "business_environment": "营商环境办", "discipline": "纪委监委",
    "supervision_office": "政府督查室", "petition": "信访局", "political_legal": "政法委",
    "local_government": "人民政府", "administrative_approval": "行政审批局", "market_regulation": "市场监管局",
    "tax": "税务局", "public_security": "公安局", "housing_construction": "住建局", "natural_resources": "自然资源局",
    "human_resources": "人社局", "medical_insurance": "医保局", "education": "教育局", "health": "卫健委",
    "ecology_environment": "生态环境局", "transport": "交通运输局", "urban_management": "城管局", "water": "水务集团",
    "power": "供电公司", "gas": "燃气公司", "postal": "邮政管理局", "development_reform": "发改委",
    "economy_it": "经信局", "commerce": "商务局", "civil_affairs": "民政局", "agriculture": "农业农村局",
    "emergency": "应急管理局", "culture_tourism": "文旅局", "finance": "财政局",
}
DISTRICTS = ["东湖区", "西岭区", "南港区", "北川区", "临江县", "青山县"]
STREETS = ["城关", "新华", "人民", "长江", "和平", "建设", "解放", "光明"]
COMMUNITIES = ["一社区", "二社区", "三社区", "四社区", "五社区", "六社区"]


MOBILE_PREFIXES = ("139", "138", "158", "187", "135", "186")


def contacts(code: str, level: int) -> dict[str, Any]:
    """A unit's contacts: a department's or street's duty-office landline and the duty mobile that takes the 报到 SMS;
    a community's is its duty worker's mobile (varied per unit, stable across runs)."""
    n = zlib.crc32(code.encode())
    mobile = f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{n % 10**8:08d}"
    if level == 4:
        return {"值班手机": mobile}
    return {"duty_phone": f"0399-8{n % 10**7:07d}", "sms": mobile}


def unit(code: str, name: str, level: int, kind: str, region: str, parent: str | None) -> dict[str, Any]:
    """One directory row."""
    return {
        "code": code, "name": name, "level": level, "kind": kind, "region_code": region, "parent_code": parent,
        "contacts": contacts(code, level), "active": True,
    }


def demo_city(city_code: str = "3399", city_name: str = "示范市", districts: int = 6, streets: int = 4,
              communities: int = 3) -> list[dict[str, Any]]:
    """A city: departments of every kind, districts with their departments, streets and communities."""
    rows = [unit(f"{city_code}-local_government", f"{city_name}人民政府", 1, "local_government", city_code, None)]
    gov = rows[0]["code"]
    rows += [unit(f"{city_code}-{k}", f"{city_name}{KIND_NAMES[k]}", 1, k, city_code, gov) for k in CITY_KINDS]
    for d in range(districts):
        dname = DISTRICTS[d % len(DISTRICTS)] + ("" if d < len(DISTRICTS) else str(d))
        dcode = f"{city_code}{d + 1:02d}"
        dgov = f"{dcode}-local_government"
        for k in DISTRICT_KINDS:
            rows.append(unit(f"{dcode}-{k}", f"{dname}{KIND_NAMES[k]}", 2, k, dcode, gov if k == "local_government"
                             else dgov))
        for s in range(streets):
            sname = STREETS[s % len(STREETS)] + ("街道" if s < len(STREETS) else f"{s}街道")
            scode = f"{dcode}{s + 1:03d}"
            rows.append(unit(f"{scode}-local_government", f"{dname}{sname}办事处", 3, "local_government", scode, dgov))
            for c in range(communities):
                cname = COMMUNITIES[c % len(COMMUNITIES)] + ("" if c < len(COMMUNITIES) else str(c))
                ccode = f"{scode}{c + 1:03d}"
                rows.append(unit(f"{ccode}-local_government", f"{dname}{sname}{cname}居委会", 4,
                                 "local_government", ccode, f"{scode}-local_government"))
    return rows


def scale_directory(target: int = 20000) -> list[dict[str, Any]]:
    """About `target` units: a province-sized directory for scale tests."""
    return demo_city(districts=60, streets=20, communities=max(1, (target // (60 * 20)) - 1))[:target]
