"""A small corpus of true repeats (must merge) and near-misses (must not), for the merge tests."""

# (first request, later request)
TRUE_REPEATS: list[tuple[str, str]] = [
    ("东湖区城关街道幸福小区门口的烧烤摊每晚油烟很大，噪音扰民到凌晨两点",
     "再次反映：幸福小区门口烧烤摊每天晚上油烟大、吵到凌晨两点，还是没人管"),
    ("建设路88号华联超市出售过期牛奶，商家拒绝退款",
     "我之前投诉过，建设路88号华联超市卖过期牛奶不给退款，到现在没处理"),
    ("人民路与解放路交叉口红绿灯坏了三天，早晚高峰非常拥堵",
     "人民路解放路路口的红绿灯还是坏的，已经好几天了，高峰期堵得厉害"),
    ("光明花园3栋楼顶漏水，雨天家里天花板渗水，物业一直不修",
     "光明花园三栋楼顶漏水问题物业还是不修，下雨天天花板一直渗水"),
    ("新华街道长江小区垃圾站垃圾堆积一周没人清运，臭味很大",
     "长江小区垃圾站的垃圾又堆了一周没有清运，臭气熏天，请尽快处理"),
    ("某某培训机构收了学费后关门跑路，退费无门，涉及几十名学生",
     "某某培训机构收费后跑路关门，我们几十个学生家长的学费退不回来"),
    ("和平路工地夜间施工噪音扰民，晚上十一点后还在打桩",
     "和平路那个工地晚上十一点以后还在打桩施工，噪音太大睡不着"),
    ("公司拖欠工资三个月，老板失联，共有二十多名工人未拿到工资",
     "又来反映公司拖欠我们二十多名工人三个月工资，老板联系不上"),
]

# (first request, later request): same words around, a different matter
NEAR_MISSES: list[tuple[str, str]] = [
    ("建设路88号华联超市出售过期牛奶，商家拒绝退款",
     "建设路88号华联超市门口共享单车乱停放，堵住人行道"),
    ("东湖区城关街道幸福小区门口的烧烤摊每晚油烟很大，噪音扰民到凌晨两点",
     "东湖区城关街道幸福小区电梯经常故障，老人上下楼困难"),
    ("人民路与解放路交叉口红绿灯坏了三天，早晚高峰非常拥堵",
     "人民路与解放路交叉口有一个窨井盖缺失，存在安全隐患"),
    ("光明花园3栋楼顶漏水，雨天家里天花板渗水，物业一直不修",
     "光明花园3栋物业费上涨没有公示，业主意见很大"),
    ("咨询一下新生儿医保怎么办理，需要什么材料",
     "咨询一下灵活就业人员养老保险怎么缴纳，需要什么材料"),
    ("公司拖欠工资三个月，老板失联，共有二十多名工人未拿到工资",
     "公司不给缴纳社保，也不签劳动合同"),
    ("和平路工地夜间施工噪音扰民，晚上十一点后还在打桩",
     "和平路工地渣土车撒漏，道路上全是泥土"),
    ("新华街道长江小区垃圾站垃圾堆积一周没人清运，臭味很大",
     "新华街道长江小区路灯坏了一个月，晚上出行不安全"),
]


# --- a generator of realistic requests at volume (并单 at volume) ------------------------------------------------
# Two disjoint pools of places and phrasings: "tune" (to choose the thresholds) and "eval" (to measure them); the
# evaluation never sees a phrase or a place the thresholds were chosen on.

import random  # noqa: E402
from dataclasses import dataclass  # noqa: E402

STREETS = ["城关街道", "新华街道", "东湖街道", "西城街道", "南山街道", "北塘街道", "江滨街道", "高新街道",
           "文昌街道", "和平街道", "凤凰街道", "青山街道", "白沙街道", "金桥街道", "龙泉街道", "石门街道",
           "长乐街道", "安康街道", "永兴街道", "清河街道", "桃源街道", "梅林街道", "花溪街道", "临江街道"]
_ESTATES = {
    "tune": ["幸福", "阳光", "锦绣", "翠苑", "金色", "康乐", "华庭", "明珠", "绿洲", "春晖", "御景", "书香"],
    "eval": ["丽景", "碧水", "恒大", "世纪", "紫荆", "银河", "湖畔", "枫林", "香榭", "盛世", "天鹅", "云栖"],
}
_SUFFIX = ["小区", "花园", "家园", "苑", "新村", "公寓"]
# matter: (key words, ways to say it at length, ways to say it short); tune and eval phrasings differ
_MATTERS = {
    "tune": [
        ("烧烤油烟", ["楼下新开的烧烤店每天晚上油烟直接往楼上飘，窗户都不敢开，吵闹声一直持续到凌晨一两点",
                  "楼下烧烤摊每晚排放油烟，家里全是烟味，食客喧哗到后半夜"],
                 ["楼下烧烤店油烟和噪音还是很大", "烧烤摊油烟扰民到半夜"]),
        ("电梯故障", ["单元电梯这个月已经坏了五次，有一次把老人困在里面半个多小时，物业只是简单修一下",
                  "电梯三天两头停运，困人好几次，物业维修敷衍了事"],
                 ["电梯又坏了困人，物业不管", "电梯老是故障困人"]),
        ("楼顶漏水", ["楼顶防水层老化，一下雨顶楼住户家里天花板就渗水，墙皮大面积脱落，找物业多次无果",
                  "顶楼漏水严重，雨天卧室天花板滴水，墙面发霉，物业推给开发商"],
                 ["顶楼漏水物业还不修", "下雨天花板渗水没人修"]),
        ("垃圾清运", ["小区垃圾桶满了好几天没人清运，垃圾堆到路边，天气热臭味很大，苍蝇蚊子特别多",
                  "垃圾站的垃圾一个星期没有清运，周边臭气熏天，蚊虫滋生"],
                 ["垃圾又好几天没清运了", "垃圾堆积没人运走"]),
        ("夜间施工", ["旁边工地每天晚上十一点以后还在打桩浇混凝土，噪音特别大，孩子根本睡不着觉",
                  "附近工地深夜施工，机器轰鸣到凌晨，严重影响休息"],
                 ["工地半夜还在施工太吵", "夜里工地打桩睡不着"]),
        ("停车收费", ["物业擅自上调地下车库停车费，每月从三百涨到五百，没有公示也没有征求业主意见",
                  "小区停车费突然涨价，物业没有任何公示，业主都不同意"],
                 ["物业乱涨停车费没有公示", "停车费涨价不公示"]),
    ],
    "eval": [
        ("路灯不亮", ["门口那段路的路灯坏了快一个月了，晚上黑漆漆的，老人小孩出门很不安全，前几天还有人摔倒",
                  "附近几盏路灯一直不亮，夜里行人看不清路，已经有电动车摔倒了"],
                 ["路灯还是不亮晚上太黑", "门口路灯坏了一个月没修"]),
        ("管道堵塞", ["楼里污水管道堵塞，一楼住户家里卫生间往上返污水，味道难闻，物业疏通后没两天又堵",
                  "下水道堵了好多天，污水从地漏冒出来，物业处理不彻底"],
                 ["下水道又堵了污水返上来", "污水管堵塞一直没解决"]),
        ("违章搭建", ["楼顶有住户私自搭建彩钢板房，占用公共区域，存在安全隐患，而且压坏了防水层",
                  "有人在楼顶违规搭建房子，占了公共平台，大家都很担心安全"],
                 ["楼顶违建还没拆", "顶楼私搭乱建没人管"]),
        ("噪音扰民", ["楼下商铺每天开着大音响搞促销，从早上九点放到晚上十点，声音特别大，在家没法休息",
                  "底商天天用喇叭循环播放广告，噪音很大，影响居民生活"],
                 ["商铺喇叭噪音还是很大", "楼下店铺音响太吵"]),
        ("停水停电", ["这个星期已经无故停水三次了，每次都没有提前通知，家里老人做饭洗澡都成问题",
                  "小区经常突然停水，事先不通知，也不说什么时候恢复"],
                 ["又停水了也不通知", "经常无故停水"]),
        ("宠物扰民", ["邻居家养了好几条大狗，不拴绳在楼道里乱跑，还到处大小便，晚上狗叫声不断",
                  "楼上住户养狗不牵绳，狗在电梯楼道随地便溺，夜里叫个不停"],
                 ["邻居的狗还是不拴绳乱叫", "养狗不牵绳到处拉屎"]),
    ],
}
_OPEN = ["您好，我是{street}{estate}{bno}栋的居民，", "你好，我住在{street}{estate}{bno}栋，",
         "您好，我家在{estate}{bno}号楼，",
         "我是{estate}{bno}栋的业主，", "你好，我想反映一下{street}{estate}{bno}栋的问题，"]
_CLOSE = ["希望相关部门尽快处理，谢谢。", "麻烦有关部门来看一下，尽快解决，谢谢！",
          "已经跟物业说过很多次了，一直没人管，请政府帮忙协调。",
          "这个问题困扰我们很久了，希望能尽快给个答复。", "请相关部门重视，早日解决，谢谢你们。"]
_FILL = ["现在天气越来越热，情况越来越严重。", "周围邻居意见都很大，大家都在群里讨论。",
         "我们家里有老人和小孩，影响特别大。",
         "之前也打过电话，说会有人来处理，结果到现在也没有下文。", "希望能派人来现场看一下，了解一下实际情况。"]
_SHORT_OPEN = ["又来反映，", "上次说的问题，", "再说一次，", "", "还是{estate}那个事，"]


@dataclass(frozen=True)
class Item:
    """One generated request: who (phone), where (address) and what (matter), and its text."""

    text: str
    phone: str
    address: str
    matter: str


def _typo(text: str, rng: random.Random) -> str:
    """A caller's or an operator's slip: a dropped character or a look-alike."""
    swaps = {"的": "得", "在": "再", "已": "以", "做": "作", "哪": "那"}
    if rng.random() < 0.3 and len(text) > 20:
        i = rng.randrange(10, len(text) - 5)
        text = text[:i] + text[i + 1:]
    for a, b in swaps.items():
        if rng.random() < 0.2:
            text = text.replace(a, b, 1)
    return text


def distinct(n: int, pool: str, seed: int) -> list[Item]:
    """n requests of n different people about buildings of the city's streets (some share building or matter)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        street, estate = rng.choice(STREETS), rng.choice(_ESTATES[pool]) + rng.choice(_SUFFIX)
        key, longs, _shorts = rng.choice(_MATTERS[pool])
        bno = rng.randint(1, 40)
        head = rng.choice(_OPEN).format(street=street, estate=estate, bno=bno)
        body = rng.choice(longs) + "。" + "".join(rng.sample(_FILL, rng.randint(1, 3)))
        text = _typo(head + body + rng.choice(_CLOSE), rng)
        out.append(Item(text, f"p{seed}-{i}", f"{street}{estate}{bno}栋", key))
    return out


def reword(item: Item, pool: str, seed: int) -> Item:
    """The same person again, shorter, through the app: the matter in other words."""
    rng = random.Random(seed)
    _key, _longs, shorts = next(m for m in _MATTERS[pool] if m[0] == item.matter)
    estate = item.address
    where = rng.choice(["地址是" + estate + "。", estate + "。", "", "在" + estate + "，"])
    text = (rng.choice(_SHORT_OPEN).format(estate=estate) + rng.choice(shorts) + "，" + where
            + rng.choice(["请尽快处理", "谢谢", "", "麻烦了"]))
    return Item(_typo(text, rng), item.phone, item.address, item.matter)
