"""Disclosure (督查回声): published outcomes of concluded cases, stripped of personal data: phone numbers, ID
numbers, e-mail addresses, the names known to the case, the names written in the text after a word that says who
someone is (群众, 市民, 业主, 负责人 …, or 名叫 / 姓名), all shown as surname + 某, and the house-number detail of an
address (the road and the estate stay, the number, building, unit and room go)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from bancheng_shared.contracts.limits import TITLE_MAX

_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_SEPARATORS = re.compile(r"[\s,，;；、/|()（）:：]+")
_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "司徒", "夏侯")
# common surnames (single and compound): a name written in the text starts with one
_SURNAME = ("(?:" + "|".join(_COMPOUND) + "|"
            "[王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
            "阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖"
            "龚文庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂丛焦向柳邢路岳齐沿梅莫庄辛管祝左涂谷祁时舒"
            "耿牟卜詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵解强柴华车冉房边])")
# a word that says who the next words name: 群众刘洋反映, 负责人：张小明, 名叫王芳
_WHO = ("(?:群众|市民|村民|居民|业主|住户|租户|投诉人|举报人|来电人|反映人|当事人|申请人|诉求人|职工|工人|员工|患者|"
        "家长|学生|老人|店主|商户|个体户|经营者|负责人|经理|主任|科长|局长|所长|书记|站长|队长|干部|工作人员|民警|"
        "协管员|网格员|名叫|叫做|姓名|名字是)")
_NAME_AFTER_WHO = re.compile(_WHO + "[：:]?(" + _SURNAME + "[\u4e00-\u9fff]{1,2}?)"
                             "(?=[（(，,。、；;：:\\s]|反映|称|说|投诉|举报|表示|介绍|认为|的|向|在|于|到|来电|等|同志|"
                             "提醒|被|已|因|$)")
_NUMBER = "[0-9０-９一二三四五六七八九十百零]+"
# 88号3栋2单元501室: the house-number detail of an address (not 3号线, 5号文件, 1号令)
_ADDRESS_DETAIL = re.compile("(?:" + _NUMBER + "(?:号楼|号院|号(?![线文令公])|栋|幢|单元|室)[-－]?)+")


def mask_name(name: str) -> str:
    """刘某 for 刘洋, 欧阳某 for 欧阳明华: the surname and 某, as published outcomes name people."""
    name = name.strip()
    if not name:
        return name
    return (name[:2] if name[:2] in _COMPOUND and len(name) > 2 else name[0]) + "某"


def strip_pii(text: str, names: Iterable[str] = ()) -> str:
    """Remove phone numbers, ID numbers, e-mail addresses, the given personal names and the names the text itself
    introduces (群众刘洋反映 → 群众刘某反映), and the house-number detail of addresses."""
    out = _ID.sub("[证件号已隐去]", text)
    out = _PHONE.sub("[电话已隐去]", out)
    out = _EMAIL.sub("[邮箱已隐去]", out)
    known = {n.strip() for n in names if n and len(n.strip()) >= 2}
    known |= {m.group(1) for m in _NAME_AFTER_WHO.finditer(out)}
    for n in sorted(known, key=len, reverse=True):
        out = out.replace(n, mask_name(n))
    return _ADDRESS_DETAIL.sub("××", out)


def informant_names(informant: str | None) -> list[str]:
    """The names to strip for an informant given as free text ("张三 13900001111"): the whole text and each
    part of it (the phone number goes with strip_pii's patterns)."""
    if not informant:
        return []
    return [informant, *(p for p in _SEPARATORS.split(informant) if p and not p.isdigit())]


def disclose(*, case_id: str, title: str, summary: str, outcome: str, names: Iterable[str], unit_names: list[str],
             concluded_on: date | None, now: datetime) -> dict[str, Any]:
    """What the public feed shows of a concluded case: its texts without personal data, the units by name."""
    names = list(names)
    # the title within TITLE_MAX (a stripped e-mail's mark may be longer than the address)
    return {"case_id": case_id, "title": strip_pii(title, names)[:TITLE_MAX], "summary": strip_pii(summary, names),
            "outcome": strip_pii(outcome, names), "units": unit_names, "concluded_on": concluded_on,
            "published_at": now}
