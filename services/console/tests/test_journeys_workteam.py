"""The search, call-taking additions and work team journeys in a real browser (Debian's chromium via Playwright)
against the four services in-process on a real broker and real databases; every wait is on a state."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from bancheng_console.testing import ConsoleStack, shot
from bancheng_services.testing import KEYS, TEST_UNIT, auth, eventually

REPLY = "经现场核查，该超市的电子秤确实不准，已没收并责令更换合格计量器具，对商家立案处罚。"

# (name, phone, region, address, content): three about shops (超市) at the market regulator of 东湖区, one more
# from 王建国 about a street light, one about a lift
TICKETS = [
    ("王建国", "13812345678", "339901001", "人民路12号",
     "城关街道人民路12号一楼的超市把过期三天的酸奶打折出售，要求退款被拒绝，请市场监管部门查处"),
    ("赵敏", "13566667777", "339901001", "幸福小区3栋",
     "幸福小区3栋楼下的便民超市卖的面包已经发霉，店员说是新到的货，希望市场监管部门检查这家超市的食品"),
    ("孙丽华", "13933332222", "339901001", "建设路农贸市场",
     "建设路农贸市场旁边的平价超市电子秤缺斤少两，称一斤猪肉少了二两，请市场监管部门检查计量器具"),
    ("王建国", "13812345678", "339901001", "解放路与和平街交叉口",
     "解放路与和平街交叉口的路灯已经坏了两个星期，晚上一片漆黑，老人孩子过马路很危险，请尽快修复"),
    ("李秀英", "13700001111", "339901001", "锦绣花园5号楼",
     "锦绣花园5号楼的电梯这个月已经困人三次，物业一直推说在等配件，请相关部门督促物业尽快维修"),
]


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tickets a page, so three shops' tickets need the next page (set before the console starts)."""
    monkeypatch.setenv("CONSOLE_SEARCH_PAGE_SIZE", "2")


async def register(stack: ConsoleStack, name: str, phone: str, region: str, address: str, content: str) -> str:
    """A call registered through intake's API, waited for until sla started its clock (it is at its unit then)."""
    r = await stack.services["intake"].client.post("/v1/tickets", headers=auth("operator"), json={
        "channel": "hotline", "content": content, "location": {"region_code": region, "address": address},
        "complainant": {"name": name, "phone": phone}})
    assert r.status_code == 201, r.text
    assert not r.json()["merged"], r.json()
    no: str = r.json()["ticket_no"]

    async def clocked() -> bool:
        c = await stack.services["sla"].client.get(f"/v1/clocks/{no}", headers=auth("work_team"))
        return c.status_code == 200

    await eventually(clocked)
    return no


async def sign_in(page: Page, stack: ConsoleStack, who: str) -> None:
    """Sign in with a test key through the form."""
    await page.goto(f"{stack.url}/signin")
    await page.get_by_label("API 密钥").fill(KEYS[who])
    await page.get_by_role("button", name="登录").click()


async def at_units(stack: ConsoleStack, numbers: list[str]) -> dict[str, Any]:
    """Each ticket's unit as intake's search knows it (waited for: intake learns it from triage's events)."""
    async def known() -> dict[str, Any] | None:
        r = await stack.services["intake"].client.get("/v1/tickets", headers=auth("work_team"),
                                                      params={"limit": 50})
        units = {i["ticket_no"]: i["unit"] for i in r.json()["items"]}
        return units if all(units.get(n) for n in numbers) else None

    found: dict[str, Any] = await eventually(known)
    return found


async def test_search_finds_by_text_and_phone_pages_on_and_a_unit_sees_only_its_own(console_stack: ConsoleStack,
                                                                                    browser: Browser) -> None:
    stack = console_stack
    numbers = [await register(stack, *t) for t in TICKETS]
    shops, light = numbers[:3], numbers[3]
    units = await at_units(stack, numbers)
    assert all(units[n] == TEST_UNIT for n in shops), units

    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, stack, "operator")
    await page.get_by_role("navigation").get_by_role("link", name="工单检索").click()
    await expect(page.get_by_role("heading", name="工单检索")).to_be_visible()

    # a text search: the three shops, newest first, two a page; 下一页 walks on to the third
    await page.get_by_label("诉求内容关键词").fill("超市")
    await page.get_by_role("button", name="检索").click()
    await expect(page.locator("#total")).to_have_text("共找到 3 件 · 第 1 页")
    rows = page.locator("table.results tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text(shops[2])
    await expect(rows.nth(0)).to_contain_text("缺斤少两")
    await expect(rows.nth(0)).to_contain_text("东湖区市场监管局")
    await expect(rows.nth(0)).to_contain_text("已交办")
    await expect(rows.nth(1)).to_contain_text(shops[1])
    await expect(rows.nth(1)).to_contain_text("发霉")
    for row in (rows.nth(0), rows.nth(1)):
        await expect(row).to_contain_text("灯")
    await shot(page, "search")
    await page.get_by_role("link", name="下一页").click()
    await expect(page.locator("#total")).to_have_text("共找到 3 件 · 第 2 页")
    await expect(rows).to_have_count(1)
    await expect(rows.nth(0)).to_contain_text(shops[0])
    await expect(rows.nth(0)).to_contain_text("酸奶")
    await expect(page.get_by_role("link", name="下一页")).to_have_count(0)
    await expect(page.get_by_label("诉求内容关键词")).to_have_value("超市")

    # a phone search: 王建国's two calls (the yoghurt and the street light), nobody else's
    await page.get_by_label("诉求内容关键词").fill("")
    await page.get_by_label("来电人电话").fill("138 1234 5678")
    await page.get_by_role("button", name="检索").click()
    await expect(page.locator("#total")).to_have_text("共找到 2 件 · 第 1 页")
    await expect(rows.nth(0)).to_contain_text(light)
    await expect(rows.nth(0)).to_contain_text("路灯")
    await expect(rows.nth(1)).to_contain_text(shops[0])

    # the text and the status together; nothing found says so
    await page.get_by_label("来电人电话").fill("")
    await page.get_by_label("诉求内容关键词").fill("电梯 困人")
    await page.get_by_role("button", name="检索").click()
    await expect(page.locator("#total")).to_have_text("共找到 1 件 · 第 1 页")
    await expect(rows.nth(0)).to_contain_text(numbers[4])
    await page.get_by_label("状态").select_option("closed")
    await page.get_by_role("button", name="检索").click()
    await expect(page.locator("#total")).to_have_text("共找到 0 件")
    await expect(rows).to_have_count(0)

    # a unit's search: the API scopes it to the unit's tickets (the street light and the lift are elsewhere);
    # no phone or name fields for a unit
    unit_ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    unit = await unit_ctx.new_page()
    await sign_in(unit, stack, "unit")
    await unit.goto(f"{stack.url}/search?q=%E8%B7%AF%E7%81%AF")  # 路灯
    await expect(unit.locator("#total")).to_have_text("共找到 0 件")
    assert units[light] != TEST_UNIT
    await expect(unit.get_by_label("来电人电话")).to_have_count(0)
    await unit.get_by_label("诉求内容关键词").fill("市场监管部门")
    await unit.get_by_role("button", name="检索").click()
    await expect(unit.locator("#total")).to_have_text("共找到 3 件 · 第 1 页")

    # English when the user switches
    await page.goto(f"{stack.url}/search?q=%E8%B6%85%E5%B8%82&lang=en")
    await expect(page.locator("#total")).to_have_text("3 found · page 1")
    await expect(page.get_by_role("link", name="Next page")).to_be_visible()


LEAK = "幸福小区3栋楼顶的水箱漏水，水一直往顶楼住户家里渗，墙皮都泡掉了，物业说不归他们管，请尽快派人维修"
LEAK_AGAIN = "幸福小区3栋顶楼天花板漏水好几天了，墙皮都泡掉了，找物业也没人来，希望有关部门帮忙协调处理"
LEAK_STAIRS = "幸福小区3栋楼顶水箱漏水，楼道墙面发霉，电表箱也进了水，担心漏电出事，请派人处理"


async def take_call(page: Page, stack: ConsoleStack, content: str, name: str, phone: str) -> str:
    """The call sheet filled and sent; the number read out."""
    await page.goto(f"{stack.url}/calls/new")
    await page.get_by_label("诉求内容").fill(content)
    await page.get_by_label("来电人姓名").fill(name)
    await page.get_by_label("联系电话").fill(phone)
    await page.get_by_label("所属区划").select_option("339901001")
    await page.get_by_label("事发地址").fill("幸福小区3栋")
    await page.get_by_role("button", name="登记工单").click()
    await expect(page.locator("#ticket-no")).to_be_visible()
    return await page.locator("#ticket-no").inner_text()


async def test_the_operator_sees_the_callers_earlier_tickets_and_decides_possible_repeats(
        console_stack: ConsoleStack, browser: Browser) -> None:
    stack = console_stack
    intake = stack.services["intake"]
    # the caller's earlier call (another matter) and a neighbour's ticket about the leaking roof tank
    r = await intake.client.post("/v1/tickets", headers=auth("operator"), json={
        "channel": "hotline", "content": TICKETS[3][4], "complainant": {"name": "周志强", "phone": "13655556666"},
        "location": {"region_code": "339901001", "address": "解放路与和平街交叉口"}})
    earlier = r.json()["ticket_no"]
    r = await intake.client.post("/v1/tickets", headers=auth("operator"), json={
        "channel": "hotline", "content": LEAK, "complainant": {"name": "钱芳", "phone": "13811112222"},
        "location": {"region_code": "339901001", "address": "幸福小区3栋"}})
    leak = r.json()["ticket_no"]

    ctx = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, stack, "operator")
    # typing the caller's number brings up their earlier tickets (an htmx fragment)
    await page.goto(f"{stack.url}/calls/new")
    await page.get_by_label("联系电话").fill("136 5555 6666")
    box = page.locator("#earlier")
    await expect(box).to_contain_text("该来电号码此前的工单（1 件）")
    await expect(box).to_contain_text(earlier)
    await expect(box).to_contain_text("路灯")
    await page.get_by_label("联系电话").fill("13900009999")
    await expect(box).to_contain_text("该号码此前没有工单。")

    # a call like the neighbour's at the same building: registered on its own, the neighbour's ticket offered as
    # a possible repeat with its similarity; the operator keeps them apart
    first = await take_call(page, stack, LEAK_AGAIN, "周志强", "13655556666")
    offered = page.locator(f"#repeat-{leak}")
    await expect(offered).to_contain_text(re.compile(r"相似度 3\d%"))
    await shot(page, "call-repeats")
    await offered.get_by_label("理由").fill("来电人家中天花板渗水，与楼顶水箱漏水不是同一处，分别办理")
    await offered.get_by_role("button", name="不是同一诉求").click()
    await expect(page.get_by_role("status").filter(has_text="不是同一诉求")).to_have_text(
        f"已确认与 {leak} 不是同一诉求。")
    view = (await intake.client.get(f"/v1/tickets/{first}", headers=auth("operator"))).json()
    assert [p["state"] for p in view["possible_repeats"]] == ["rejected"]
    assert view["status"] != "merged"

    # another neighbour about the same tank, left undecided on the call: the possible-repeats backlog has it, with
    # the similarity, and merges it there
    second = await take_call(page, stack, LEAK_STAIRS, "吴海燕", "13722223333")
    await expect(page.locator(f"#repeat-{leak}")).to_contain_text("相似度")
    await page.get_by_role("navigation").get_by_role("link", name="疑似重复").click()
    await expect(page.get_by_role("heading", name="疑似重复待核实")).to_be_visible()
    await expect(page.locator("#total")).to_have_text("共 1 件待核实")  # the first was kept apart
    row = page.locator(f"#ticket-{second}")
    await expect(row).to_contain_text("楼顶")
    offered = row.locator(f"#repeat-{leak}")
    await expect(offered).to_contain_text(re.compile(r"相似度 \d+%"))
    await shot(page, "repeats")
    await offered.get_by_label("理由").fill("同一楼顶水箱漏水")
    await offered.get_by_role("button", name="并单").click()
    await expect(page.get_by_role("status").filter(has_text="并入")).to_have_text(f"已将 {second} 并入 {leak}。")
    await page.reload()
    await expect(page.locator("#total")).to_have_text("共 0 件待核实")
    merged = (await intake.client.get(f"/v1/tickets/{second}", headers=auth("operator"))).json()
    assert merged["status"] == "merged" and merged["merged_into"] == leak
    target = (await intake.client.get(f"/v1/tickets/{leak}", headers=auth("operator"))).json()
    assert target["repeat_count"] == 1


async def test_the_work_team_rejects_a_return_and_visits_a_resolved_ticket_which_closes(
        console_stack: ConsoleStack, browser: Browser) -> None:
    stack = console_stack
    triage = stack.services["triage"]
    asked = await register(stack, *TICKETS[1])
    done = await register(stack, *TICKETS[2])
    later = await register(stack, *TICKETS[0])
    r = await stack.services["sla"].client.post(f"/v1/clocks/{later}/extension-requests", headers=auth("unit"),
                                                json={"days": 3, "reason": "涉事酸奶已送检，检测报告需五个工作日"})
    assert r.status_code == 201, r.text
    due_before = r.json()["deadline_at_request"]
    basis = "《东湖区市场监管局职能配置、内设机构和人员编制规定》第三条"
    reason = "面包发霉属于食品安全问题，但涉事店铺位于小区物业用房内，应由街道协调物业处理"
    r = await triage.client.post(f"/v1/work-orders/{asked}/return-requests", headers=auth("unit"),
                                 json={"reason": reason, "basis": basis})
    assert r.status_code == 200, r.text
    for path, body in (("sign", None), ("resolution", {"outcome": "resolved", "reply": REPLY})):
        r = await triage.client.post(f"/v1/work-orders/{done}/{path}", headers=auth("unit"), json=body)
        assert r.status_code == 200, r.text

    async def due() -> bool:
        r = await stack.services["oversight"].client.get("/v1/return-visits/due", headers=auth("work_team"))
        return any(v["ticket_no"] == done for v in r.json())

    await eventually(due)

    ctx = await browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, stack, "work_team")
    await page.get_by_role("navigation").get_by_role("link", name="审核与回访").click()
    await expect(page.get_by_role("heading", name="工作专班：审核")).to_be_visible()
    ruling = page.locator(f"#return-{asked}")
    await expect(ruling).to_contain_text(reason)
    await expect(ruling).to_contain_text("职能配置")
    await expect(ruling).to_contain_text("东湖区市场监管局")
    await shot(page, "team-returns")
    ruled = "销售发霉食品属市场监管职责，与店铺所在房屋的物业管理无关，由原单位继续办理"
    await ruling.get_by_label("审核意见（理由）").fill(ruled)
    await ruling.get_by_role("button", name="不予退回").click()
    await expect(page.get_by_role("status")).to_have_text(f"已驳回 {asked} 的退回申请，原单位继续办理。")
    await expect(page.locator(f"#return-{asked}")).to_have_count(0)
    order = (await triage.client.get(f"/v1/work-orders/{asked}", headers=auth("work_team"))).json()
    assert order["state"] != "return_requested" and order["lead_unit"] == TEST_UNIT, order

    # the extension: granted with a reason; sla moves the deadline
    extension = page.locator(f"#extension-{later}")
    await expect(extension).to_contain_text("检测报告")
    await expect(extension).to_contain_text("3 天")
    await extension.get_by_label("审核意见（理由）").fill("送检确需时间，同意延期三个工作日")
    await extension.get_by_role("button", name="同意延期", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(f"已同意 {later} 延期，办理时限已顺延。")
    await expect(page.locator(f"#extension-{later}")).to_have_count(0)
    clock = (await stack.services["sla"].client.get(f"/v1/clocks/{later}", headers=auth("work_team"))).json()
    [ruled] = clock["rounds"][-1]["extension_requests"]
    assert ruled["state"] == "approved" and clock["rounds"][-1]["resolve_due"] > due_before

    # the work team corrects a classification from the work order's page (triage keeps the correction)
    await page.goto(f"{stack.url}/work-orders/{later}")
    before = (await triage.client.get(f"/v1/work-orders/{later}", headers=auth("work_team"))).json()["category"]
    corrected, label = ("report", "举报") if before != "report" else ("complaint", "投诉")
    form = page.locator("#reclassify")
    await form.get_by_label("类别", exact=True).select_option(corrected)
    await form.get_by_label("纠正理由").fill("来电人要求查处销售过期食品的违法行为，属举报")
    await form.get_by_role("button", name="保存纠正").click()
    await expect(page.get_by_role("status")).to_have_text("分类已纠正。")
    await expect(page.locator("#category")).to_contain_text(label)
    fixes = (await triage.client.get("/v1/corrections", headers=auth("work_team"))).json()
    assert [(c["ticket_no"], c["category"]) for c in fixes] == [(later, corrected)], fixes
    await page.goto(f"{stack.url}/team")

    # the visit: the queue, the call script with the unit's reply, the person's answers; triage closes the ticket
    await page.get_by_role("link", name="待回访").click()
    await expect(page.get_by_role("heading", name="待回访工单")).to_be_visible()
    await page.get_by_role("link", name=f"回访 {done}").click()
    await expect(page.get_by_role("heading", name=f"回访 {done}")).to_be_visible()
    await expect(page.locator("#reply")).to_have_text(REPLY)
    await expect(page.locator("section.script")).to_contain_text(TICKETS[2][0])
    await expect(page.locator("section.script")).to_contain_text("缺斤少两")
    await page.get_by_label("已解决").check()
    await page.get_by_label("满意", exact=True).check()
    await page.get_by_label("备注").fill("孙女士表示商家已更换电子秤，对处理结果满意")
    await shot(page, "team-visit")
    await page.get_by_role("button", name="记录回访").click()
    await expect(page.get_by_role("status")).to_have_text(f"{done} 的回访已记录。")

    async def closed() -> bool:
        r = await triage.client.get(f"/v1/work-orders/{done}", headers=auth("work_team"))
        return r.json()["state"] == "closed"

    await eventually(closed)
    visits = (await stack.services["oversight"].client.get(f"/v1/tickets/{done}/return-visits",
                                                           headers=auth("work_team"))).json()
    assert [(v["satisfaction"], v["resolved"]) for v in visits] == [("satisfied", "yes")]
    await page.goto(f"{stack.url}/team/visits")
    await expect(page.locator("main")).not_to_contain_text(done)
