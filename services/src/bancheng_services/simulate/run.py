"""`bancheng simulate`: generate, start (or reach) a stack on simulated time, drive, score, print."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bancheng_services.broker import EmbeddedBroker, free_port
from bancheng_services.simulate.driver import SIM_KEYS, Driver, Played, key_rows
from bancheng_services.simulate.generator import generate
from bancheng_services.simulate.scorecard import Scorecard, build, render
from bancheng_services.stack import SERVICES, Stack, seed_keys
from bancheng_shared.calendar import WorkingCalendar, seed_years

DEMO_ROLE_KEYS = {"operator": "demo-operator-key", "work_team": "demo-workteam-key", "leader": "demo-leader-key",
                  "inspector": "demo-inspector-key", "admin": "demo-admin-key"}
SIM_ENV = {"{P}SIMULATED_TIME_ALLOWED": "true", "{P}LOG_LEVEL": "WARNING"}


def unit_codes() -> list[str]:
    """Every unit of the demo directory."""
    from triage_svc.demo_directory import demo_city

    return [str(u["code"]) for u in demo_city()]


async def prepared(stack: Stack) -> None:
    """Databases, topics, the demo directory and the simulation's keys."""
    from bancheng_services.demo import seed_demo

    await stack.prepare()
    await seed_demo(stack)
    rows = key_rows(unit_codes())
    for name, spec in SERVICES.items():
        await seed_keys(stack.db_url(name), spec["module"], rows)


def score(items: list[Any], played: Played) -> Scorecard:
    """The scorecard of a run."""
    cal = WorkingCalendar(seed_years(range(played.first_day.year, played.first_day.year + 3)))
    card = build(items, played.observed, tickets_seen=played.tickets_seen, is_working_day=cal.is_working_day,
                 log=played.log, oversight_rates=played.oversight_rates, red_tickets=played.red_tickets,
                 case_tickets=played.case_tickets)
    card.figures["refusals_and_errors"] = dict(sorted(played.errors.items()))
    card.figures["refusal_samples"] = dict(sorted(played.samples.items()))
    card.figures["seconds"] = round(played.seconds, 1)
    return card


async def fetch_reports(oversight_url: str, key: str, played: Played) -> dict[str, bytes]:
    """Oversight's monthly report (HTML and XLSX) of each month the simulation played, by file name."""
    import httpx

    months, day = [], played.first_day.replace(day=1)
    while day <= played.last_day:
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    files = {}
    async with httpx.AsyncClient(base_url=oversight_url, headers={"X-API-Key": key}, timeout=300) as client:
        for month in months:
            for fmt in ("html", "xlsx"):
                r = await client.get("/v1/reports", params={"period": "month", "start": month.isoformat(),
                                                            "format": fmt})
                r.raise_for_status()
                files[f"report-month-{month:%Y-%m}.{fmt}"] = r.content
    return files


def save_reports(oversight_url: str, key: str, played: Played, out_dir: Path) -> None:
    """The monthly reports of the simulated months, written to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in asyncio.run(fetch_reports(oversight_url, key, played)).items():
        (out_dir / name).write_bytes(content)
        print(f"saved {out_dir / name}")


def simulate_on_own_stack(items: list[Any], database_url: str, kafka_bootstrap: str, seed: int,
                          reports_dir: Path | None = None) -> Played:
    """A fresh stack (SQLite, or PostgreSQL with --database-url) on simulated time, driven, then stopped (before
    it stops, oversight's monthly reports are saved to reports_dir when given)."""
    tmp = Path(tempfile.mkdtemp(prefix="bancheng-simulate-"))
    broker = None
    if not kafka_bootstrap:
        broker = EmbeddedBroker(log_path=tmp / "broker.log")
        broker.start()
        kafka_bootstrap = broker.bootstrap
    stack = Stack(kafka_bootstrap=kafka_bootstrap, data_dir=tmp, db_template=database_url,
                  topic_prefix=f"sim{int(time.time())}.", ports={s: free_port() for s in SERVICES},
                  extra_env=dict(SIM_ENV))
    try:
        asyncio.run(prepared(stack))
        stack.start_all()
        asyncio.run(stack.wait_ready(timeout_s=120))
        urls = {name: sp.url for name, sp in stack.procs.items()}
        played = asyncio.run(Driver(urls, seed=seed).run(items))
        if reports_dir is not None:
            save_reports(urls["oversight"], SIM_KEYS["leader"], played, reports_dir)
        return played
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def parse_urls(pairs: list[str]) -> dict[str, str]:
    """`intake=http://…` pairs for the four services."""
    urls = dict(p.split("=", 1) for p in pairs)
    missing = [s for s in SERVICES if s not in urls]
    if missing:
        raise SystemExit(f"--url needs all four services; missing: {', '.join(missing)}")
    return urls


def cmd_simulate(args: argparse.Namespace) -> int:
    """Generate the labelled days, play them, print the scorecard; with --check, fail below the thresholds."""
    size = 500 if args.small else 10_000 if args.city else args.items
    items = generate(size=size, days=args.days, seed=args.seed)
    print(f"simulating {len(items)} labelled items over {args.days} day(s) (seed {args.seed})")
    if args.url:
        driver = Driver(parse_urls(args.url), seed=args.seed, units_keyed=False, keys=DEMO_ROLE_KEYS)
        played = asyncio.run(driver.run(items))
        if args.reports:
            save_reports(driver.urls["oversight"], DEMO_ROLE_KEYS["leader"], played, Path(args.reports))
    else:
        played = simulate_on_own_stack(items, args.database_url, args.kafka_bootstrap, args.seed,
                                       Path(args.reports) if args.reports else None)
    card = score(items, played)
    print(json.dumps(card.as_json(), ensure_ascii=False, indent=2) if args.json else render(card))
    return 1 if args.check and card.failures else 0


def add_parser(sub: Any) -> None:
    """The `simulate` subcommand's options."""
    sp = sub.add_parser("simulate", help="a labelled city day through a stack on simulated time, and its scorecard")
    size = sp.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="about 500 items")
    size.add_argument("--city", action="store_true", help="about 10,000 items a day")
    size.add_argument("-n", "--items", type=int, default=500, help="items a day")
    sp.add_argument("--days", type=int, default=1)
    sp.add_argument("--seed", type=int, default=12345)
    sp.add_argument("--url", action="append", default=[], help="service=base URL (all four) of a running stack "
                    "started with <P>SIMULATED_TIME_ALLOWED and demo keys; default: a fresh stack")
    sp.add_argument("--database-url", default=os.environ.get("BANCHENG_DATABASE_URL", ""),
                    help="PostgreSQL URL template with {service}, like `./dev up` (default: SQLite files)")
    sp.add_argument("--kafka-bootstrap", default=os.environ.get("BANCHENG_KAFKA_BOOTSTRAP", ""),
                    help="an external broker (default: the embedded one)")
    sp.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    sp.add_argument("--check", action="store_true", help="exit non-zero when a threshold fails")
    sp.add_argument("--reports", default="", metavar="DIR",
                    help="save oversight's monthly reports (HTML, XLSX) of the simulated months to DIR")
    sp.set_defaults(fn=cmd_simulate)
