"""Play labelled items through a running stack on one simulated clock: intake, units, the work team, oversight."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx

from bancheng_services.simulate.generator import Item
from bancheng_services.simulate.scorecard import Observed

CST = timezone(timedelta(hours=8))
REPLY = "经现场核查，已责成相关方整改完毕，并电话告知诉求人。"
START = date(2026, 10, 12)  # a Monday after the National Day holiday
SERVICES = ("intake", "triage", "sla", "oversight")
SIM_KEYS = {"operator": "sim-operator-key", "work_team": "sim-workteam-key", "leader": "sim-leader-key",
            "inspector": "sim-inspector-key", "admin": "sim-admin-key"}


def unit_key(code: str) -> str:
    """The simulation's API key for a unit."""
    return f"sim-unit-{code}"


def key_rows(unit_codes: list[str]) -> list[dict[str, str | None]]:
    """The API keys the simulation seeds: one per role it plays, one per unit."""
    rows: list[dict[str, str | None]] = [{"name": f"sim {r}", "role": r, "unit": None, "key": k}
                                         for r, k in SIM_KEYS.items()]
    return rows + [{"name": f"sim unit {c}", "role": "unit", "unit": c, "key": unit_key(c)} for c in unit_codes]


@dataclass
class Played:
    """What the driver saw and did."""

    observed: dict[str, Observed] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    tickets_seen: int | None = None
    oversight_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    red_tickets: set[str] = field(default_factory=set)
    case_tickets: set[str] = field(default_factory=set)
    first_day: date = START
    last_day: date = START
    seconds: float = 0.0


class Driver:
    """Drives one stack (its four base URLs) through the items, day by simulated day."""

    def __init__(self, urls: dict[str, str], *, seed: int = 7, concurrency: int = 16, units_keyed: bool = True,
                 timeout_s: float = 120.0, keys: dict[str, str] | None = None) -> None:
        self.urls, self.rng, self.units_keyed, self.timeout_s = urls, random.Random(seed), units_keyed, timeout_s
        self.keys, self.seed = keys or SIM_KEYS, seed
        self.sem = asyncio.Semaphore(concurrency)
        self.played = Played()
        self.redone: list[str] = []
        self.c: dict[str, httpx.AsyncClient] = {}
        self.when: datetime = datetime.combine(START, datetime.min.time(), CST)

    @asynccontextmanager
    async def clients(self) -> AsyncIterator[None]:
        """One HTTP client per service."""
        limits = httpx.Limits(max_connections=32)
        self.c = {s: httpx.AsyncClient(base_url=u, timeout=30.0, limits=limits) for s, u in self.urls.items()}
        try:
            yield
        finally:
            for cl in self.c.values():
                await cl.aclose()

    async def req(self, svc: str, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request; a keep-alive connection the server just closed is retried on a new one."""
        for attempt in range(3):
            try:
                return await self.c[svc].request(method, path, **kw)
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def auth(self, who: str) -> dict[str, str]:
        """Headers for a role the simulation plays (a unit code is a unit)."""
        key = self.keys.get(who) or (unit_key(who) if self.units_keyed else self.keys["work_team"])
        return {"Authorization": f"Bearer {key}"}

    def err(self, what: str) -> None:
        """Count a refusal or failure."""
        self.played.errors[what] = self.played.errors.get(what, 0) + 1

    async def set_clock(self, day: date, hour: int) -> None:
        """Every service's clock to this moment (frozen), through PUT /v1/clock."""
        self.when = datetime.combine(day, datetime.min.time(), CST).replace(hour=hour)
        for s in SERVICES:
            r = await self.req(s, "PUT", "/v1/clock", json={"now": self.when.isoformat()},
                               headers=self.auth("work_team"))
            if r.status_code != 200:
                raise RuntimeError(f"{s} refused the simulated time ({r.status_code}): {r.text[:300]}")

    async def submit(self, item: Item, base: Observed | None) -> None:
        """POST /v1/tickets for one item; remember its ticket and whether it merged."""
        body = {"channel": item.channel, "content": item.content, "external_id": item.id,
                "location": {"region_code": item.region_code, "address": item.address},
                "complainant": {"name": item.name, "phone": item.phone}}
        async with self.sem:
            r = await self.req("intake", "POST", "/v1/tickets", json=body, headers=self.auth("operator"))
        if r.status_code not in (200, 201):
            self.err(f"submit {r.status_code}")
            self.played.observed[item.id] = Observed()
            return
        t = r.json()
        self.played.observed[item.id] = Observed(ticket_no=t["ticket_no"], merged=bool(t.get("merged")))

    async def work_order(self, ticket_no: str) -> dict[str, Any] | None:
        """triage's work order once triaged (None while not there)."""
        async with self.sem:
            r = await self.req("triage", "GET", f"/v1/work-orders/{ticket_no}", headers=self.auth("work_team"))
        return r.json() if r.status_code == 200 else None

    async def settle(self, ids: list[str]) -> None:
        """Wait until every own ticket of these items has its work order (and a clock where sla keeps one)."""
        deadline = time.monotonic() + self.timeout_s
        pending = [i for i in ids if (o := self.played.observed[i]).ticket_no and not o.merged]
        while pending and time.monotonic() < deadline:
            results = await asyncio.gather(*(self.work_order(str(self.played.observed[i].ticket_no))
                                             for i in pending))
            still = []
            for i, wo in zip(pending, results, strict=True):
                if wo is None or wo.get("state") in ("received", "triaging"):
                    still.append(i)
                else:
                    self.played.observed[i].work_order = wo
            pending = still
            if pending:
                await asyncio.sleep(0.3)
        await asyncio.sleep(0.5)  # sla consumes the same events; its clocks are read next
        await asyncio.gather(*(self.clock_of(i) for i in ids))

    async def clock_of(self, item_id: str) -> None:
        """sla's first round for an own ticket: whether it has a clock, its start and deadline."""
        o = self.played.observed[item_id]
        if not o.ticket_no or o.merged:
            return
        for _ in range(20):
            async with self.sem:
                r = await self.req("sla", "GET", f"/v1/clocks/{o.ticket_no}", headers=self.auth("work_team"))
            if r.status_code == 200 and r.json().get("rounds"):
                first = r.json()["rounds"][0]
                o.has_clock = True
                o.clock_unit = str(first["unit"])
                o.working_days = int(first["working_days"])
                o.started_on = datetime.fromisoformat(first["started_at"]).astimezone(CST).date()
                due = first.get("resolve_due_date")
                o.resolve_due_date = date.fromisoformat(due) if due else None
                return
            await asyncio.sleep(0.2)

    async def act(self, method: str, svc: str, path: str, who: str, body: dict[str, Any] | None = None,
                  wait_for: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """One action through a service's API: its answer, or None when refused (refusals are counted, not raised).

        `wait_for`: a 409 whose body holds one of these texts means the service has not seen an earlier step yet
        (its consumer is behind the API that was just called); retried for a while.
        """
        deadline = time.monotonic() + 20.0
        while True:
            async with self.sem:
                r = await self.req(svc, method, path, json=body, headers=self.auth(who))
            behind = r.status_code == 409 and any(w in r.text for w in wait_for)
            if not (behind and time.monotonic() < deadline):
                break
            await asyncio.sleep(0.3)
        if r.status_code >= 300:
            what = f"{path.split('/')[-1]} {r.status_code}"
            self.err(what)
            self.played.samples.setdefault(what, r.text[:200])
            return None
        return r.json() if r.content else {}

    def plan(self, ids: list[str]) -> dict[str, str]:
        """What each dispatched unit will do: sign on time, sign late, ask to return, ask for an extension."""
        plan = {}
        for i in ids:
            o = self.played.observed[i]
            wo = o.work_order or {}
            if o.merged or not wo.get("lead_unit") or not wo.get("dispatched_at"):
                continue
            self.played.log.append({"what": "dispatched", "unit": wo["lead_unit"], "ticket_no": o.ticket_no})
            x = self.rng.random()
            plan[i] = "late" if x < 0.08 else "return" if x < 0.13 else "extend" if x < 0.18 else "on_time"
        return plan

    async def sign(self, item_id: str, in_time: bool) -> None:
        """The lead unit signs."""
        o = self.played.observed[item_id]
        unit = str((o.work_order or {}).get("lead_unit"))
        if await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/sign", unit) is not None:
            self.played.log.append({"what": "signed", "unit": unit, "ticket_no": o.ticket_no, "in_time": in_time})

    async def morning_units(self, plan: dict[str, str]) -> None:
        """The same day: on-time signing, return requests (ruled by the work team), extension requests."""
        async def one(i: str, what: str) -> None:
            o = self.played.observed[i]
            unit = str((o.work_order or {}).get("lead_unit"))
            if what in ("on_time", "extend"):
                await self.sign(i, True)
            if what == "extend":
                await self.act("POST", "sla", f"/v1/clocks/{o.ticket_no}/extension-requests", unit,
                               {"days": 3, "reason": "需要协调多个部门现场核查"})
            if what == "return":
                ok = await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/return-requests", unit,
                                    {"reason": "该事项不属本单位职责", "basis": "依据本单位三定方案第三条"})
                if ok is not None:
                    await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/return-requests/decision",
                                   "work_team", {"approved": False, "reason": "经审核属于该单位职责，继续办理"})
                    wo = await self.work_order(str(o.ticket_no)) or {}
                    if wo.get("signed_at"):  # the rejected return leaves it signed, within the window
                        self.played.log.append({"what": "signed", "unit": unit, "ticket_no": o.ticket_no,
                                                "in_time": True, "by": "ruling"})
                    else:
                        await self.sign(i, True)
        await asyncio.gather(*(one(i, w) for i, w in plan.items()))

    async def receive_transfers(self, ids: list[str]) -> None:
        """The 信访 / 政法 organ signs for each item transferred to it (签收), which stops the transfer's clock."""
        async def one(i: str) -> None:
            o = self.played.observed[i]
            organ = (o.work_order or {}).get("transfer_unit")
            if not organ:
                return
            if await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/sign", str(organ)) is not None:
                self.played.log.append({"what": "transfer_received", "unit": organ, "ticket_no": o.ticket_no})
        await asyncio.gather(*(one(i) for i in ids if not self.played.observed[i].merged))

    async def answer_consultations(self, ids: list[str]) -> None:
        """The hotline answers what waits for a direct answer (the knowledge base's suggestion) the same morning;
        it counts in the answering unit's response rate like a unit's signing."""
        async def one(i: str) -> None:
            o = self.played.observed[i]
            if (o.work_order or {}).get("state") != "awaiting_answer" or not o.clock_unit:
                return
            self.played.log.append({"what": "dispatched", "unit": o.clock_unit, "ticket_no": o.ticket_no})
            if await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/answer", "operator",
                              {}) is not None:
                self.played.log.append({"what": "signed", "unit": o.clock_unit, "ticket_no": o.ticket_no,
                                        "in_time": True, "by": "answer"})
        await asyncio.gather(*(one(i) for i in ids if not self.played.observed[i].merged))

    async def resolve_and_visit(self, plan: dict[str, str], late: bool) -> None:
        """Late signers sign; everyone resolves with a reply; the work team visits with a seeded answer."""
        async def one(i: str) -> None:
            o = self.played.observed[i]
            unit = str((o.work_order or {}).get("lead_unit"))
            if late:
                wo = await self.signed_or_deemed(str(o.ticket_no))
                if wo.get("deemed_signed") or wo.get("signed_at"):  # the window passed: 逾期视为签收
                    self.played.log.append({"what": "deemed_signed", "unit": unit, "ticket_no": o.ticket_no})
                else:
                    await self.sign(i, False)
            if await self.resolve_and_visit_round(i, unit, 1):
                self.redone.append(i)
        await asyncio.gather(*(one(i) for i, w in plan.items() if (w == "late") == late))

    async def signed_or_deemed(self, ticket_no: str) -> dict[str, Any]:
        """The work order once sla's deemed signing has reached triage (the window has passed when this is asked),
        or as it is after a bounded wait."""
        deadline = time.monotonic() + 20.0
        while True:
            wo = await self.work_order(ticket_no) or {}
            if wo.get("deemed_signed") or wo.get("signed_at") or time.monotonic() > deadline:
                return wo
            await asyncio.sleep(0.3)

    async def resolve_and_visit_round(self, item_id: str, unit: str, rnd: int) -> bool:
        """The unit resolves with a reply; the work team visits with a seeded answer. True when the visit ordered a
        redo (unsatisfied through the unit's fault: 发回重办)."""
        o = self.played.observed[item_id]
        if await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/resolution", unit,
                          {"outcome": "resolved", "reply": REPLY}) is None:
            return False
        rng = random.Random(f"{self.seed}-{item_id}-{rnd}")  # per item: the same answers whatever the call order
        x = rng.random()
        sat = "satisfied" if x < 0.6 else "basically_satisfied" if x < 0.8 else "unsatisfied" if x < 0.95 \
            else "unreachable"
        body: dict[str, Any] = {"satisfaction": sat}
        if sat != "unreachable":
            body["resolved"] = "yes" if x < 0.75 else "partly" if x < 0.85 else "no"
        if sat == "unsatisfied":
            body["cause"] = "objective" if rng.random() < 0.5 else "subjective"
        answer = await self.act("POST", "oversight", f"/v1/tickets/{o.ticket_no}/return-visits", "work_team", body,
                                # oversight has not consumed the resolution (or, for a redo, the new round) yet
                                wait_for=("no result", "already-visited"))
        if answer is None:
            return False
        self.played.log.append({"what": "visit", "unit": unit, "ticket_no": o.ticket_no, "round": rnd,
                                "satisfaction": sat, "resolved": body.get("resolved")})
        return bool(answer.get("redo"))

    async def redo_rounds(self) -> None:
        """Tickets sent back for redo: once triage has the new round, the unit signs it, resolves and is visited
        again (at most three rounds, so a run always ends)."""
        async def one(i: str) -> bool:
            o = self.played.observed[i]
            rnd = int((o.work_order or {}).get("round") or 1) + 1
            wo = await self.wait_round(str(o.ticket_no), rnd)
            if wo is None:
                self.err("redo round not seen")
                return False
            o.work_order = wo
            unit = str(wo.get("lead_unit"))
            self.played.log.append({"what": "dispatched", "unit": unit, "ticket_no": o.ticket_no, "round": rnd})
            if await self.act("POST", "triage", f"/v1/work-orders/{o.ticket_no}/sign", unit) is not None:
                self.played.log.append({"what": "signed", "unit": unit, "ticket_no": o.ticket_no, "in_time": True,
                                        "round": rnd})
            return rnd < 3 and await self.resolve_and_visit_round(i, unit, rnd)
        while self.redone:
            todo, self.redone = self.redone, []
            again = await asyncio.gather(*(one(i) for i in todo))
            self.redone = [i for i, a in zip(todo, again, strict=True) if a]

    async def wait_round(self, ticket_no: str, rnd: int) -> dict[str, Any] | None:
        """triage's work order once it is dispatched in round `rnd` (oversight's redo has reached it)."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            wo = await self.work_order(ticket_no)
            if wo is not None and int(wo.get("round") or 0) >= rnd and wo.get("state") == "dispatched":
                return wo
            await asyncio.sleep(0.3)
        return None

    async def run(self, items: list[Item]) -> Played:
        """Every working day: the due resolutions and visits at 10:00 (a day's on-time units the next working day,
        its late ones two working days later), the day's items submitted at 9:00 and worked at 11:00, the redo
        rounds at 14:00; after the last day of items, the days go on until every item is resolved. So a month of
        items runs on its clocks as a month at a hotline centre would, not all resolved after the month."""
        t0 = time.monotonic()
        by_day: dict[int, list[Item]] = {}
        for it in items:
            by_day.setdefault(it.day, []).append(it)
        days = [by_day[d] for d in sorted(by_day)]
        due: dict[date, list[tuple[dict[str, str], bool]]] = {}
        day = last = START
        async with self.clients():
            while days or due:
                todays = days.pop(0) if days else []
                if todays:
                    await self.set_clock(day, 9)
                    firsts = [i for i in todays if not i.extra.get("after")]
                    repeats = [i for i in todays if i.extra.get("after")]
                    for group in (firsts, repeats):
                        await asyncio.gather(*(self.submit(i, None) for i in group))
                    await self.settle([i.id for i in todays])
                await self.set_clock(day, 10)
                for plan, late in due.pop(day, []):
                    await self.resolve_and_visit(plan, late=late)
                if todays:
                    await self.set_clock(day, 11)
                    plan = self.plan([i.id for i in todays])
                    await self.morning_units(plan)
                    await self.receive_transfers([i.id for i in todays])
                    await self.answer_consultations([i.id for i in todays])
                    on_time = _next_working(day)
                    due.setdefault(on_time, []).append((plan, False))
                    due.setdefault(_next_working(_next_working(on_time)), []).append((plan, True))
                await self.set_clock(day, 14)  # redo rounds are signed the day they are ordered, well in time
                await self.redo_rounds()
                last, day = day, _next_working(day)
            await self.collect(last)
        self.played.seconds = time.monotonic() - t0
        return self.played

    async def collect(self, last: date) -> None:
        """Oversight's rates per unit, red tickets and their cases, and how many work orders triage holds."""
        self.played.last_day = last
        await asyncio.sleep(2.0)  # oversight consumes the last visits
        p = {"from": (START - timedelta(days=1)).isoformat(), "to": (last + timedelta(days=1)).isoformat()}
        r = await self.req("oversight", "GET", "/v1/stats/units", params=p, headers=self.auth("leader"))
        if r.status_code == 200:
            self.played.oversight_rates = {row["unit"]: row for row in r.json()}
        else:
            self.err(f"stats {r.status_code}")
        seen, offset = 0, 0
        while True:
            r = await self.req("triage", "GET", "/v1/work-orders", params={"limit": 1000, "offset": offset},
                                           headers=self.auth("work_team"))
            rows = r.json() if r.status_code == 200 else []
            seen += len(rows)
            self.played.red_tickets |= {w["ticket_no"] for w in rows if w.get("tier") == "red"}
            if len(rows) < 1000:
                break
            offset += 1000
        self.played.tickets_seen = seen
        offset = 0
        while True:
            r = await self.req("oversight", "GET", "/v1/cases", params={"limit": 500, "offset": offset},
                                              headers=self.auth("inspector"))
            rows = r.json() if r.status_code == 200 else []
            for case in rows:
                self.played.case_tickets |= set(case.get("ticket_nos") or [])
            if len(rows) < 500:
                break
            offset += 500


def _next_working(d: date) -> date:
    """The next Monday-to-Friday day (the week simulated has no holiday)."""
    d += timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d

