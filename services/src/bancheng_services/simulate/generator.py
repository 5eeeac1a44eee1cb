"""Labelled city days: realistic, varied requests with what the system should make of each (seeded, deterministic)."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

DISTRICTS = ["东湖区", "西岭区", "南港区", "北川区", "临江县", "青山县"]
STREETS = ["城关", "新华", "人民", "长江", "和平", "建设", "解放", "光明"]
COMMUNITIES = ["一社区", "二社区", "三社区"]
ROADS = ["幸福路", "振兴大道", "文化街", "滨江路", "育才路", "花园巷", "朝阳路", "工业大道", "桂花街", "锦绣路",
         "迎宾大道", "南湖路", "春晖路", "东风路", "菜市街", "青年路", "金桥路", "学府路", "翠竹巷", "丰收路"]
ESTATES = ["阳光花园", "锦江苑", "金色家园", "翠湖小区", "和谐家园", "书香门第", "东方明珠苑", "绿城桂园", "紫薇小区",
           "幸福里", "春风小区", "御景湾", "新村", "丽景苑", "盛世华庭", "柳岸人家", "枫林小区", "蓝湾国际"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅志文斌海燕玲"
CHANNELS = ["hotline", "web", "app", "mailbox", "window"]  # `platform` needs the signed platform route
OPENERS = ["您好，我想反映一个问题。", "你好，", "我是附近的居民，", "麻烦登记一下，", "打扰了，我要投诉，",
           "我住在这里好几年了，", "之前也有人说过，", "我实在没办法了才打这个电话，", "想请政府帮忙，", ""]
CLOSERS = ["希望有关部门尽快处理。", "请尽快派人来看看。", "麻烦给个答复，谢谢。", "希望能彻底解决，不要一拖再拖。",
           "请相关部门核实处理并回复我。", "盼复，谢谢！", "这个问题影响很大，请重视。", "希望早日解决，谢谢政府。"]
TIMES = ["最近一个月", "这半年来", "从上周开始", "每天晚上", "已经三个多月了", "这几天", "今年入夏以来", "好长时间了"]
EFFECTS = ["严重影响周边居民的正常生活", "老人孩子都受不了", "大家意见很大", "存在很大的安全隐患", "出行非常不方便",
           "晚上根本睡不着觉", "已经有人因此受伤", "附近商户也受到影响"]
TYPOS = [("的", "得"), ("在", "再"), ("已经", "以经"), ("反映", "反应"), ("部门", "部分")]
# (lead department kind, category, matter phrasings); the {p} is the exact place
MATTERS: list[tuple[str, str, list[str]]] = [
    ("market_regulation", "complaint", ["{p}的一家超市卖过期食品，商家拒绝退款", "{p}的饭店后厨卫生很差，吃了拉肚子",
                                        "{p}一家药店卖假药，价格还虚高", "{p}的理发店办卡后就关门跑路了"]),
    ("urban_management", "complaint", ["{p}门口占道经营的摊贩很多，堵住了人行道",
                                       "{p}附近有人私搭乱建，违章建筑越盖越高",
                                       "{p}的烧烤摊油烟很大，熏得窗户都不敢开",
                                           "{p}的垃圾堆了好几天没人清运，臭气熏天"]),
    ("ecology_environment", "complaint", ["{p}旁边的工厂夜里偷排废气，气味刺鼻", "{p}附近的小河被排污，水发黑发臭",
                                          "{p}边上的工地夜间施工噪音扰民"]),
    ("housing_construction", "complaint", ["{p}的物业不作为，电梯坏了一个月没修", "{p}的楼顶漏水，开发商一直不给维修",
                                           "{p}的老旧小区改造工程拖了半年还没完工"]),
    ("public_security", "report", ["{p}附近有人聚众赌博，经常半夜吵闹", "{p}门口经常有人飙车，声音特别大"]),
    ("transport", "complaint", ["{p}的公交站牌被撤了，车也不停了", "{p}的出租车拒载还绕路多收钱"]),
    ("water", "complaint", ["{p}停水三天了没有任何通知", "{p}的自来水发黄有异味"]),
    ("power", "complaint", ["{p}频繁停电，冰箱里的东西都坏了", "{p}的路灯坏了好久一直不亮"]),
    ("gas", "complaint", ["{p}的燃气管道有漏气的味道，很担心", "{p}燃气公司上门安检乱收费"]),
    ("human_resources", "complaint", ["我在{p}的工地干活，老板拖欠工资半年不给",
                                      "{p}的公司不给员工缴社保，还逼人离职"]),
    ("education", "complaint", ["{p}的培训机构收了学费就停课，不给退钱", "{p}的学校违规收取补课费"]),
    ("health", "complaint", ["{p}的诊所没有资质还在给人打针", "{p}的社区医院医生态度恶劣"]),
]
CONSULTS = ["请问灵活就业人员怎么缴纳社会保险？", "想问一下居住证在哪里办理，需要带什么材料？",
            "请问新生儿医保怎么办理？",
            "请问公积金提取需要哪些手续？", "想咨询一下营业执照网上怎么申请？", "请问老年人乘车优待卡怎么办？",
            "请问孩子上小学的入学登记什么时候开始？", "想问下不动产登记需要预约吗？"]
CONDUCT = ["推诿扯皮，几个部门互相踢皮球", "工作人员不作为，反映多次没人管", "执法人员乱作为，随意罚款",
           "办事效率太低，慢作为，一个证拖了三个月", "工作人员吃拿卡要，不给好处就不办", "城管暴力执法，把摊主推倒在地",
           "窗口人员互相推脱，谁都说不归自己管", "材料交齐了却被要求反复跑腿，明显在刁难人"]
CORRUPTION = ["某科室负责人暗示要给好处费才能通过审批", "有干部收受开发商贿赂，违规批地", "村干部私分集体补偿款",
              "执法队长收受商户红包后对违法行为睁一只眼闭一只眼"]
MASS = ["我们{n}户居民联名反映", "小区{n}多户业主准备集体上访", "全楼{n}户人家都受影响，大家一起来反映"]
PETITION = ["我的信访事项信访局已经出具了处理意见，我不服，要求复查", "我要反映信访件办理结果，申请信访复核"]
LEGAL = ["我的案子法院已经判决了，但对方一直不执行，想了解执行进度", "我对法院的民事判决不服，想问怎么申诉再审"]
LOOKALIKE = [("legal", "{p}法院门口那段路的路灯坏了"), ("legal", "物业说不交钱就起诉我们，{p}的物业乱收费"),
             ("petition", "上个月去信访局问过，{p}的垃圾还是没人清运"), ("legal", "{p}旁边律师事务所门口的下水道堵了")]
LOOKALIKE_KIND = {"{p}法院门口那段路的路灯坏了": "power",
                  "物业说不交钱就起诉我们，{p}的物业乱收费": "housing_construction",
                  "上个月去信访局问过，{p}的垃圾还是没人清运": "urban_management"}
DETAILS = ["具体位置就在{w}，很好找", "事情大概是从{t}开始的，一直没有好转", "我拍了照片和视频，可以提供给工作人员",
           "周边{n}多户人家都看到了", "我家里有老人和小孩，实在担心", "之前社区网格员来看过一次，说会上报",
           "白天还好一点，到了晚上特别明显", "附近还有一所幼儿园，孩子们每天都要经过", "联系电话就是我现在这个号码",
           "我工作比较忙，希望能电话联系我", "希望处理结果能公开，让大家放心"]
MULTI = [(["urban_management", "ecology_environment"], "{p}的餐馆油烟噪音扰民，还把污水直排进雨水管"),
         (["housing_construction", "urban_management", "water"], "{p}的小区道路开挖后不回填，水管破裂，渣土乱堆"),
         (["urban_management", "ecology_environment", "public_security", "market_regulation"],
          "{p}的夜市占道经营、噪音扰民、有人打架斗殴，还卖无证食品")]


@dataclass
class Item:
    """One labelled request and what the system should make of it."""

    id: str
    day: int
    kind: str
    content: str
    channel: str
    phone: str
    name: str
    region_code: str
    address: str
    matter: str
    dept_kind: str | None = None
    route: str = "dispatch"
    category: str | None = None
    min_tier: str = "green"
    units_needed: int = 1
    merge_with: str | None = None
    same_person: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The item as JSON."""
        return asdict(self)


class Generator:
    """Builds labelled items from wide pools, seeded."""

    def __init__(self, seed: int = 12345) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.phones: set[str] = set()

    def place(self) -> tuple[str, str, str]:
        """A region code, its name and an exact address (building and unit)."""
        r = self.rng
        d, s, c = r.randrange(6), r.randrange(4), r.randrange(3)
        code = f"3399{d + 1:02d}{s + 1:03d}{c + 1:03d}"
        road = r.choice(ROADS)
        building = f"{r.choice(ESTATES)}{r.randint(1, 40)}栋{r.randint(1, 6)}单元"
        where = f"{DISTRICTS[d]}{STREETS[s]}街道{COMMUNITIES[c]}{road}{r.randint(1, 399)}号{building}"
        return code, where, where

    def person(self) -> tuple[str, str]:
        """A new person: a unique phone and a name."""
        while True:
            phone = f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone, self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.randint(1, 2)))

    def dress(self, core: str) -> str:
        """Wrap a matter into a ~200-character request: opener, time, effect, detail, closer, a typo sometimes."""
        r = self.rng
        parts = [r.choice(OPENERS), core, "，", r.choice(TIMES), "，", r.choice(EFFECTS), "。"]
        who = r.choice(["物业", "社区", "相关单位", "商家"])
        answer = r.choice(["对方一直推脱", "都说会处理但没有下文", "至今没有任何回复", "态度很差"])
        parts += [f"我们已经{r.choice(['找过', '打电话给', '多次联系'])}{who}，{answer}。"]
        for d in r.sample(DETAILS, r.randint(2, 4)):
            parts.append(d.format(w=r.choice(["小区大门东侧", "楼下", "路口拐角", "菜市场后面", "公交站旁边"]),
                                  t=r.choice(TIMES), n=r.randint(10, 60)) + r.choice(["。", "，", "；"]))
        parts += [r.choice(EFFECTS) + "。" if r.random() < 0.5 else "", r.choice(CLOSERS)]
        text = "".join(parts)
        if r.random() < 0.15:
            a, b = r.choice(TYPOS)
            text = text.replace(a, b, 1)
        return text

    def item(self, day: int, kind: str, content: str, **kw: Any) -> Item:
        """A labelled item with a new id."""
        self.n += 1
        return Item(id=f"d{day}-{self.n:06d}", day=day, kind=kind, content=content, **kw)

    def fresh(self, day: int, kind: str, core_tpl: str, dressed: bool = True, **labels: Any) -> Item:
        """A new person's request about a matter at a new place."""
        code, where, addr = self.place()
        phone, name = self.person()
        core = core_tpl.format(p=where)
        return self.item(day, kind, self.dress(core) if dressed else core, channel=self.rng.choice(CHANNELS),
                         phone=phone, name=name, region_code=code, address=addr, matter=core_tpl, **labels)

    def day(self, day: int, size: int) -> list[Item]:
        """One day's labelled items (about `size`)."""
        r, items = self.rng, list[Item]()
        mix = [("complaint", 0.42), ("repeat_same", 0.08), ("same_place_other", 0.06), ("consult", 0.12),
               ("petition", 0.02), ("legal", 0.02), ("lookalike", 0.05), ("conduct", 0.06), ("corruption", 0.03),
               ("mass", 0.05), ("multi_unit", 0.09)]
        for kind, share in mix:
            for _ in range(max(1, round(size * share))):
                items += self.one(day, kind, items)
        r.shuffle(items)
        return [i for i in sorted(items, key=lambda i: i.extra.get("after", "") != "")]

    def one(self, day: int, kind: str, earlier: list[Item]) -> list[Item]:
        """Items of one kind (a repeat needs an earlier complaint of this day)."""
        r = self.rng
        if kind in ("complaint", "repeat_same", "same_place_other") and (kind == "complaint" or not earlier):
            dept, cat, tpls = r.choice(MATTERS)
            return [self.fresh(day, "complaint", r.choice(tpls), dept_kind=dept, category=cat)]
        if kind in ("repeat_same", "same_place_other"):
            base = r.choice([i for i in earlier if i.kind == "complaint"] or earlier)
            same = kind == "repeat_same"
            phone, name = (base.phone, base.name) if same else self.person()
            core = base.matter.format(p=base.address)
            text = (f"我{r.choice(['之前', '前几天', '上午'])}反映过，{core}，现在还是没人管，再催一下。" if same
                    else self.dress(core))
            channel = r.choice([c for c in CHANNELS if c != base.channel])
            return [self.item(day, kind, text, channel=channel, phone=phone, name=name, region_code=base.region_code,
                              address=base.address, matter=base.matter, dept_kind=base.dept_kind,
                              category=base.category, merge_with=base.id, same_person=same,
                              extra={"after": base.id})]
        if kind == "consult":
            q = r.choice(CONSULTS)
            text = r.choice(["", "您好，", "你好，麻烦问一下，"]) + r.choice(["我住在{p}，", "我是{p}的居民，", ""]) + q
            return [self.fresh(day, kind, text + r.choice(["谢谢。", "麻烦告诉一下。", ""]), dressed=False,
                               route="answer", category="consult")]
        if kind in ("petition", "legal"):
            pool = PETITION if kind == "petition" else LEGAL
            # the route is the label: the receiving organ (信访 or 政法) is named by the transfer, not a department
            return [self.fresh(day, kind, r.choice(pool) + "，事情发生在{p}附近", route=kind)]
        if kind == "lookalike":
            mention, tpl = r.choice(LOOKALIKE)
            return [self.fresh(day, kind, tpl, dept_kind=LOOKALIKE_KIND.get(tpl), extra={"mentions": mention})]
        if kind == "conduct":
            return [self.fresh(day, kind, "我去{p}附近的办事大厅办事，" + r.choice(CONDUCT), min_tier="red",
                               extra={"with": "discipline"})]
        if kind == "corruption":
            return [self.fresh(day, kind, "实名举报：{p}所在街道" + r.choice(CORRUPTION), category="report",
                               min_tier="red", dept_kind="discipline")]
        if kind == "mass":
            dept, cat, tpls = r.choice(MATTERS)
            lead = r.choice(MASS).format(n=r.randint(20, 80))
            return [self.fresh(day, kind, lead + "，" + r.choice(tpls), dept_kind=dept, category=cat,
                               min_tier="yellow")]
        kinds, tpl = r.choice(MULTI)
        return [self.fresh(day, kind, tpl, dept_kind=kinds[0], units_needed=len(kinds),
                           min_tier="red" if len(kinds) >= 4 else "green", extra={"kinds": kinds})]


def generate(size: int = 500, days: int = 1, seed: int = 12345) -> list[Item]:
    """`days` labelled days of about `size` items each."""
    g = Generator(seed)
    return [i for d in range(days) for i in g.day(d, size)]
