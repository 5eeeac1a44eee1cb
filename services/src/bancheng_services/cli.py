"""`bancheng`: start the whole system, run migrations, seed demo data, benchmark."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from bancheng_services.broker import EmbeddedBroker
from bancheng_services.stack import SERVICES, Stack, plumbing_of


def _stack(args: argparse.Namespace, bootstrap: str, console: bool = False) -> Stack:
    return Stack(kafka_bootstrap=bootstrap, data_dir=Path(args.data_dir), db_template=args.database_url,
                 topic_prefix=args.topic_prefix, partitions=args.partitions, console=console)


def cmd_up(args: argparse.Namespace) -> int:
    """Start broker (unless external), migrate, seed demo data, run the four services until Ctrl-C."""
    from bancheng_services.demo import DEMO_KEYS, seed_demo

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    broker = None
    bootstrap = args.kafka_bootstrap
    if not bootstrap:
        broker = EmbeddedBroker(port=args.broker_port, log_path=data_dir / "logs" / "broker.log")
        broker.start()
        bootstrap = broker.bootstrap
        print(f"embedded broker (tansu, memory only) on {bootstrap}")
    stack = _stack(args, bootstrap, console=not args.no_console)
    # the demo keys (an admin's among them) are for the embedded default only; elsewhere only when asked for
    demo = args.demo if args.demo is not None else not (args.database_url or args.kafka_bootstrap)
    if not demo and args.demo is None:
        print("external database or broker: no demo data or demo keys (pass --demo to load them anyway)")
    try:
        asyncio.run(stack.prepare())
        if demo:
            loaded = asyncio.run(seed_demo(stack))
            if loaded:
                print(f"demo org directory loaded: {loaded} units")
        stack.start_all()
        asyncio.run(stack.wait_ready(timeout_s=90))
        print("\nBancheng is up. 办成已启动。")
        for name, sp in stack.procs.items():
            if name == "console":
                continue
            print(f"  {name:<10} {sp.url}  docs {sp.url}/docs  log {sp.log_path}")
        if stack.console:
            print(f"\n  console 工作台  {stack.console_url()}  (sign in with an API key; citizens' tracking links "
                  f"open {stack.console_url()}/track/...)")
        if demo:
            print("\nDemo API keys (for trying it out only):")
            for k in DEMO_KEYS:
                print(f"  {k['role']:<20} {k['key']}" + (f"  (unit {k['unit']})" if k["unit"] else ""))
        print("\nCtrl-C stops everything.")
        stop = {"flag": False}

        def _stop(_sig: int, _frm: object) -> None:
            stop["flag"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop["flag"]:
            if broker is not None and broker.proc is not None and broker.proc.poll() is not None:
                # memory only: it comes back empty, and the relays republish their retained outboxes
                print("embedded broker exited; restarting it empty (services republish what they hold)")
                broker.start()
            for name, sp in stack.procs.items():
                if sp.proc is not None and sp.proc.poll() is not None:
                    print(f"{name} exited ({sp.proc.returncode}); restarting. See {sp.log_path}")
                    stack.start(name)
            time.sleep(1)
        print("\nstopping...")
        return 0
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
        print("stopped.")


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create databases and bring them to the newest migration (topics too when a broker is given)."""
    from bancheng_services.stack import ensure_postgres_database
    from bancheng_shared.migrate import upgrade

    stack = _stack(args, args.kafka_bootstrap or "")
    for name, spec in SERVICES.items():
        url = stack.db_url(name)
        asyncio.run(ensure_postgres_database(url))
        upgrade(spec["migrations"], url)
        print(f"{name}: migrated {url.split('@')[-1]}")
    return 0


def cmd_makemigrations(args: argparse.Namespace) -> int:
    """Autogenerate a migration for a service from its tables (developer tool)."""
    import tempfile

    from alembic import command

    from bancheng_shared.migrate import alembic_config, upgrade

    spec = SERVICES[args.service]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/m.db"
        upgrade(spec["migrations"], url)
        cfg = alembic_config(spec["migrations"], url)
        command.revision(cfg, message=args.message, autogenerate=True)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Add, list or revoke API keys in every service's database (one key works on all four)."""
    import secrets

    from bancheng_shared import keys
    from bancheng_shared.db import make_engine, make_sessionmaker

    if args.action == "add" and not args.key:
        args.key = f"bc_{secrets.token_urlsafe(32)}"
    stack = _stack(args, "")

    async def each() -> None:
        for name, spec in SERVICES.items():
            engine = make_engine(stack.db_url(name))
            try:
                result = await keys.run(args, make_sessionmaker(engine), plumbing_of(spec["module"]))
            finally:
                await engine.dispose()
            if args.action == "list":
                print(f"[{name}]")
                for row in result:
                    print(f"  {row['key_id']}  {row['role']:<20} {row['unit_code'] or '':<28} "
                          f"{'active' if row['active'] else 'revoked'}  {row['name']}")
            elif args.action == "revoke":
                print(f"{name}: {result} key(s) revoked")
        if args.action == "add":
            print(f"key (shown once, stored only as a hash): {args.key}")

    asyncio.run(each())
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    """Export the event contracts (envelope and every payload) as JSON Schema."""
    import json

    from bancheng_shared.contracts import json_schemas

    text = json.dumps(json_schemas(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark (see bancheng_services.bench)."""
    import bancheng_services.bench as bench

    return bench.main(args)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="bancheng", description="Bancheng (办成) work-order platform")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", default=os.environ.get("BANCHENG_DATA_DIR", ".data"))
        sp.add_argument("--database-url", default=os.environ.get("BANCHENG_DATABASE_URL", ""),
                        help="URL template with {service}, e.g. postgresql+asyncpg://postgres@127.0.0.1/bancheng_"
                        "{service}; default: SQLite files in --data-dir")
        sp.add_argument("--kafka-bootstrap", default=os.environ.get("BANCHENG_KAFKA_BOOTSTRAP", ""),
                        help="external Kafka host:port; default: start the embedded broker")
        sp.add_argument("--topic-prefix", default=os.environ.get("BANCHENG_TOPIC_PREFIX", ""))
        sp.add_argument("--partitions", type=int, default=12)

    up = sub.add_parser("up", help="start the whole system")
    common(up)
    up.add_argument("--broker-port", type=int, default=int(os.environ.get("BANCHENG_BROKER_PORT", "9092")))
    up.add_argument("--demo", dest="demo", action="store_true", default=None,
                    help="load the demo directory and keys (the default only on the embedded default)")
    up.add_argument("--no-demo", dest="demo", action="store_false", help="do not load the demo directory and keys")
    up.add_argument("--no-console", action="store_true", help="do not start the web console (port 8005)")
    up.set_defaults(fn=cmd_up)

    mig = sub.add_parser("migrate", help="create and migrate the databases")
    common(mig)
    mig.set_defaults(fn=cmd_migrate)

    mk = sub.add_parser("makemigrations", help="autogenerate a migration (developers)")
    mk.add_argument("service", choices=list(SERVICES))
    mk.add_argument("-m", "--message", required=True)
    mk.set_defaults(fn=cmd_makemigrations)

    from bancheng_shared import keys as keys_cli

    kp = sub.add_parser("keys", help="manage API keys in every service's database")
    common(kp)
    keys_cli.add_actions(kp.add_subparsers(dest="action", required=True))
    kp.set_defaults(fn=cmd_keys)

    sch = sub.add_parser("schemas", help="export the event contracts as JSON Schema")
    sch.add_argument("--out", default="docs/event-schemas.json")
    sch.set_defaults(fn=cmd_schemas)

    bench = sub.add_parser("bench", help="benchmark the running stack or a fresh one")
    common(bench)
    bench.add_argument("-n", "--tickets", type=int, default=5000)
    bench.add_argument("-c", "--concurrency", type=int, default=32)
    bench.add_argument("-b", "--batch", type=int, default=1,
                       help="tickets per request: >1 posts /v1/tickets:batch (e2e)")
    bench.add_argument("-r", "--rate", type=float, default=0.0,
                       help="offered load in tickets/s, paced (e2e); 0: as fast as answered")
    bench.add_argument("--replicas", type=int, default=1, choices=range(1, 9), metavar="N",
                       help="e2e with N processes of every service on the same databases (PostgreSQL for N > 1)")
    bench.add_argument("--only", default="",
                       help="comma list of parts: e2e, replay (or replay.<service>), recovery (only when named), "
                            "a service (sla) or one benchmark")
    bench.add_argument("--recording", default=".bench/events.jsonl",
                       help="the event recording the replay part reads (made by a fresh stack when missing)")
    bench.add_argument("--record", action="store_true", help="make the recording anew before replaying")
    bench.add_argument("--repeat", type=int, default=1,
                       help="replay each service this many times; the median CPU per ticket is reported")
    bench.add_argument("--backends", default="",
                       help="comma list of sqlite, postgresql: each part runs on each, figures side by side; default: "
                       "sqlite, and postgresql when a server answers at BANCHENG_BENCH_POSTGRES_URL (default "
                       "127.0.0.1:5432) or --database-url; fresh databases per run, dropped afterwards")
    bench.add_argument("--json", default="", help="also write the figures to this file")
    bench.set_defaults(fn=cmd_bench)

    from bancheng_services.simulate import run as simulate

    simulate.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
