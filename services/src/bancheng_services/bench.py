"""`bancheng bench`: drive tickets through the running system and print throughput, latency and memory.

Parts:
- accept: intake alone over HTTP (with its broker): single POSTs per second and intake's CPU per ticket.
- replay: each service's consumers on a recorded event stream, in process: CPU per ticket (bancheng_services.replay).
- e2e: a fresh stack (embedded broker + SQLite unless --database-url / --kafka-bootstrap are given), N tickets
  posted by C concurrent clients; intake accept throughput and latency percentiles; end-to-end throughput and
  lag from received to dispatched-with-clock; peak memory (VmHWM) per process.
- recovery (only when named): N tickets, then the broker wiped and the stack restarted from the same databases
  twice, republishing every retained outbox row and only what the consumer groups had not confirmed: rows sent
  again and seconds to settle for both (bancheng_services.recovery).
- the services' own in-process benchmarks (`<svc>_svc.bench.benchmarks()`): calendar, classification, merge
  detection, statistics, ...

accept, e2e and the replays run on each backend of --backends (SQLite, and PostgreSQL when a server answers), each
run in fresh databases; a table prints the backends side by side, and --json writes part -> backend -> figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bancheng_services.bench_backends import ServerClock, choose_backends, run_template, side_by_side
from bancheng_services.broker import EmbeddedBroker, free_port
from bancheng_services.demo import DEMO_KEYS, seed_demo
from bancheng_services.loadgen import LoadClient
from bancheng_services.stack import SERVICES, Stack, drop_postgres_database, replica_of
from bancheng_shared.db import is_sqlite
from bancheng_shared.topics import SLA_CLOCKS, topic_name

OPERATOR = {"Authorization": f"Bearer {next(k['key'] for k in DEMO_KEYS if k['role'] == 'operator')}"}
MATTERS = [
    "超市卖过期食品，商家拒绝退款", "小区停电一整天没人修", "工地夜间施工噪音扰民", "公司拖欠工资三个月",
    "孩子入学报名系统打不开", "医保报销手续太复杂", "路边摊贩占道经营", "燃气费突然涨了很多",
    "物业不给修漏水的屋顶", "快递网点乱收费", "小区门口的红绿灯坏了", "河道有人偷排污水",
]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


PLACES = ["人民路", "解放街", "和平里", "建设巷", "光明小区", "新华苑", "长江花园", "城关菜市场", "火车站广场",
          "滨江公园", "实验小学", "第一医院", "开发区", "老城区", "工业园", "东门桥"]
DETAILS = ["已经持续一周", "多次反映无果", "影响老人休息", "孩子上学不方便", "存在安全隐患", "希望尽快处理",
           "周末尤其严重", "晚上十点以后", "涉及二十多户", "已拍照留存", "物业说不归他们管", "打电话没人接"]


DISTRICTS = ["东湖区", "西岭区", "南港区", "北川区", "临江县", "青山县"]
STREETS = ["城关街道", "新华街道", "人民街道", "长江街道"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_cpu_seconds() -> float:
    """CPU time all the machine's cores have spent busy (neither idle nor waiting for I/O), in seconds."""
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def service_cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each service's processes, its replicas summed."""
    spent: dict[str, float] = dict.fromkeys(SERVICES, 0.0)
    for name, sp in stack.procs.items():
        if sp.proc is not None and replica_of(name) in spent:
            spent[replica_of(name)] += cpu_seconds(sp.proc.pid)
    return spent


def idle_rates(stack: Stack, seconds: float = 3.0) -> tuple[dict[str, float], float]:
    """Each service's CPU per second while nothing is asked of it (its polling, timers and jobs), and the whole
    machine's: the baseline a ticket's cost is measured above."""
    spent, machine, t0 = service_cpu_seconds(stack), machine_cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - t0
    now = service_cpu_seconds(stack)
    return {name: (now[name] - spent[name]) / took for name in now}, (machine_cpu_seconds() - machine) / took


def settled_cpu_seconds(stack: Stack, idle: dict[str, float], idle_share: float = 0.05,
                        limit_s: float = 120) -> tuple[dict[str, float], float]:
    """service_cpu_seconds (and the monotonic time) once every service is back at its idle rate (within
    `idle_share` of a core over a second): the drive ends when the clocks exist, while oversight may still count."""
    deadline = time.monotonic() + limit_s
    spent = service_cpu_seconds(stack)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = service_cpu_seconds(stack)
        if all(now[name] - spent[name] < idle[name] + idle_share for name in now):
            return now, time.monotonic()
        spent = now
    return spent, time.monotonic()


def ticket_body(i: int) -> dict[str, Any]:
    """A distinct request: its own street address (so it is no repeat of another request at the same place)."""
    rnd = (i * 2654435761) % 2**32
    place = f"{DISTRICTS[i % 6]}{STREETS[(i // 6) % 4]}{PLACES[rnd % len(PLACES)]}{i + 1}号"
    text = (f"{place}附近{MATTERS[i % len(MATTERS)]}，{DETAILS[(rnd >> 8) % len(DETAILS)]}，"
            f"{DETAILS[(rnd >> 12) % len(DETAILS)]}。")
    return {"channel": "hotline", "content": text, "location": {"address": place}, "external_id": f"bench-{i}"}


async def _clock_watcher(stack: Stack, started: dict[str, datetime], wanted: dict[str, datetime],
                         all_in: asyncio.Event, complete: asyncio.Event) -> tuple[Any, asyncio.Task[None]]:
    """Read sla's ClockStarted events off the broker (no load on the services): ticket → when its clock started.

    Sets `complete` once every ticket of `wanted` has its clock (after `all_in` says no more will be wanted).
    """
    consumer = AIOKafkaConsumer(topic_name(SLA_CLOCKS, stack.topic_prefix), bootstrap_servers=stack.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()

    async def watch() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for rec in records:
                    env = orjson.loads(rec.value)
                    if env["type"] == "ClockStarted":
                        started.setdefault(env["ticket_id"], datetime.fromisoformat(env["occurred_at"]))
            if all_in.is_set() and all(t in started for t in wanted):
                complete.set()

    return consumer, asyncio.create_task(watch())


async def drive(stack: Stack, n: int, concurrency: int, batch: int = 1,
                headers: dict[str, str] | None = None, rate: float = 0.0) -> dict[str, Any]:
    """Post n tickets with `concurrency` clients (`batch` per request); wait until each has its clock; measure.

    rate 0 posts as fast as the clients get answers (a burst: what intake absorbs); a rate (tickets/s) paces
    the posts on a fixed schedule (open loop: a slow answer does not slow the offered load), for the lag at a
    load the system is meant to carry."""
    # every replica of intake takes its share of the clients (one unless the stack runs `intake#2` ...)
    urls = [sp.url for name, sp in stack.procs.items() if replica_of(name) == "intake"]
    headers = headers or OPERATOR
    latencies: list[float] = []
    received: dict[str, datetime] = {}
    started: dict[str, datetime] = {}
    errors = 0
    all_in, complete = asyncio.Event(), asyncio.Event()
    consumer, watcher = await _clock_watcher(stack, started, received, all_in, complete)
    cpu0 = time.process_time()
    try:
        async with AsyncExitStack() as clients_open:
            clients = [await clients_open.enter_async_context(
                LoadClient(url, max(1, concurrency // len(urls)), headers)) for url in urls]
            client = clients[0]
            # the requests are built before the clock starts: the drive measures the services, not itself
            requests = [
                (len(items), client.build("POST", "/v1/tickets", ticket_body(items[0])) if batch == 1 else
                 client.build("POST", "/v1/tickets:batch", {"items": [ticket_body(i) for i in items]}))
                for items in (list(range(i, min(n, i + batch))) for i in range(0, n, batch))
            ]
            requests.reverse()

            sent = 0

            async def worker(client: LoadClient) -> None:
                nonlocal errors, sent
                while requests:
                    count, raw = requests.pop()
                    if rate:
                        due = start + sent / rate
                        sent += count
                        if due > time.perf_counter():
                            await asyncio.sleep(due - time.perf_counter())
                    t0 = time.perf_counter()
                    r = await client.request(raw)
                    latencies.append(time.perf_counter() - t0)
                    if r.status in (200, 201):
                        got = orjson.loads(r.body)
                        for x in got["items"] if batch > 1 else [got]:
                            received[x["ticket_no"]] = datetime.fromisoformat(x["received_at"])
                    else:
                        errors += count

            start = time.perf_counter()
            await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(concurrency)))
            accept_s = time.perf_counter() - start
        # end to end: until every accepted ticket's clock has started (or the time allowed is up)
        all_in.set()
        try:
            async with asyncio.timeout(max(120, n / 20)):
                await complete.wait()
        except TimeoutError:
            pass  # reported as fewer completed than accepted
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await consumer.stop()
    done = [t for t in received if t in started]
    lags = [(started[t] - received[t]).total_seconds() for t in done]
    span = (max(started[t] for t in done) - min(received[t] for t in done)).total_seconds() if done else 0.0
    return {
        "tickets": n,
        "concurrency": concurrency,
        "tickets_per_request": batch,
        "offered_tickets_per_s": rate or "as fast as answered",
        "accept_errors": errors,
        "accept_tickets_per_s": round(len(received) / accept_s, 1),
        "load_generator_cpu_s": round(time.process_time() - cpu0, 1),
        "accept_request_p50_ms": round(pct(latencies, 50) * 1000, 1),
        "accept_request_p95_ms": round(pct(latencies, 95) * 1000, 1),
        "accept_request_p99_ms": round(pct(latencies, 99) * 1000, 1),
        "e2e_completed": len(done),
        "e2e_tickets_per_s": round(len(done) / span, 1) if span else 0.0,
        "e2e_lag_p50_s": round(pct(lags, 50), 3),
        "e2e_lag_p95_s": round(pct(lags, 95), 3),
        "e2e_lag_p99_s": round(pct(lags, 99), 3),
        "e2e_lag_max_s": round(max(lags), 3) if lags else None,
    }


@contextmanager
def fresh_stack(args: argparse.Namespace, name: str,
                template: str | None = None) -> Iterator[tuple[Stack, EmbeddedBroker | None]]:
    """A prepared stack in a temporary directory, demo data seeded, no service started yet; removed after (its
    PostgreSQL databases too: fresh ones per run, see run_template).

    The embedded broker unless --kafka-bootstrap is given; the databases of `template` (default --database-url;
    "" is SQLite files)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bancheng-{name}-"))
    broker = None
    bootstrap = args.kafka_bootstrap
    stack = Stack(kafka_bootstrap="", data_dir=tmp,
                  db_template=run_template(args.database_url if template is None else template),
                  topic_prefix=f"{name}{int(time.time())}.", ports={s: free_port() for s in SERVICES},
                  extra_env={"{P}LOG_LEVEL": "WARNING"})
    try:
        if not bootstrap:
            broker = EmbeddedBroker(log_path=tmp / "broker.log")
            broker.start()
            bootstrap = broker.bootstrap
        stack.kafka_bootstrap = bootstrap
        asyncio.run(stack.prepare())
        asyncio.run(seed_demo(stack))
        yield stack, broker
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
        if stack.db_template:
            asyncio.run(_drop_databases(stack))
        shutil.rmtree(tmp, ignore_errors=True)


async def _drop_databases(stack: Stack) -> None:
    for service in SERVICES:
        await drop_postgres_database(stack.db_url(service))


async def database_bytes(stack: Stack) -> dict[str, int]:
    """Each service's database size in bytes (PostgreSQL: pg_database_size; SQLite: the file and its WAL); on
    PostgreSQL also its outbox's (`<service>_outbox`), which is kept only for the retention period."""
    sizes: dict[str, int] = {}
    for name in SERVICES:
        url = make_url(stack.db_url(name))
        if url.get_backend_name() == "sqlite":
            files = [Path(f"{url.database}{suffix}") for suffix in ("", "-wal")]
            sizes[name] = sum(f.stat().st_size for f in files if f.exists())
            continue
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                size = await conn.execute(text("SELECT pg_database_size(current_database()),"
                                               " pg_total_relation_size('outbox')"))
                sizes[name], sizes[f"{name}_outbox"] = (int(v) for v in size.one())
        finally:
            await engine.dispose()
    return sizes


def run_e2e(args: argparse.Namespace, record_to: Path | None = None, template: str | None = None) -> dict[str, Any]:
    """A fresh stack, the drive, the figures and the memory (and, with record_to, every event, for replay)."""
    with fresh_stack(args, "bench", template) as (stack, broker):
        stack.start_all()
        for name in SERVICES:  # --replicas N: N processes of every service on the same databases
            for i in range(2, getattr(args, "replicas", 1) + 1):
                stack.start(f"{name}#{i}")
        asyncio.run(stack.wait_ready(timeout_s=180))
        empty = asyncio.run(database_bytes(stack))
        server = ServerClock(stack.db_url("intake"))  # the database server's share, when it runs here
        idle, machine_idle = idle_rates(stack)
        server.idle()
        spent, machine, t0 = service_cpu_seconds(stack), machine_cpu_seconds(), time.monotonic()
        figures = asyncio.run(drive(stack, args.tickets, args.concurrency, args.batch, rate=args.rate))
        # capacity: CPU per ticket of each service (start-up excluded) and of the whole machine (the database
        # server, the broker and the load generator included), above what they spend idle over the same span
        per_ticket = 1000 / max(1, args.tickets)
        settled, t1 = settled_cpu_seconds(stack, idle)
        figures.update({f"cpu_ms_per_ticket_{name}": round((cpu - spent[name] - idle[name] * (t1 - t0)) * per_ticket, 2)
                        for name, cpu in settled.items()})
        figures.update(server.figures(args.tickets, t1))
        figures["machine_cpu_ms_per_ticket"] = round(
            (machine_cpu_seconds() - machine - machine_idle * (time.monotonic() - t0)) * per_ticket, 2)
        figures.update({f"idle_cpu_share_{name}": round(rate, 3) for name, rate in idle.items()})
        # database sizing: what the run's tickets added to each service's database, per ticket
        grown = asyncio.run(database_bytes(stack))
        figures.update({f"db_kb_per_ticket_{name}": round((grown[name] - empty[name]) / 1024 / max(1, args.tickets), 2)
                        for name in grown})
        memory = {f"peak_rss_mb_{name}": round(peak_rss_mb(sp.proc.pid), 1)
                  for name, sp in stack.procs.items() if sp.proc is not None}
        # where the time goes: CPU seconds each process spent over the whole run
        memory.update({f"cpu_s_{name}": round(cpu_seconds(sp.proc.pid), 1)
                       for name, sp in stack.procs.items() if sp.proc is not None})
        if broker is not None and broker.proc is not None:
            memory["peak_rss_mb_broker"] = round(peak_rss_mb(broker.proc.pid), 1)
        if record_to is not None:
            from bancheng_services import replay

            replay.save(asyncio.run(replay.read_topics(stack)), record_to)
        return {**figures, **memory}


def run_accept(args: argparse.Namespace, template: str | None = None) -> dict[str, Any]:
    """Intake alone over HTTP (its uvicorn, relay and broker; the other services not started): what intake
    itself accepts per second, single POSTs from `concurrency` keep-alive clients, and its CPU per ticket."""
    with fresh_stack(args, "accept", template) as (stack, _broker):
        sp = stack.start("intake")
        asyncio.run(stack.wait_ready(["intake"], timeout_s=120))
        assert sp.proc is not None
        pid = sp.proc.pid

        server = ServerClock(stack.db_url("intake"))

        async def post_all() -> dict[str, Any]:
            latencies: list[float] = []
            async with LoadClient(sp.url, args.concurrency, OPERATOR) as client:
                raws = [client.build("POST", "/v1/tickets", ticket_body(i)) for i in range(args.tickets + 200)]
                for raw in raws[:200]:  # warm up: the first requests fill caches
                    assert (await client.request(raw)).status in (200, 201)
                todo = list(reversed(raws[200:]))

                async def worker() -> None:
                    while todo:
                        raw = todo.pop()
                        t0 = time.perf_counter()
                        r = await client.request(raw)
                        latencies.append(time.perf_counter() - t0)
                        assert r.status in (200, 201), r.body

                cpu0, start = cpu_seconds(pid), time.perf_counter()
                server.start()
                await asyncio.gather(*(worker() for _ in range(args.concurrency)))
                took = time.perf_counter() - start
                await asyncio.sleep(1.0)  # the relay publishes what the last requests wrote
                cpu = cpu_seconds(pid) - cpu0
            return {"tickets": args.tickets, "concurrency": args.concurrency,
                    "accept_tickets_per_s": round(args.tickets / took, 1),
                    "intake_cpu_ms_per_ticket": round(cpu / args.tickets * 1000, 3), **server.figures(args.tickets),
                    "request_p50_ms": round(pct(latencies, 50) * 1000, 1),
                    "request_p99_ms": round(pct(latencies, 99) * 1000, 1),
                    "peak_rss_mb_intake": round(peak_rss_mb(pid), 1), "merging": True,
                    "backend": "sqlite" if is_sqlite(stack.db_url("intake")) else "postgresql"}

        return asyncio.run(post_all())


def service_benchmarks() -> dict[str, Any]:
    """name -> callable, from every service's bench module that exists."""
    found: dict[str, Any] = {}
    for name, spec in SERVICES.items():
        try:
            mod = importlib.import_module(f"{spec['module']}.bench")
        except ModuleNotFoundError:
            continue
        for bname, fn in mod.benchmarks().items():
            found[f"{name}.{bname}"] = fn
    return found


def main(args: argparse.Namespace) -> int:
    """Run the parts asked for (all by default) on each backend in turn and print their figures side by side."""
    try:
        backends = choose_backends(getattr(args, "backends", ""), args.database_url)
    except ValueError as exc:
        print(f"bench: {exc}")
        return 2
    if getattr(args, "replicas", 1) > 1:
        # replicas share a database: their relays take turns by PostgreSQL's advisory lock, which SQLite has not
        backends = {b: t for b, t in backends.items() if b != "sqlite"}
        if not backends:
            print("bench: --replicas needs PostgreSQL (--backends postgresql)")
            return 2
    print(f"backends: {', '.join(backends)}", flush=True)
    only = {p.strip() for p in args.only.split(",") if p.strip()}
    results: dict[str, dict[str, dict[str, Any]]] = {}
    replays = [s for s in SERVICES if not only or "replay" in only or f"replay.{s}" in only]
    recording = Path(args.recording)
    record = bool(replays) and (args.record or not recording.exists())
    if not only or "e2e" in only:
        for backend, template in backends.items():
            print(f"e2e on {backend}: {args.tickets} tickets, {args.concurrency} concurrent clients, fresh stack ...",
                  flush=True)
            # the first e2e run's own events make the recording the replay part reads
            results.setdefault("e2e", {})[backend] = run_e2e(args, recording if record else None, template)
            _print(f"e2e {backend}", results["e2e"][backend])
            record = False
    if "recovery" in only:  # asked for by name only: it drives the stack three times
        from bancheng_services.recovery import run_recovery

        for backend, template in backends.items():
            print(f"recovery on {backend}: {args.tickets} tickets, then the broker wiped: full republish vs "
                  "unconfirmed only ...", flush=True)
            results.setdefault("recovery", {})[backend] = run_recovery(args, template)
            _print(f"recovery {backend}", results["recovery"][backend])
    if not only or "accept" in only:
        for backend, template in backends.items():
            print(f"accept on {backend}: intake alone, {args.tickets} single POSTs, {args.concurrency} clients ...",
                  flush=True)
            results.setdefault("accept", {})[backend] = run_accept(args, template)
            _print(f"accept {backend}", results["accept"][backend])
    if replays:
        from bancheng_services import replay

        if record:
            print(f"recording the events of {args.tickets} tickets through a fresh stack into {recording} ...",
                  flush=True)
            run_e2e(args, recording, next(iter(backends.values())))
        records = replay.load(recording)
        for name in replays:
            for backend, template in backends.items():
                print(f"replay.{name} on {backend} ...", flush=True)
                # CPU time per ticket varies run to run with what else the cores do: every run and the median
                runs = [asyncio.run(replay.replay(name, records, template)) for _ in range(max(1, args.repeat))]
                figures = dict(runs[0])
                cpu = sorted(r["cpu_ms_per_ticket"] for r in runs)
                figures["cpu_ms_per_ticket"] = cpu[len(cpu) // 2]
                if len(runs) > 1:
                    figures["cpu_ms_per_ticket_runs"] = [r["cpu_ms_per_ticket"] for r in runs]
                results.setdefault(f"replay.{name}", {})[backend] = figures
                _print(f"replay.{name} {backend}", figures)
    if results:
        print(side_by_side(results, list(backends)), end="\n\n", flush=True)
    for name, fn in service_benchmarks().items():
        if only and not any(name == o or name.startswith(o + ".") or name.split(".", 1)[1] == o for o in only):
            continue
        print(f"{name} ...", flush=True)
        t0 = time.perf_counter()
        figures = fn()
        figures["wall_s"] = round(time.perf_counter() - t0, 2)
        results[name] = {"in process": figures}
        _print(name, figures)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    return 0


def _print(name: str, figures: dict[str, Any]) -> None:
    width = max(len(k) for k in figures) if figures else 0
    print(f"[{name}]")
    for k, v in figures.items():
        print(f"  {k:<{width}}  {v}")
    print(flush=True)


