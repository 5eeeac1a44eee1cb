"""Oversight's screens in a real browser: the leader's board counts a resolved and visited work order and shows the
open red one; an inspector works a red case from register to conclusion while the unit replies to the letter with
its own key. Every wait is on a state (Playwright's `expect`, or the APIs polled), never a sleep."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect

from bancheng_console import board
from bancheng_console.testing import ConsoleStack, shot
from bancheng_services.testing import KEYS, OTHER_UNIT, TEST_UNIT, auth, eventually

SH = ZoneInfo("Asia/Shanghai")


async def call(stack: ConsoleStack, content: str, region: str, name: str, phone: str) -> str:
    """A call registered through intake, waited for until triage dispatched it and sla started its clock."""
    r = await stack.services["intake"].client.post("/v1/tickets", headers=auth("operator"), json={
        "channel": "hotline", "content": content, "location": {"region_code": region},
        "complainant": {"name": name, "phone": phone}})
    assert r.status_code == 201, r.text
    no: str = r.json()["ticket_no"]

    async def clocked() -> bool:
        return (await stack.services["sla"].client.get(f"/v1/clocks/{no}", headers=auth("leader"))).status_code == 200

    await eventually(clocked)
    return no


async def sign_in(page: Page, stack: ConsoleStack, who: str) -> None:
    """Sign in with a test key through the form."""
    await page.goto(f"{stack.url}/signin")
    await page.get_by_label("API 密钥").fill(KEYS[who])
    await page.get_by_role("button", name="登录").click()


async def test_the_leader_sees_the_lights_and_counts_a_visited_work_order(console_stack: ConsoleStack,
                                                                          browser: Browser) -> None:
    stack = console_stack
    triage, oversight = stack.services["triage"].client, stack.services["oversight"].client
    done = await call(stack, "城关街道人民路菜市场一家熟食店卫生条件差，苍蝇很多，请市场监管部门检查", "339901001",
                      "李秀英", "13700001111")
    red = await call(stack, "城关市场监管所对超市销售过期食品的投诉推诿扯皮、不作为，三次反映无人处理", "339901001",
                     "赵敏", "13566667777")
    # the unit signs and resolves one; the work team's return visit reaches the person, who is satisfied
    assert (await triage.post(f"/v1/work-orders/{done}/sign", headers=auth("unit"))).status_code == 200
    r = await triage.post(f"/v1/work-orders/{done}/resolution", headers=auth("unit"),
                          json={"outcome": "resolved", "reply": "已责令熟食店停业整改，消杀后复查合格"})
    assert r.status_code == 200, r.text

    async def visited() -> Any:
        r = await oversight.post(f"/v1/tickets/{done}/return-visits", headers=auth("work_team"),
                                 json={"resolved": "yes", "satisfaction": "satisfied"})
        return r.json() if r.status_code == 201 else None

    await eventually(visited)
    today = datetime.now(SH).date()
    month = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}

    async def counted() -> Any:
        o = (await oversight.get("/v1/stats/overview", params=month, headers=auth("leader"))).json()
        return o if o["totals"]["visited"] == 1 else None

    async def red_copied() -> Any:
        rows = (await oversight.get("/v1/copies", params={"purpose": "supervision"}, headers=auth("leader"))).json()
        return [c for c in rows if c["ticket_no"] == red]

    async def resolved_clock() -> Any:
        c = (await stack.services["sla"].client.get("/v1/clocks", params={"state": "running"},
                                                    headers=auth("leader"))).json()
        return {x["ticket_no"] for x in c["items"]} == {red}

    await eventually(counted)
    await eventually(red_copied)
    await eventually(resolved_clock)

    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, stack, "leader")
    await expect(page.get_by_role("heading", name="领导看板", exact=True)).to_be_visible()
    # the lights: the open red one, in the city and in its region; the resolved one is no longer open
    city = page.locator("#city td")
    await expect(city).to_have_text(["1", "1", "0", "0", "0"])
    region = page.get_by_role("row").filter(has_text="339901")
    await expect(region.locator("td")).to_have_text(["1", "1", "0", "0", "0"])
    head = page.locator("#lights-table thead")
    await expect(head).to_contain_text("▲ 红灯")
    await expect(head).to_contain_text("● 绿灯")
    # the three rates count the visited one; one work order is below the ranking's minimum sample
    rates = page.locator("#rates-list")
    await expect(rates).to_contain_text("解决率100.0%")
    await expect(rates).to_contain_text("满意率100.0%")
    await expect(page.locator("main")).to_contain_text(
        re.compile(r"参与排名至少需要 \d+ 件样本；共 0 个单位参与排名，1 个单位样本不足，不予排名。"))
    await expect(page.get_by_role("table", name="解决率 · 前列")).to_contain_text("暂无单位达到排名样本数。")
    # eight weeks, this one last, with the visited work order's rates
    trend = page.locator("#trend-table tbody tr")
    await expect(trend).to_have_count(8)
    await expect(trend.last).to_contain_text("100.0%")
    await expect(page.locator("svg.trend polyline")).to_have_count(3)
    await expect(page.locator("svg.trend circle")).to_have_count(1)  # one week with a response rate
    await expect(region.locator("th")).to_contain_text("东湖区")
    await shot(page, "leader-board")

    # the month's report comes through the console (the key stays on the server)
    link = page.get_by_role("link", name="本月分析报告（Excel）")
    answer = await page.request.get(f"{stack.url}{await link.get_attribute('href')}")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (await answer.body())[:2] == b"PK"
    html = await page.request.get(f"{stack.url}/board/report?period=month&start={month['from']}&format=html")
    assert html.status == 200 and "html" in html.headers["content-type"]

    # English when the leader switches
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("#rates-list")).to_contain_text("Resolution rate100.0%")

    # a unit has no board, the leader has no cases
    other = await browser.new_context(locale="zh-CN")
    unit = await other.new_page()
    await sign_in(unit, stack, "unit")
    refused = await unit.goto(f"{stack.url}/board")
    assert refused is not None and refused.status == 403
    refused = await page.goto(f"{stack.url}/cases")
    assert refused is not None and refused.status == 403


COMPLAINT = "西岭区市场监管局对我们小区门口超市长期销售过期食品的问题一直推诿扯皮、不作为，反映了五次都没人管"
LETTER = "请于限期内核查该超市销售过期食品问题，说明此前多次反映未处理的原因，并报送整改措施。"
REPLY = "经核查，该超市确有销售过期食品行为，已立案查处并罚款；对此前推诿的工作人员已批评教育。"


async def test_an_inspector_works_a_red_case_and_the_unit_replies(console_stack: ConsoleStack,
                                                                  browser: Browser) -> None:
    stack = console_stack
    oversight = stack.services["oversight"].client
    no = await call(stack, COMPLAINT, "339902001", "陈桂兰", "13622223333")

    async def opened() -> Any:
        rows = (await oversight.get("/v1/cases", params={"ticket_no": no}, headers=auth("inspector"))).json()
        return rows[0] if rows else None

    case = await eventually(opened)
    cid = case["case_id"]
    assert case["red"] and OTHER_UNIT in case["units"], case

    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, stack, "inspector")
    await expect(page.get_by_role("heading", name="督办案件", exact=True)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=cid)
    await expect(row).to_contain_text("▲ 红灯")
    await expect(row).to_contain_text("待登记")
    await expect(row).to_contain_text("红灯诉求件")

    await row.get_by_role("link", name=cid).click()
    await expect(page.get_by_role("heading", name=f"督办案件 {cid}")).to_be_visible()
    forms = page.locator("aside form h3")
    # the forms are exactly the case's allowed actions
    await expect(forms).to_have_text(["登记备案"])
    await page.get_by_label("承办检查人员").fill("刘振华")
    await page.get_by_role("button", name="登记备案").click()
    await expect(page.get_by_role("status")).to_have_text("已登记备案。")
    await expect(page.locator("#case-facts")).to_contain_text("已登记")
    # accountability may be recorded from now on, to the end, besides the steps the state allows
    await expect(forms).to_have_text(["记录调查核实", "下发督办函", "记录问责"])

    due = date.today() + timedelta(days=10)
    await page.get_by_label("督办要求").fill(LETTER)
    await page.get_by_label("回复截止日期").fill(due.isoformat())
    await page.get_by_role("button", name="下发督办函").click()
    await expect(page.get_by_role("status")).to_have_text("督办函已下发。")
    letters = page.locator("#letters")
    await expect(letters).to_contain_text(LETTER)
    await expect(letters).to_contain_text(f"限 {due.year}年{due.month}月{due.day}日")
    await expect(letters).to_contain_text("等待单位回复。")
    await expect(forms).to_have_text(["记录调查核实", "记录问责"])

    # the list shows when the reply is due
    await page.get_by_role("link", name="返回督办案件").click()
    await expect(page.get_by_role("row").filter(has_text=cid)).to_contain_text(
        f"{due.year}年{due.month}月{due.day}日 · {OTHER_UNIT}")
    await expect(page.get_by_role("row").filter(has_text=cid)).to_contain_text("已发督办函")
    await shot(page, "cases")
    await page.get_by_role("link", name=cid).click()
    await expect(page.locator("#letters")).to_contain_text("等待单位回复。")

    # the unit signs in and finds the letter addressed to it, with its due date, and replies
    unit = await (await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")).new_page()
    await sign_in(unit, stack, "other_unit")
    await unit.get_by_role("navigation").get_by_role("link", name="督办函").click()
    await expect(unit.get_by_role("heading", name="督办函")).to_be_visible()
    mine = unit.locator("#letters > li")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text(LETTER)
    await expect(mine).to_contain_text(f"限 {due.year}年{due.month}月{due.day}日")
    await expect(mine).not_to_contain_text("陈桂兰")  # the complainant is not the unit's to see
    await shot(unit, "letters")
    await mine.get_by_label("回复内容").fill(REPLY)
    await mine.get_by_label("整改措施").fill("立案查处并罚款\n约谈超市负责人\n")
    await mine.get_by_role("button", name="提交回复").click()
    await expect(unit.get_by_role("status")).to_have_text("回复已提交。")
    await expect(mine).to_contain_text("约谈超市负责人")
    await expect(mine.get_by_role("button", name="提交回复")).to_have_count(0)
    # another unit sees no letter of this case
    other = await (await browser.new_context(locale="zh-CN")).new_page()
    await sign_in(other, stack, "unit")
    await other.goto(f"{stack.url}/letters")
    await expect(other.locator("main")).to_contain_text("暂无发给本单位的督办函。")
    assert (await oversight.get(f"/v1/cases/{cid}", headers=auth("unit"))).status_code in (403, 404)

    await page.reload()
    await expect(page.locator("#case-facts")).to_contain_text("单位已回复")
    await expect(letters).to_contain_text(REPLY)
    await expect(letters).to_contain_text("约谈超市负责人")
    await expect(forms).to_have_text(["下发督办函", "回访投诉人", "整改不到位，再次办理", "记录问责"])
    await page.get_by_label("整改是否到位").select_option("sufficient")
    await page.get_by_role("button", name="回访投诉人").click()
    await expect(page.get_by_role("status")).to_have_text("回访已记录。")
    await expect(forms).to_have_text(["回访投诉人", "整改不到位，再次办理", "办结并出具反馈单", "记录问责"])

    await page.get_by_label("办结意见").fill("督办事项已整改到位，群众满意，对相关责任人批评教育。")
    await shot(page, "case")
    await page.get_by_role("button", name="办结并出具反馈单").click()
    await expect(page.get_by_role("status")).to_have_text("案件已办结，反馈单已发送。")
    await expect(page.locator("#case-facts")).to_contain_text("已办结")
    await expect(page.locator("#result")).to_contain_text("已解决")
    await expect(page.locator("#documents")).to_contain_text("办结反馈单")
    await expect(forms).to_have_text(["公开督查结果", "记录问责"])
    assert (await oversight.get(f"/v1/cases/{cid}", headers=auth("inspector"))).json()["state"] == "concluded"

    # accountability: who, which post, the measure and the reason category, linked to the case
    await page.get_by_label("被问责人姓名").fill("孙立军")
    await page.get_by_label("职务").fill("西岭区市场监管局食品科科长")
    await page.get_by_label("问责方式").select_option("circulated_criticism")
    await page.get_by_label("问责事由").select_option(label="推诿扯皮")
    await page.get_by_label("具体事由").fill("群众五次反映超市销售过期食品，未按规定核查处理")
    await page.get_by_role("button", name="记录问责").click()
    await expect(page.get_by_role("status")).to_have_text("问责已记录。")
    held = page.locator("#accountability")
    await expect(held).to_contain_text("已问责")
    await expect(held).to_contain_text("孙立军（西岭区市场监管局食品科科长）")
    await expect(held).to_contain_text("通报批评 · 推诿扯皮")
    [record] = (await oversight.get("/v1/accountability", params={"case_id": cid}, headers=auth("inspector"))).json()
    assert (record["status"], record["unit"], record["measure"], record["reason_category"]) == (
        "decided", OTHER_UNIT, "circulated_criticism", "推诿扯皮")

    # a step the state no longer allows is the API's 409 as a page, and changes nothing
    stale = await page.request.post(f"{stack.url}/cases/{cid}/register", form={"csrf": await _csrf(page)},
                                    max_redirects=0)
    assert stale.status == 409
    # the unit screen has no cases
    refused = await unit.goto(f"{stack.url}/cases/{cid}")
    assert refused is not None and refused.status == 403
    assert TEST_UNIT not in case["units"]


async def _csrf(page: Page) -> str:
    value = await page.locator("input[name=csrf]").first.get_attribute("value")
    assert value
    return value


def test_weeks_end_today_and_start_on_mondays() -> None:
    ws = board.weeks(date(2026, 12, 5), 8)  # a Saturday
    assert len(ws) == 8 and ws[-1] == (date(2026, 11, 30), date(2026, 12, 5))
    assert all(a.weekday() == 0 and (b - a).days == 6 for a, b in ws[:-1])
    assert ws[0][0] == date(2026, 10, 12)


def test_lights_come_from_running_clocks_and_the_tier_copies() -> None:
    now = datetime(2026, 12, 5, 3, 0, tzinfo=ZoneInfo("UTC"))
    clocks = [{"ticket_no": "A", "region_code": "339901001", "resolve_due": "2026-12-01T15:59:59Z"},
              {"ticket_no": "B", "region_code": "339901002", "resolve_due": "2026-12-11T15:59:59Z"},
              {"ticket_no": "C", "region_code": "339902001", "resolve_due": None},
              {"ticket_no": "D", "region_code": None, "resolve_due": "2026-12-11T15:59:59Z"}]
    copies = [{"ticket_no": "A", "purpose": "joint_scheduling"}, {"ticket_no": "A", "purpose": "supervision"},
              {"ticket_no": "B", "purpose": "joint_scheduling"}, {"ticket_no": "C", "purpose": "archive"}]
    city, regions = board.lights(clocks, copies, now, 6)
    assert (city.red, city.yellow, city.green, city.overdue, city.open) == (1, 1, 2, 1, 4)
    by = {r.code: (r.red, r.yellow, r.green, r.overdue) for r in regions}
    assert by == {"339901": (1, 1, 0, 1), "339902": (0, 0, 1, 0), "—": (0, 0, 1, 0)}


def test_rates_read_as_percentages_and_the_forms_follow_the_allowed_actions() -> None:
    assert board.percent(None) == "—" and board.percent(1.0) == "100.0%" and board.percent(0.8333) == "83.3%"
    assert board.points([1.0, None, 0.5], 320, 100) == [(0.0, 0.0), (320.0, 50.0)]
    assert board.case_buttons(["reply", "investigate"]) == ["investigate"]
    assert board.case_buttons(["send_letter", "order_redo", "return_visit"]) == [
        "send_letter", "return_visit", "order_redo"]
