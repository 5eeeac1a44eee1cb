"""The console's journeys in a real browser (Debian's chromium via Playwright) against the four services running
in-process on a real broker and real databases. Every wait is on a state (Playwright's `expect`, or the APIs
polled), never a sleep."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, Page, expect

from bancheng_console.testing import ConsoleStack, shot
from bancheng_services.testing import KEYS, TEST_UNIT, auth, eventually

NAME, PHONE = "王建国", "13812345678"
CONTENT = "城关街道人民路12号一楼的超市把过期三天的酸奶打折出售，要求退款被拒绝，请市场监管部门查处"
REPLY = "经现场核查，该超市确有销售过期酸奶的行为，已责令下架并立案调查，商家已为您全额退款。"


async def new_ticket(stack: ConsoleStack, content: str = CONTENT, name: str = NAME, phone: str = PHONE
                     ) -> dict[str, Any]:
    """A call registered through intake's API, waited for until triage dispatched it and sla started its clock."""
    r = await stack.services["intake"].client.post("/v1/tickets", headers=auth("operator"), json={
        "channel": "hotline", "content": content, "location": {"region_code": "339901001", "address": "人民路12号"},
        "complainant": {"name": name, "phone": phone}})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    no = created["ticket_no"]

    async def clocked() -> bool:
        c = await stack.services["sla"].client.get(f"/v1/clocks/{no}", headers=auth("unit"))
        return c.status_code == 200

    await eventually(clocked)
    return created


async def sign_in(page: Page, stack: ConsoleStack, who: str) -> None:
    """Sign in with a test key through the form."""
    await page.goto(f"{stack.url}/signin")
    await page.get_by_label("API 密钥").fill(KEYS[who])
    await page.get_by_role("button", name="登录").click()


async def test_a_unit_signs_and_resolves_and_the_citizen_reads_the_reply(console_stack: ConsoleStack,
                                                                        browser: Browser) -> None:
    stack = console_stack
    created = await new_ticket(stack)
    no = created["ticket_no"]
    assert created["tracking_url"].startswith(f"{stack.url}/track/{no}?token=")
    # two more for the same unit: a red one (buck-passing; complex, 10 working days) comes after the nearer deadlines
    red = (await new_ticket(stack, "城关市场监管所对超市销售过期食品的投诉推诿扯皮、不作为，三次反映无人处理",
                               "赵敏", "13566667777"))["ticket_no"]
    await new_ticket(stack, "城关街道农贸市场一家肉铺的电子秤缺斤少两，称一斤肉少了二两，请市场监管部门检查",
                     "孙丽华", "13933332222")

    unit = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await unit.new_page()
    await page.goto(f"{stack.url}/signin")
    await shot(page, "signin")
    await sign_in(page, stack, "unit")
    # the inbox: the light in words and shape, the time left on the clock
    await expect(page.get_by_role("heading", name="待办工单")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=no)
    await expect(row).to_contain_text("绿灯")
    await expect(row).to_contain_text("●")
    await expect(row).to_contain_text(re.compile(r"还剩 \d+ 天"))
    await expect(row).to_contain_text("待签收")
    await expect(row).to_contain_text("已报到")
    await expect(page.get_by_role("row").filter(has_text=red)).to_contain_text("▲ 红灯")
    await expect(page.locator("tbody tr")).to_have_count(3)
    await expect(page.locator("tbody tr").last).to_contain_text(red)
    await expect(page.locator("header")).to_contain_text("东湖区市场监管局")
    await expect(page.locator("header span[title]")).to_have_attribute("title", TEST_UNIT)
    await shot(page, "inbox")

    await row.get_by_role("link", name=no).click()
    await expect(page.get_by_role("heading", name=f"工单 {no}")).to_be_visible()
    await expect(page.locator("main")).to_contain_text(CONTENT)
    await expect(page.locator("ol.timeline")).to_contain_text("已交办至")
    await page.get_by_role("button", name="签收", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("已签收。")
    await expect(page.locator("dl.facts").first).to_contain_text("已签收")

    await page.get_by_label("进展情况").fill("已派执法人员到现场检查，涉事酸奶已封存")
    await page.get_by_role("button", name="提交进展").click()
    await expect(page.get_by_role("status")).to_have_text("进展已报告。")
    await expect(page.locator("dl.facts").first).to_contain_text("办理中")

    await page.get_by_label("办理结果", exact=True).select_option("resolved")
    await page.get_by_label("给诉求人的答复").fill(REPLY)
    await shot(page, "work-order")
    await page.get_by_role("button", name="提交办理结果").click()
    await expect(page.get_by_role("status")).to_have_text("办理结果已提交。")
    await expect(page.locator("#reply")).to_have_text(REPLY)
    wo = (await stack.services["triage"].client.get(f"/v1/work-orders/{no}", headers=auth("work_team"))).json()
    assert wo["state"] == "resolved" and wo["resolution"]["reply"] == REPLY

    # the citizen's link, on a phone, without signing in: status, steps and the reply; nobody's name or number
    async def replied() -> bool:
        r = await stack.services["intake"].client.get(f"/v1/tickets/{no}", headers=auth("operator"))
        return r.json()["status"] == "resolved"

    await eventually(replied)
    citizen = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    person = await citizen.new_page()
    answer = await person.goto(created["tracking_url"])
    assert answer is not None and answer.status == 200
    await expect(person.locator("#reply")).to_have_text(REPLY)
    await expect(person.locator("main")).to_contain_text(no)
    await expect(person.locator("ol.timeline")).to_contain_text("已交办至")
    await expect(person.locator("ol.timeline")).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}"))
    html = await person.content()
    for secret in (NAME, PHONE, "138****5678", "王*", "T23:59"):
        assert secret not in html, secret
    assert await person.get_by_role("button", name="退出").count() == 0
    await shot(person, "tracking")

    # another unit cannot open this work order: the API's 404 as a plain page with that status
    other = await browser.new_context(locale="zh-CN")
    stranger = await other.new_page()
    await sign_in(stranger, stack, "other_unit")
    await expect(stranger.get_by_role("heading", name="待办工单")).to_be_visible()
    await expect(stranger.locator("main")).not_to_contain_text(no)
    refused = await stranger.goto(f"{stack.url}/work-orders/{no}")
    assert refused is not None and refused.status == 404
    await expect(stranger.get_by_role("alert")).to_have_text("未找到该事项，或您无权查看。")
    assert CONTENT not in await stranger.content()
    await shot(stranger, "not-yours")


async def test_sign_out_ends_the_session_and_forms_without_the_token_are_refused(console_stack: ConsoleStack,
                                                                                 browser: Browser) -> None:
    stack = console_stack
    created = await new_ticket(stack, "东湖区市民反映农贸市场活禽摊位有商户缺斤少两，电子秤疑似被改装")
    no = created["ticket_no"]
    ctx = await browser.new_context(locale="zh-CN")
    page = await ctx.new_page()

    # by keyboard: the first Tab reaches the skip link, which shows itself; the key field takes Enter
    await page.goto(f"{stack.url}/signin")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    # a wrong key: the form again, with the reason
    await page.get_by_label("API 密钥").fill("not-a-key")
    await page.get_by_label("API 密钥").press("Enter")
    await expect(page.get_by_role("alert")).to_have_text("密钥无效或已停用，请核对后重试。")

    await sign_in(page, stack, "unit")
    await expect(page.get_by_role("heading", name="待办工单")).to_be_visible()
    cookie = next(c for c in await ctx.cookies() if c["name"] == "bc_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert KEYS["unit"] not in cookie["value"]

    # a POST without this session's CSRF token does nothing (the cookie alone is not enough)
    bare = await page.request.post(f"{stack.url}/work-orders/{no}/sign", form={"x": "1"}, max_redirects=0)
    assert bare.status == 403
    forged = await page.request.post(f"{stack.url}/work-orders/{no}/sign", form={"csrf": "forged"}, max_redirects=0)
    assert forged.status == 403
    wo = (await stack.services["triage"].client.get(f"/v1/work-orders/{no}", headers=auth("unit"))).json()
    assert wo["state"] == "dispatched"
    anonymous = await browser.new_context()
    no_token = await anonymous.request.post(f"{stack.url}/signin", form={"api_key": KEYS["unit"]}, max_redirects=0)
    assert no_token.status == 403

    # not its remit: the unit asks to return it, with reason and basis
    await page.goto(f"{stack.url}/work-orders/{no}")
    await page.get_by_label("退回理由（为何不属本单位职责）").fill("农贸市场计量器具监管属计量科，非本所职责")
    await page.get_by_label("依据（三定方案、法规条款）").fill("《东湖区市场监督管理局职能配置规定》第三条")
    await page.get_by_role("button", name="提交退回申请").click()
    await expect(page.get_by_role("status")).to_have_text("退回申请已提交，等待工作专班审核。")
    await expect(page.locator("dl.facts").first).to_contain_text("申请退回中")
    wo = (await stack.services["triage"].client.get(f"/v1/work-orders/{no}", headers=auth("unit"))).json()
    assert wo["state"] == "return_requested" and "计量科" in wo["return_request"]["reason"]
    # a unit has no call sheet
    sheet = await page.goto(f"{stack.url}/calls/new")
    assert sheet is not None and sheet.status == 403
    await page.goto(f"{stack.url}/inbox")

    # English when the user switches, and it stays switched
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Work orders")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text=no)).to_contain_text("Green")
    await page.goto(f"{stack.url}/inbox")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await page.get_by_role("link", name="中文").click()

    await page.get_by_role("button", name="退出").click()
    await expect(page.get_by_role("status")).to_have_text("您已安全退出。")
    await page.goto(f"{stack.url}/inbox")
    await expect(page).to_have_url(f"{stack.url}/signin")
    # the old cookie names no session any more
    replay = await anonymous.request.get(f"{stack.url}/inbox", max_redirects=0,
                                         headers={"Cookie": f"bc_session={cookie['value']}"})
    assert replay.status == 303 and replay.headers["location"] == "/signin"


async def test_an_operator_takes_a_call_and_reads_out_the_number(console_stack: ConsoleStack,
                                                                 browser: Browser) -> None:
    stack = console_stack
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, stack, "operator")
    await expect(page.get_by_role("heading", name="受理来电")).to_be_visible()
    await page.get_by_label("受理渠道").select_option("hotline")
    await page.get_by_label("诉求内容").fill("东湖区城关街道幸福小区门口的路灯坏了一个多月，晚上出行很不方便，"
                                         "希望尽快维修")
    await page.get_by_label("来电人姓名").fill("陈淑芬")
    await page.get_by_label("联系电话").fill("13705716688")
    await page.get_by_label("所属区划").select_option(label="东湖区城关街道")
    await page.get_by_label("事发地址").fill("东湖区城关街道幸福小区南门")
    await shot(page, "call-taking")
    await page.get_by_role("button", name="登记工单").click()
    number = page.locator("#ticket-no")
    await expect(number).to_have_text(re.compile(r"^BC\w+$"))
    no = await number.inner_text()
    link = page.locator("#tracking-url")
    await expect(link).to_have_text(re.compile(rf"^{re.escape(stack.url)}/track/{no}\?token=\S+$"))
    await expect(page.locator(".readout")).to_contain_text(f"您的工单编号是 {no}")
    await shot(page, "call-taken")
    got = (await stack.services["intake"].client.get(f"/v1/tickets/{no}", headers=auth("operator"))).json()
    assert got["channel"] == "hotline" and got["complainant"]["phone"] == "13705716688"
    assert got["region_code"] == "339901001" and got["address"] == "东湖区城关街道幸福小区南门"
    assert "路灯坏了" in got["content"]

    # the lookup by number and the last four digits; a wrong proof is the API's 404, repeated it is its 429
    citizen = await browser.new_context(locale="zh-CN")
    person = await citizen.new_page()
    await person.goto(f"{stack.url}/track")
    await person.get_by_label("工单编号").fill(no)
    await person.get_by_label("手机号码后四位").fill("6688")
    await person.get_by_role("button", name="查询").click()
    await expect(person.locator("dd.mono")).to_have_text(no)
    codes = []
    for _ in range(11):
        r = await person.goto(f"{stack.url}/track/{no}?token=guessed-{len(codes)}")
        assert r is not None
        codes.append(r.status)
    assert codes[0] == 404 and codes[-1] == 429, codes
    await expect(person.get_by_role("alert")).to_contain_text(re.compile(r"查询过于频繁，请 .+ 后再试"))

    # the search's link to the ticket opens for the operator and the supervision office (a ticket not triaged yet
    # shows as intake has it), and no page offers a link the role's key cannot open
    for who in ("operator", "supervision_office"):
        viewer = await (await browser.new_context(locale="zh-CN")).new_page()
        await sign_in(viewer, stack, who)
        await viewer.goto(f"{stack.url}/search?number={no}")
        await viewer.get_by_role("link", name=no).click()
        await expect(viewer.get_by_role("heading", name=f"工单 {no}")).to_be_visible()
        await expect(viewer.locator('a[href="/inbox"]')).to_have_count(0)

    # every role's navigation opens (an admin's has every screen); a screen outside a role's is a plain 403 page
    for who in ("admin", "operator", "unit", "work_team", "inspector", "supervision_office", "leader",
                "business_environment"):
        viewer = await (await browser.new_context(locale="zh-CN")).new_page()
        await sign_in(viewer, stack, who)
        hrefs = await viewer.locator("header nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        if who == "admin":
            assert set(hrefs) == {"/inbox", "/calls/new", "/repeats", "/search", "/team", "/track", "/board",
                                  "/cases", "/letters"}, hrefs
        # the pages themselves (no rendering in the browser needed for a status and a message)
        for href in hrefs:
            opened = await viewer.request.get(f"{stack.url}{href}", max_redirects=0)
            assert opened.status == 200, (who, href, opened.status)
        for href in {"/inbox", "/team", "/board", "/cases", "/letters", "/repeats", "/calls/new"} - set(hrefs):
            refused = await viewer.request.get(f"{stack.url}{href}", max_redirects=0)
            assert refused.status == 403 and "您无权查看或办理此事项。" in await refused.text(), (who, href)
