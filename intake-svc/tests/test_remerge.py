"""并单 by hand through the service (SQLite and PostgreSQL): possible repeats shown and listed, an operator's merge,
unmerge and rejection, each in one unit of work with its events in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from intake_helpers import REGION, publish, ticket
from merge_corpus import TRUE_REPEATS
from sqlalchemy import select
from test_remerge_rules import uncertain_neighbours

from bancheng_services.testing import TEST_UNIT, RunningService, auth, eventually
from bancheng_shared.contracts import make_event
from bancheng_shared.contracts.triage import TicketDispatched
from bancheng_shared.contracts.vocab import Tier
from bancheng_shared.topics import TRIAGE_WORK_ORDERS
from intake_svc.adapters.tables import plumbing

OP, TEAM = auth("operator"), auth("work_team")


async def _post(svc: RunningService, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    r = await svc.client.post("/v1/tickets", json=body, headers={**OP, **headers})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _get(svc: RunningService, no: str, who: dict[str, str] = OP) -> dict[str, Any]:
    r = await svc.client.get(f"/v1/tickets/{no}", headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _events(svc: RunningService, ticket_no: str) -> list[str]:
    async with svc.runtime.sm() as s:
        q = select(plumbing.outbox.c.event_type).where(plumbing.outbox.c.key == ticket_no)
        return list((await s.execute(q.order_by(plumbing.outbox.c.id))).scalars())


async def _listed(svc: RunningService, **params: Any) -> set[str]:
    r = await svc.client.get("/v1/tickets", params={"limit": 200, **params}, headers=OP)
    assert r.status_code == 200, r.text
    return {t["ticket_no"] for t in r.json()["items"]}


async def _dispatch(svc: RunningService, ticket_no: str, unit: str, at: Any = None) -> None:
    """triage's dispatch of a ticket, on the real broker."""
    env = make_event(TicketDispatched(lead_unit=unit, lead_unit_name="东湖区住建局", unit_level=2, tier=Tier.green,
                                      response_level=2, dispatched_at=at or datetime.now(UTC)),
                     ticket_id=ticket_no, producer="triage-svc")
    await publish(svc.settings.kafka_bootstrap, svc.settings.topic_prefix, TRIAGE_WORK_ORDERS, env)


async def _unit_view(svc: RunningService, ticket_no: str) -> dict[str, Any] | None:
    r = await svc.client.get(f"/v1/tickets/{ticket_no}", headers=auth("unit"))
    return dict(r.json()) if r.status_code == 200 else None


async def test_an_uncertain_pair_is_registered_apart_with_its_possible_repeat(intake: RunningService) -> None:
    a, b = uncertain_neighbours()
    first = await _post(intake, ticket(a.text, "13900000001", address=a.address))
    second = await _post(intake, ticket(b.text, "13900000002", address=b.address))
    assert second["merged"] is False and second["ticket_no"] != first["ticket_no"]
    view = await _get(intake, second["ticket_no"])
    [possible] = view["possible_repeats"]
    assert possible["ticket_no"] == first["ticket_no"] and possible["state"] == "open"
    assert 0.30 <= possible["similarity"] < 0.45 and possible["same_person"] is False
    assert any(s["event"] == "PossibleRepeat" and not s["public"] for s in view["timeline"])
    # the operator's list of what to decide; an unknown parameter is refused by name (it would list everything)
    assert await _listed(intake, possible_repeat="true") == {second["ticket_no"]}
    assert first["ticket_no"] in await _listed(intake, possible_repeat="false")
    r = await intake.client.get("/v1/tickets", params={"possible_repeat": "false", "whatever": "x"}, headers=OP)
    assert r.status_code == 400 and r.json()["errors"] == [{"field": "whatever", "message": "unknown query parameter"}]
    r = await intake.client.get("/v1/tickets", params={"possible_repeat": "maybe"}, headers=OP)
    assert r.status_code == 422
    # a unit never learns of other tickets through it
    await _dispatch(intake, second["ticket_no"], TEST_UNIT)
    seen = await eventually(lambda: _unit_view(intake, second["ticket_no"]))
    assert seen["possible_repeats"] == []
    # the operator finds they are two matters: rejected once, the ticket leaves the list
    url = f"/v1/tickets/{second['ticket_no']}/possible-repeats/{first['ticket_no']}/reject"
    assert (await intake.client.post(url, json={"reason": "not this"}, headers=auth("unit"))).status_code == 403
    r = await intake.client.post(url, json={"reason": "一个是楼顶违建，一个是楼道堆物，不是同一诉求"}, headers=TEAM)
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert await _listed(intake, possible_repeat="true") == set()
    r = await intake.client.post(url, json={"reason": "again"}, headers=OP)
    assert r.status_code == 409 and r.json()["type"].endswith("/possible-repeat-decided")
    view = await _get(intake, second["ticket_no"])
    assert view["possible_repeats"][0]["state"] == "rejected" and "不是同一诉求" in view["timeline"][-1]["label"]


async def test_an_operator_merges_a_ticket_into_another(intake: RunningService) -> None:
    a, b = uncertain_neighbours()
    first = (await _post(intake, ticket(a.text, "13900000011", address=a.address)))["ticket_no"]
    second = (await _post(intake, ticket(b.text, "13900000012", address=b.address)))["ticket_no"]
    url = f"/v1/tickets/{second}/merge"
    body = {"into": first, "reason": "同一栋楼同一问题，现场核实为同一诉求"}
    for who in ("unit", "frontend", "leader"):
        assert (await intake.client.post(url, json=body, headers=auth(who))).status_code == 403
    assert (await intake.client.post(url, json={"into": first}, headers=OP)).status_code == 422
    assert (await intake.client.post(url, json={"into": first, "reason": "  "}, headers=OP)).status_code == 422
    r = await intake.client.post(url, json={"into": "BC00000000000000000NOPE", "reason": "x"}, headers=OP)
    assert r.status_code == 404
    assert (await intake.client.post(url, json={"into": second, "reason": "x"}, headers=OP)).status_code == 422
    r = await intake.client.post(url, json=body, headers=OP)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["into"], done["seq"], done["repeat_count"], done["same_person"]) == (first, 1, 1, False)
    target = await _get(intake, first)
    assert target["repeat_count"] == 1
    [rep] = target["repeats"]
    assert rep["source_ticket_no"] == second and rep["content"] == b.text and rep["merge_reason"] == body["reason"]
    assert rep["phone"] == "13900000012"  # the operator sees it in full, as the complainant's
    staff = [s["label"] for s in target["timeline"] if not s["public"]]
    assert any(second in x and body["reason"] in x and "操作人" in x for x in staff)
    away = await _get(intake, second)
    assert (away["status"], away["status_label"], away["merged_into"]) == ("merged", "已并单", first)
    assert away["possible_repeats"][0]["state"] == "confirmed"
    assert any(first in s["label"] and body["reason"] in s["label"] for s in away["timeline"] if not s["public"])
    # another role sees the repeat's phone as it sees the complainant's (masked)
    assert (await _get(intake, first, auth("leader")))["repeats"][0]["phone"] == "139****0012"
    # the same contracts as an automatic merge, and the fact that the ticket is no longer worked on its own
    assert (await _events(intake, first))[-1] == "RepeatReceived"
    assert (await _events(intake, second))[-1] == "TicketMerged"
    assert await _listed(intake, possible_repeat="true") == set()
    # once; not into a ticket merged away; no follow-up on it
    r = await intake.client.post(url, json=body, headers=OP)
    assert r.status_code == 409 and r.json()["type"].endswith("/already-merged")
    hole = ticket("西城街道碧水花园5栋门口井盖缺失，夜里有人踩空摔伤", "13900000013")
    third = (await _post(intake, hole))["ticket_no"]
    r = await intake.client.post(f"/v1/tickets/{third}/merge", json={"into": second, "reason": "x"}, headers=OP)
    assert r.status_code == 409 and r.json()["type"].endswith("/merge-refused") and first in r.json()["detail"]
    r = await intake.client.post(f"/v1/tickets/{second}/follow-ups", json={"content": "补充"}, headers=OP)
    assert r.status_code == 409 and r.json()["type"].endswith("/ticket-closed")
    # triage may still report on the merged ticket: the step shows, the status stays merged
    await _dispatch(intake, second, "339901-housing")

    async def dispatched() -> dict[str, Any] | None:
        v = await _get(intake, second)
        return v if v["unit"] == "339901-housing" else None
    v = await eventually(dispatched)
    assert v["status"] == "merged" and v["timeline"][-1]["label"].startswith("已交办")


async def test_an_operator_takes_a_merged_request_out_as_its_own_ticket(intake: RunningService) -> None:
    first_text, repeat_text = TRUE_REPEATS[3]  # 光明花园3栋楼顶漏水: the same person again, through the app
    first = await _post(intake, ticket(first_text, "13900000021", address="光明花园3栋"))
    again = await _post(intake, ticket(repeat_text, "13900000021", channel="window"), **{"Idempotency-Key": "k-21"})
    assert again["merged"] is True and again["ticket_no"] == first["ticket_no"]
    no = first["ticket_no"]
    url = f"/v1/tickets/{no}/unmerge"
    assert (await intake.client.post(url, json={"seq": 1, "reason": "x"}, headers=auth("unit"))).status_code == 403
    r = await intake.client.post(url, json={"seq": 9, "reason": "x"}, headers=OP)
    assert r.status_code == 404 and r.json()["type"].endswith("/unknown-repeat")
    assert (await intake.client.post(url, json={"seq": 0, "reason": "x"}, headers=OP)).status_code == 422
    reason = "诉求人说明第二次来电反映的是隔壁4栋的漏水，不是同一问题"
    r = await intake.client.post(url, json={"seq": 1, "reason": reason}, headers=TEAM)
    assert r.status_code == 201, r.text
    split = r.json()
    new = split["ticket_no"]
    assert new != no and (split["from_ticket_no"], split["seq"], split["repeat_count"]) == (no, 1, 0)
    # registered as a fresh request: its own number, its first step, TicketReceived (triage and sla start on it)
    view = await _get(intake, new)
    assert view["content"] == repeat_text and view["channel"] == "window" and view["status"] == "received"
    assert view["complainant"]["phone"] == "13900000021" and view["repeat_count"] == 0
    assert view["timeline"][0]["event"] == "TicketReceived" and view["timeline"][0]["public"]
    assert any(no in s["label"] and reason in s["label"] for s in view["timeline"] if not s["public"])
    assert await _events(intake, new) == ["TicketReceived"]
    assert (await _events(intake, no))[-1] == "RepeatUnmerged"
    orig = await _get(intake, no)
    assert orig["repeat_count"] == 0 and orig["repeats"][0]["unmerged_into"] == new
    assert orig["repeats"][0]["unmerge_reason"] == reason
    assert any(new in s["label"] and reason in s["label"] for s in orig["timeline"] if not s["public"])
    # once: the second time names the ticket it became
    r = await intake.client.post(url, json={"seq": 1, "reason": reason}, headers=OP)
    assert r.status_code == 409 and r.json()["type"].endswith("/already-unmerged") and r.json()["ticket_no"] == new
    assert r.headers["content-type"].startswith("application/problem+json")
    # the person's request follows: a replayed POST answers with the new ticket, the token opens it
    replay = await _post(intake, ticket(repeat_text, "13900000021", channel="window"), **{"Idempotency-Key": "k-21"})
    assert (replay["ticket_no"], replay["merged"], replay["replayed"]) == (new, False, True)
    r = await intake.client.get(f"/v1/public/tickets/{new}", params={"token": again["tracking_token"]})
    assert r.status_code == 200 and r.json()["ticket_no"] == new
    # the next repeat of the original gets a new number: numbers are never reused
    third = await _post(intake, ticket(repeat_text + "，还是没人来修", "13900000021", channel="app"))
    assert third["ticket_no"] in (no, new)
    if third["ticket_no"] == no:
        assert [r["seq"] for r in (await _get(intake, no))["repeats"]] == [1, 2]


async def test_a_ticket_merged_by_hand_can_be_taken_back_out(intake: RunningService) -> None:
    a, b = uncertain_neighbours()
    first = (await _post(intake, ticket(a.text, "13900000031", address=a.address)))["ticket_no"]
    second = (await _post(intake, ticket(b.text, "13900000032", address=b.address, title="楼顶问题")))["ticket_no"]
    r = await intake.client.post(f"/v1/tickets/{second}/merge", json={"into": first, "reason": "同一诉求"}, headers=OP)
    assert r.status_code == 200
    r = await intake.client.post(f"/v1/tickets/{first}/unmerge", json={"seq": 1, "reason": "并错了"}, headers=OP)
    assert r.status_code == 201, r.text
    new = r.json()["ticket_no"]
    view = await _get(intake, new)
    assert (view["content"], view["title"], view["address"]) == (b.text, "楼顶问题", b.address)
    assert view["complainant"]["phone"] == "13900000032" and view["complainant"]["name"] == "张三"
    assert view["region_code"] == REGION
    assert (await _get(intake, first))["repeat_count"] == 0
    # the merged-away ticket stays merged (its steps say where it went); the person's token follows the new one
    assert (await _get(intake, second))["status"] == "merged"
