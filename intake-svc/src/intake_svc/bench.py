"""Benchmarks of intake: merge detection against a large stored corpus, and in-process accept throughput."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import pickle
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from intake_svc.adapters.merge_index import MergeIndex, MinHasher, place_seed
from intake_svc.domain.similarity import shingles, similarity

# Vocabulary of the synthetic city. Places get their own street and estate names from a pool of common
# characters, so texts vary by region the way real ones do; matters combine a subject, a problem and a
# few of many details, so two requests of the same place rarely read alike unless one repeats the other.
_NAME_CHARS = ("幸福和平光明新华人民建设解放胜利朝阳东风青年文化健康学府滨江长江黄河中山南京北京西湖金桥银河"
               "春华秋实锦绣翠苑紫荆桂花玉兰梧桐枫林松柏兴隆永安富民安居乐业丰收振兴华夏明珠阳光绿洲")
_ROAD_SUFFIX = ["路", "街", "大道", "巷", "弄"]
_ESTATE_SUFFIX = ["小区", "花园", "苑", "家园", "新村", "公寓", "广场", "市场", "商城", "大厦"]
_SUBJECTS = ["烧烤摊", "饭店", "KTV", "工地", "物业公司", "超市", "培训机构", "快递站", "菜市场", "房东", "健身房",
             "酒吧", "洗车店", "装修队", "共享单车", "公交车", "出租车", "菜鸟驿站", "幼儿园", "医院", "药店", "银行",
             "燃气公司", "自来水公司", "供电所", "网吧", "理发店", "宠物店", "养殖场", "加油站", "停车场", "小吃店",
             "棋牌室", "广场舞队", "开发商", "中介公司", "保洁公司", "外卖骑手", "废品站", "加工厂"]
_PROBLEMS = ["油烟很大", "噪音扰民", "出售过期食品", "乱收费", "拖欠工资", "占道经营", "违规停车", "垃圾乱倒",
             "污水直排", "夜间施工", "拒绝退款", "虚假宣传", "服务态度恶劣", "安全隐患严重", "漏水不修", "电梯故障",
             "停水停电不通知", "强制消费", "无证经营", "粉尘污染", "异味刺鼻", "堵塞消防通道", "私拉电线", "违章搭建",
             "排队时间过长", "价格欺诈", "缺斤短两", "押金不退", "跑路关门", "霸王条款"]
_DETAILS = ["晚上十点以后还在营业", "凌晨两三点还很吵", "老人孩子睡不好觉", "周边居民意见很大", "打过几次电话没人接",
            "找过物业也不管", "楼下商铺都受影响", "路过的人都要绕行", "下雨天更加严重", "已经持续一个多月了",
            "上周还有人摔倒", "社区说不归他们管", "对方态度很差", "要求退还全部费用", "希望执法部门来看看",
            "附近有学校很危险", "车辆进出非常困难", "味道大得没法开窗", "消费者权益受到侵害", "合同上写得很清楚",
            "发票也不给开", "工人已经三个月没拿到钱", "晚上路灯也不亮", "经常有大货车经过", "隔壁的店也是这样",
            "周末人特别多", "小区业主群里都在说", "拍了照片和视频", "已经向街道反映过", "问题一直没有解决",
            "孩子上学要经过这里", "物价部门应该管一管", "门口堆满了杂物", "晚上有人喝酒闹事", "墙面已经开裂",
            "楼道里全是积水", "要求赔偿损失", "电话里说马上来结果没来", "夏天蚊虫特别多", "隔音效果很差",
            "收费标准没有公示", "我家有病人需要休息", "来往车辆乱按喇叭", "监控也拍到了", "卫生状况很差",
            "有人员受伤", "办卡时承诺的不兑现", "明码标价不一致", "没有任何安全防护", "邻居们联名反映"]
_WHEN = ["", "", "", "每天", "最近", "这两天", "上个月开始", "从去年起", "昨天晚上", "今天上午", "周一到周五",
         "节假日", "一到晚上", "早高峰时", "这半年来", "每逢下雨", "前天", "三天前", "入冬以来", "开学后"]
_OPENERS = ["", "", "你好，", "我要反映", "投诉：", "我是附近居民，", "您好，我想咨询一下，"]
_REPEAT_OPENERS = ["再次反映：", "又来了，", "上次反映的问题还没解决，", "我之前打过电话，", ""]
_REPEAT_CLOSERS = ["，还是没人管", "，请尽快处理", "，到现在也没人来", "", "，情况越来越严重"]


def _name(rng: random.Random, k: int = 2) -> str:
    return "".join(rng.choice(_NAME_CHARS) for _ in range(k))


@functools.lru_cache(maxsize=4096)
def _place_vocab(region: int) -> tuple[list[str], list[str]]:
    """Each region's own streets and estates (deterministic per region)."""
    r = random.Random(region)
    roads = [_name(r) + r.choice(_ROAD_SUFFIX) for _ in range(12)]
    estates = [_name(r) + r.choice(_ESTATE_SUFFIX) for _ in range(30)]
    return roads, estates


def synthetic_request(rng: random.Random, region: int = 0) -> str:
    """A plausible request of a region: where, who, what, and one to three details."""
    roads, estates = _place_vocab(region)
    where = rng.choice([f"{rng.choice(roads)}{rng.randint(1, 999)}号", f"{rng.choice(estates)}",
                        f"{rng.choice(estates)}{rng.randint(1, 30)}栋楼下",
                        f"{rng.choice(roads)}和{rng.choice(roads)}路口"])
    # details as people write them: a time, a consequence or remark, seldom the same words twice
    details = "，".join(rng.choice(_WHEN) + rng.choice(_DETAILS) for _ in range(rng.randint(1, 2)))
    return f"{rng.choice(_OPENERS)}{where}的{rng.choice(_SUBJECTS)}{rng.choice(_PROBLEMS)}，{details}。"


def reworded_repeat(rng: random.Random, text: str) -> str:
    """The same matter asked again: a new opener, a dropped or added remark, a closer."""
    body = text.rstrip("。")
    parts = body.split("，")
    if len(parts) > 2 and rng.random() < 0.5:
        parts.pop(rng.randrange(1, len(parts)))  # leaves a detail out
    if rng.random() < 0.4:
        parts.append(rng.choice(_DETAILS))
    return rng.choice(_REPEAT_OPENERS) + "，".join(parts) + rng.choice(_REPEAT_CLOSERS)


def _region_weights(regions: int) -> list[float]:
    # a few busy places and a long tail of quiet ones (Zipf-like), not a uniform spread
    return [1.0 / (k + 1) ** 0.6 for k in range(regions)]


def synthetic_corpus(n: int, regions: int, seed: int = 7) -> tuple[list[str], list[int]]:
    """n requests with their region numbers."""
    rng = random.Random(seed)
    where = rng.choices(range(regions), weights=_region_weights(regions), k=n)
    return [synthetic_request(rng, r) for r in where], where


_CORPUS_VERSION = 3  # bump when the generator changes


def _cached_corpus(n: int, regions: int, hasher: MinHasher) -> tuple[list[str], list[int], np.ndarray]:
    """The corpus and its signatures, kept in the temp directory between runs (generating 1M takes minutes).

    INTAKE_BENCH_NO_CACHE=1 regenerates. The cache is only the input; build and queries are measured anew.
    """
    path = Path(tempfile.gettempdir()) / f"intake-bench-corpus-v{_CORPUS_VERSION}-{n}-{regions}-{hasher.num_perm}.pkl"
    if path.exists() and not os.environ.get("INTAKE_BENCH_NO_CACHE"):
        with path.open("rb") as f:
            texts, where, sigs = pickle.load(f)  # our own file, written below
        return texts, where, sigs
    texts, where = synthetic_corpus(n, regions)
    sigs = hasher.signatures([shingles(t) for t in texts])
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump((texts, where, sigs), f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return texts, where, sigs


def bench_merge(n_stored: int | None = None, n_queries: int = 4000, regions: int = 5000,
                repeat_share: float = 0.07, index_factory: Callable[[], Any] | None = None) -> dict[str, Any]:
    """p50/p99 of one merge detection (shingles, MinHash, LSH candidates, exact check) against n stored tickets.

    Stored tickets and new requests are drawn from the same varied generator; `repeat_share` of the new
    requests are reworded repeats of a stored ticket (same place), the rest are new matters.
    """
    n = n_stored or int(os.environ.get("INTAKE_BENCH_MERGE_N", "1000000"))
    idx = index_factory() if index_factory else MergeIndex(64, 32)
    t0 = time.perf_counter()
    texts, where, sigs = _cached_corpus(n, regions, idx.hasher)
    places = [f"r:3399{r:05d}" for r in where]
    corpus_s = time.perf_counter() - t0
    # the service builds its index from the signatures stored with each ticket, as here
    rows = [(f"T{i:08d}", sigs[i].tobytes(), places[i]) for i in range(n)]
    t0 = time.perf_counter()
    idx.add_bulk(rows)
    build_s = time.perf_counter() - t0
    del rows
    # stored contents by ticket number stand in for the database read of the few candidates
    content = {f"T{i:08d}": texts[i] for i in range(n)}
    rng = random.Random(11)
    weights = _region_weights(regions)
    # wall time, and this thread's CPU time: on a shared machine the wall tail also measures the neighbours
    lat: list[float] = []
    cpu: list[float] = []
    repeats = found = false_merges = 0
    cand_total = 0
    gc.collect()
    gc.freeze()  # the corpus is long-lived; a full collection walking it is not part of a query
    for _ in range(n_queries):
        if rng.random() < repeat_share:
            j = rng.randrange(n)
            text, place, target = reworded_repeat(rng, texts[j]), places[j], f"T{j:08d}"
            repeats += 1
        else:
            r = rng.choices(range(regions), weights=weights)[0]
            text, place, target = synthetic_request(rng, r), f"r:3399{r:05d}", None
        t, c = time.perf_counter(), time.thread_time()
        sh = shingles(text)
        sig = idx.hasher.signature(sh)
        best, best_no = 0.0, None
        nos = idx.candidates(sig, place, 10)
        for no in nos:
            # as the service does with the rows it reads: cached shingles when the index has them
            stored = idx.shingles_of(no, content[no]) if hasattr(idx, "shingles_of") else shingles(content[no])
            score = similarity(sh, stored)
            if score > best:
                best, best_no = score, no
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
        cand_total += len(nos)
        if best >= 0.45:
            if target is not None:
                found += best_no == target
            else:
                false_merges += 1
    gc.unfreeze()
    lat.sort()
    cpu.sort()
    return {
        "stored_tickets": n, "regions": regions, "queries": n_queries, "corpus_load_or_make_s": round(corpus_s, 1),
        "index_build_s": round(build_s, 1), "p50_ms": round(statistics.median(lat), 3),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 3), "max_ms": round(lat[-1], 3),
        "cpu_p50_ms": round(statistics.median(cpu), 3), "cpu_p99_ms": round(cpu[int(len(cpu) * 0.99) - 1], 3),
        "repeat_share": repeat_share, "repeats_found": round(found / max(repeats, 1), 3),
        "new_matters_merged": round(false_merges / max(n_queries - repeats, 1), 4),
        "mean_candidates": round(cand_total / n_queries, 2),
        "seed_check": place_seed("r:1") != place_seed("r:2"),
        "index_arrays_mb": round(idx.lsh.nbytes / 1e6, 1) if hasattr(idx.lsh, "nbytes") else None,
    }


async def _call(app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One POST through the ASGI app; its status and body."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"bench"), (b"content-length", str(len(body)).encode()), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent = False
    status = 0
    out: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(out)


async def _accept(n: int, concurrency: int, batch: int = 1) -> dict[str, Any]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from bancheng_shared.auth import issue_api_key
    from bancheng_shared.db import make_sessionmaker
    from intake_svc.adapters.tables import metadata, plumbing
    from intake_svc.main import create_app
    from intake_svc.settings import IntakeSettings

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'intake.db'}"
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with make_sessionmaker(engine)() as s:
            await issue_api_key(s, plumbing, name="bench", role="operator", plaintext="bench-key")
            await s.commit()
        await engine.dispose()
        # no broker in this measurement: the outbox fills and is relayed elsewhere
        settings = IntakeSettings(database_url=url, relay_enabled=False, consumers_enabled=False,
                                  pii_key="bench-key-0123456789", log_level="WARNING")
        app = create_app(settings)
        rng = random.Random(3)
        bodies = [{"channel": "hotline", "content": synthetic_request(rng, rng.randrange(100)),
                   "complainant": {"name": "张三", "phone": f"139{rng.randrange(10**8):08d}"},
                   "location": {"region_code": f"3399{rng.randrange(100):02d}001"}} for _ in range(n)]
        posts = [bodies[i : i + batch] for i in range(0, n, batch)]
        lat: list[float] = []
        merged = 0
        async with app.router.lifespan_context(app):
            # the app is called as the server would call it (no HTTP client in the way: an in-process client
            # costs as much CPU as the request it measures); CPU time is this process's, the app's alone
            headers = [(b"authorization", b"Bearer bench-key"), (b"content-type", b"application/json")]
            raws = [(("/v1/tickets", orjson.dumps(items[0])) if batch == 1
                     else ("/v1/tickets:batch", orjson.dumps({"items": items}))) for items in posts]

            async def worker() -> None:
                nonlocal merged
                while raws:
                    path, raw = raws.pop()
                    t = time.perf_counter()
                    status, body = await _call(app, path, raw, headers)
                    assert status in (200, 201), body
                    merged += orjson.loads(body)["merged"]
                    lat.append((time.perf_counter() - t) * 1000)

            gc = app.state.intake.group_commit
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            took = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            groups = gc.groups
    lat.sort()
    return {"tickets": n, "concurrency": concurrency, "per_request": batch, "tickets_per_s": round(n / took, 1),
            "cpu_ms_per_ticket": round(cpu / n * 1000, 3),
            "request_p50_ms": round(statistics.median(lat), 1),
            "request_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
            "mean_group": round(n / groups, 1) if groups and batch == 1 else None, "merged": merged,
            "backend": "sqlite",
            "merging": True}


def bench_accept(n: int = 3000, concurrency: int = 32) -> dict[str, Any]:
    """One request per POST into the ASGI app in-process (SQLite, merging on, no broker, no HTTP server)."""
    return asyncio.run(_accept(n, concurrency))


def bench_accept_batched(n: int = 10000, concurrency: int = 4, batch: int = 100) -> dict[str, Any]:
    """`POST /v1/tickets:batch` with `batch` requests each (how hotline systems hand over in bulk)."""
    return asyncio.run(_accept(n, concurrency, batch))


async def _search(n: int, url: str | None, runs: int) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, text

    from bancheng_shared.migrate import upgrade_async
    from bancheng_shared.principal import Principal, Role
    from intake_svc import queries
    from intake_svc.adapters import search_index
    from intake_svc.adapters.tables import ticket_search, tickets
    from intake_svc.domain.ticket_numbers import new_ticket_no
    from intake_svc.main import create_app
    from intake_svc.settings import IntakeSettings

    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite+aiosqlite:///{Path(tmp) / 'intake.db'}"
        await upgrade_async(str(Path(__file__).parent / "migrations"), url)
        settings = IntakeSettings(database_url=url, relay_enabled=False, consumers_enabled=False,
                                  pii_key="bench-key-0123456789", log_level="WARNING")
        app = create_app(settings)
        rt, vault = app.state.runtime, app.state.intake.vault
        rng = random.Random(14)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        async with app.router.lifespan_context(app):
            for start in range(0, n, 2000):
                rows = []
                for i in range(start, min(n, start + 2000)):
                    region = rng.randrange(300)
                    at = t0 + timedelta(minutes=17 * i)
                    name = _name(rng, 1) + _name(rng, rng.randint(1, 2))
                    phone = f"139{i:08d}"
                    content = "您好，我要反映一个问题，" + "".join(synthetic_request(rng, region) for _ in range(3))
                    rows.append(dict(ticket_no=new_ticket_no(at, i % (1 << 20)), channel="hotline", content=content,
                                     address=f"{_place_vocab(region)[1][i % 30]}{i % 40 + 1}栋", title=None,
                                     region_code=f"3399{region % 100:02d}001", received_at=at, updated_at=at,
                                     anonymous=False, name_enc=vault.encrypt(name, "name"),
                                     name_hash=search_index.name_hash(vault, name),
                                     phone_enc=vault.encrypt(phone, "phone"), phone_hash=vault.hash(phone, "phone"),
                                     status="received", status_label="已受理", repeat_count=0, repeat_seq=0))
                async with rt.sm() as s, s.begin():
                    await s.execute(insert(tickets), rows)
                    await s.execute(insert(ticket_search), [search_index.row_of(r) for r in rows])
            if url.startswith("postgres"):  # what autovacuum does after a load: the planner's statistics
                async with rt.sm() as s, s.begin():
                    for table in ("tickets", "ticket_search"):
                        await s.execute(text(f"ANALYZE {table}"))
            who = Principal(key_id="bench", name="bench", role=Role.operator)
            cases: dict[str, dict[str, Any]] = {
                     "q 2 chars (电梯)": {"q": "电梯"}, "q 4 chars (电梯故障)": {"q": "电梯故障"},
                     "q rare (拖欠工资 工人已经三个月)": {"q": "拖欠工资 工人已经三个月"},
                     "q 2 words (噪音扰民 凌晨)": {"q": "噪音扰民 凌晨"},
                     "q none (不存在的词语)": {"q": "不存在的词语"},
                     "phone": {"phone": f"139{n // 2:08d}"}, "q phone": {"q": f"139 {n // 3:08d}"},
                     "address": {"address": f"{_place_vocab(7)[1][3]}"}}
            out: dict[str, Any] = {"tickets": n, "backend": "postgresql" if url.startswith("postgres") else "sqlite",
                                   "limit": 50}
            for label, params in cases.items():
                lat = []
                total = 0
                for _ in range(runs):
                    t = time.perf_counter()
                    page = await queries.list_tickets(rt, who, queries.TicketFilter(**params), vault=vault,
                                                      cursor=None, limit=50)
                    lat.append((time.perf_counter() - t) * 1000)
                    total = page["total"]
                lat.sort()
                out[label] = {"total": total, "p50_ms": round(statistics.median(lat), 1),
                              "max_ms": round(lat[-1], 1)}
    return out


def bench_search(n: int | None = None, url: str | None = None, runs: int = 20) -> dict[str, Any]:
    """`GET /v1/tickets` search (the query and the exact total) against n stored tickets of about 200 characters
    (`INTAKE_BENCH_SEARCH_N`, default 30,000; `INTAKE_BENCH_SEARCH_URL` a PostgreSQL database to fill instead of a
    temporary SQLite file)."""
    n = n or int(os.environ.get("INTAKE_BENCH_SEARCH_N", "30000"))
    return asyncio.run(_search(n, url or os.environ.get("INTAKE_BENCH_SEARCH_URL"), runs))


def benchmarks() -> dict[str, Callable[[], dict[str, Any]]]:
    """name → measurement (for `bancheng bench`)."""
    return {"intake_merge_detection": bench_merge, "intake_accept": bench_accept,
            "intake_accept_batched": bench_accept_batched, "intake_search": bench_search}


if __name__ == "__main__":
    for name, fn in benchmarks().items():
        print(name, fn())
    _ = np  # numpy is the index's engine; imported here so a missing install fails early
