"""Realistic requests for co-unit detection (issue 12, item 5): matters that need 2, 3 or 4+ units, and
single-matter look-alikes (one remit, two aspects of it, or a mention of another unit in passing), each wrapped in
the boilerplate callers use (an opener, details, a closer, the odd typo), about 100–250 characters.

Two parts with their own scenes, wording and boilerplate: `TUNE` (the co-unit rules and thresholds were tuned on it)
and `EVAL` (written before any tuning together with `TUNE`, scored as written and never adjusted afterwards).
A scene is the place a caller talks about; each department kind in it has fragments of matters it handles. A
multi-matter request joins fragments of 2, 3 or 4 different kinds of one scene; a single-matter request is one kind's
fragment, or two of them (two aspects of the same remit), with details that may name another unit in passing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

Scene = dict[str, list[str]]


@dataclass(frozen=True)
class Item:
    """A labelled request: the kinds that must each get a unit (the lead among them)."""

    text: str
    kinds: frozenset[str]


@dataclass(frozen=True)
class Part:
    multi: list[Item]  # needs 2, 3 or 4+ units
    single: list[Item]  # needs one unit


# --- TUNE ---------------------------------------------------------------------------------------------------------

TUNE_SCENES: list[Scene] = [
    {  # a building site next to the homes
        "housing_construction": ["隔壁工地没有围挡，塔吊吊着钢筋就从我们楼顶上转过去",
                                 "那个楼盘的工地基坑挖了十几米深，边上连个支护都没有，我家墙上已经裂了缝"],
        "urban_management": ["工地拉土的车出来不冲洗轮胎，泥巴甩得满马路都是",
                             "工人把拆下来的碎砖烂瓦倒在小区门口的人行道上，堆了快一人高"],
        "ecology_environment": ["工地的泥浆水通过一根管子直接排进旁边的小河，河水都黄了",
                                "工地上的柴油机整天冒黑烟，味道呛人"],
        "water": ["他们施工把我们小区的供水管挖断了，三栋楼停水两天",
                  "挖断的水管一直往外冒水，路上都成河了，自来水公司也没人来抢修"],
        "human_resources": ["包工头欠我们二十多个工人四个月的工钱，老板躲着不见",
                            "在工地干活受了伤，老板不给报工伤也不给签合同"],
        "public_security": ["工棚里的人晚上喝了酒就打架，还有人半夜在小区里偷电瓶车"],
    },
    {  # a street of restaurants
        "urban_management": ["楼下那家烧烤摊每天把炉子摆到人行道上，油烟全往我们窗户里灌",
                             "饭店在门口私自搭了个铁皮棚子，把盲道都占了"],
        "ecology_environment": ["饭店把洗碗的污水接了根管子排到雨水管里，楼下花坛那边臭得不行",
                                "隔壁那家熟食加工店的废水直排到河沟里，水面上漂着一层油"],
        "market_regulation": ["这家店后厨脏得没法看，老鼠到处跑，也没看到卫生许可",
                              "我在他家吃完小龙虾全家上吐下泻，店家一口咬定跟他们没关系"],
        "public_security": ["喝酒的客人闹到凌晨两三点，前天还砸了啤酒瓶打起来了",
                            "店门口有几个人天天开着改装摩托车轰油门"],
        "emergency": ["店里把好几个液化气罐堆在后门，后门的安全出口还用铁链锁着",
                      "饭店二楼包间的窗户全封死了，也没有灭火器，万一着火人都跑不出来"],
    },
    {  # an old housing estate
        "housing_construction": ["顶楼的防水早就坏了，一下雨屋里就漏，物业说维修基金动不了",
                                 "物业收了钱不干事，单元门禁坏了半年，外墙的瓷砖还往下掉"],
        "gas": ["楼道里的燃气管锈穿了好几个地方，经常能闻到煤气味",
                "燃汽公司来换表以后家里的灶就打不着火了，打电话也没人来"],
        "power": ["小区一到晚上用电高峰就跳闸，变压器嗡嗡响",
                  "我们这栋楼已经连续三天晚上停电了，冰箱里的东西都坏了"],
        "water": ["水龙头放出来的水是黄的，烧开了底下一层渣", "住六楼水压太低，白天基本没水用"],
        "urban_management": ["小区门口垃圾站的垃圾一个星期没拉走，苍蝇成群",
                             "一楼住户把院子围起来又加盖了一间房，挡住了大家走的路"],
        "public_security": ["最近楼里接连有三户人家被撬门入室盗窃",
                            "有个人租了地下室，天天有人进进出出，像是在聚众赌博"],
        "emergency": ["楼道里停满了电动车，还有人从窗户拉电线下来给电瓶车充电",
                      "小区的消防栓都是空的，灭火器也过期好几年了"],
    },
    {  # a village
        "agriculture": ["在镇上农资店买的稻种，撒下去半个月出苗不到三成", "村里的灌溉渠塌了一截，下游几十亩地浇不上水"],
        "natural_resources": ["有个老板在村里的基本农田上建了个厂房", "有人夜里开着挖掘机在河滩上挖沙，河岸都挖塌了"],
        "ecology_environment": ["村东头的养猪场把粪水直接往河沟里排，河里的鱼都翻白了",
                                "村后面那个小作坊天天烧废旧塑料，黑烟一股刺鼻的味道"],
        "transport": ["去镇上的那条水泥路坑坑洼洼，一下雨全是水坑，车都陷进去过",
                      "原来每天两趟的乡村班车停了两个月，老人去镇上看病都没办法"],
        "civil_affairs": ["村里一个孤寡老人的低保莫名其妙被停了，他生活都成问题",
                          "邻居家的残疾孩子一直没拿到残疾人补贴"],
        "power": ["村里电压特别低，晚上灯泡都是暗的，电饭锅都煮不熟饭"],
    },
    {  # around a school
        "education": ["孩子学校要求每人交三百块买指定的教辅和校服，不买就点名",
                      "学校放学太早又不开课后服务，双职工家庭根本接不了"],
        "market_regulation": ["校门口的小卖部卖没有生产日期的辣条和饮料",
                              "校门口的文具店卖一种带刀片的玩具，小孩玩起来很危险"],
        "public_security": ["放学时有几个社会青年在路口拦学生要钱",
                            "学校门口那个路口没有红绿灯，接孩子的电动车和汽车乱成一锅粥"],
        "urban_management": ["校门口的流动摊贩把路都堵住了，卖油炸串串的摊子一大堆",
                             "学校围墙外面的垃圾堆了好久，夏天臭得不行"],
        "transport": ["学校附近的公交站撤掉以后，孩子要走两公里去坐车",
                      "通往学校的那段路面破得厉害，孩子骑车摔过好几次"],
    },
    {  # a hospital and an old people's home
        "health": ["医院的医生开了一大堆没必要的检查，挂号还排了三个小时",
                   "小区诊所的医生没有执业证，给我家老人打针以后过敏了"],
        "medical_insurance": ["住院的费用医保报销比例比说的低了一大截",
                              "异地就医备案办了一个月还没办好，医保卡在这边刷不了"],
        "civil_affairs": ["我父亲住的民办养老院擅自涨了床位费", "社区的老年食堂说好的补贴一直没兑现"],
        "transport": ["医院门口的公交车站离大门太远了，病人走过去很吃力"],
        "public_security": ["医院门口有号贩子公开倒卖专家号", "医院停车场边上经常有人砸车窗偷东西"],
    },
    {  # a parcel station
        "postal": ["快递驿站乱收费，取个件要收一块钱，包裹还经常丢", "快递员从来不送上门，放在驿站也不通知"],
        "urban_management": ["驿站把几百个包裹摆在人行道上分拣，路都走不通了",
                             "快递三轮车乱停乱放，把小区的绿化带都压坏了"],
        "public_security": ["驿站门口的包裹经常被人偷，调了监控也查不出来"],
        "transport": ["物流园的大货车整天在村道上跑，路面全被压烂了"],
    },
    {  # a factory
        "ecology_environment": ["那个电镀厂晚上偷偷排废水，下游的水渠都是绿色的",
                                "化工厂一到夜里就放一股刺鼻的气味，熏得人头疼"],
        "human_resources": ["厂里不给交社保，辞职的时候还扣了我一个月工资",
                            "厂里让我们每天干十二个小时，加班费一分没有"],
        "emergency": ["厂房里堆着好多桶油漆稀料，车间里还有人抽烟",
                      "厂里上个月有个工人被机器轧伤了，到现在安全防护都没改"],
        "natural_resources": ["这个厂是在村里的耕地上违规建起来的"],
        "power": ["厂子私拉高压线，把我们村的电都拉得忽明忽暗"],
    },
]
TUNE_OPENERS = ["您好，我想反映一个问题。", "你好，我是{p}的住户，", "12345您好，有个事情想请你们帮忙。",
                "喂，你好，我姓{n}，住{p}，", "您好，我是{d}{p}的居民，想投诉一下，", "你好，我要反映{p}那边的情况，"]
TUNE_DETAILS = ["我拍了照片和视频，可以提供给工作人员，", "这个情况已经持续快一个月了，", "家里有老人小孩，",
                "我找过物业，物业说这个不归他们管，", "之前打过110，警察来看了一下就走了，", "社区的网格员也来拍过照，",
                "这事在业主群里大家都在说，", "我白天上班，只能这个时间打电话，"]
TUNE_CLOSERS = ["希望有关部门尽快处理。", "麻烦你们尽快派人来看一下，谢谢。", "希望给个答复。", "请尽快处理，谢谢！",
                "希望能管一管。"]
TUNE_JOINS = ["，还有", "。另外", "，而且", "；", "。还有个事，", "，并且"]
TUNE_TYPOS = [("已经", "以经"), ("的", "得"), ("希望", "希忘")]

# --- EVAL (written with TUNE, before any tuning; never adjusted) -----------------------------------------------------

EVAL_SCENES: list[Scene] = [
    {  # a farmers' market
        "market_regulation": ["市场里卖肉的摊位秤不准，一斤肉少了二两", "有个摊位卖的猪肉没有检疫章，颜色发暗"],
        "urban_management": ["市场外面的马路被卖菜的摊子占了一大半，公交车都过不去",
                             "市场门口的烂菜叶和垃圾没人扫，一到下午就臭烘烘的"],
        "ecology_environment": ["市场杀鸡杀鱼的血水直接流进旁边的排水沟，整条沟都是黑的",
                                "市场后面有人烧垃圾，冒出来的烟味道特别大"],
        "public_security": ["市场里小偷特别多，我上周手机在买菜时被偷了", "市场里有人用假钞买东西，好几个摊主都收到了"],
        "transport": ["市场门口的公交站被摊子挤没了，乘客只能站在马路中间等车"],
    },
    {  # a newly handed-over estate
        "housing_construction": ["交房的时候发现好几户墙体有裂缝，卫生间还渗水",
                                 "开发商答应的延期交房赔偿到现在也没给"],
        "natural_resources": ["交房两年了小区还办不了不动产证，开发商说土地证有问题",
                              "开发商把规划里的绿地改成了停车场，不知道规划局有没有批过"],
        "education": ["卖房的时候说配套一所小学，现在说学校不建了，孩子只能去很远的学校上学",
                      "小区划的学区跟当初宣传的不一样，孩子报不上名"],
        "gas": ["入住半年了天然气还没通，只能用电磁炉", "燃气公司要每户交三千多的开户费才给通气"],
        "power": ["小区到现在还用的是施工临时电，电压不稳，经常烧电器"],
        "water": ["新小区的二次供水箱没人清洗，水里有沉淀"],
    },
    {  # a river and a park
        "ecology_environment": ["公园旁边那条河最近水发黑发臭，岸边有个管子一直往里排东西",
                                "河边死了很多鱼，飘在水面上一大片"],
        "urban_management": ["公园里的路灯坏了一大半，晚上黑灯瞎火", "公园的公共厕所门锁着一个多月没开"],
        "natural_resources": ["有人把河边的公共绿地圈起来建了私人会所"],
        "public_security": ["晚上公园小树林里经常有人聚在一起吸毒，地上都是针头", "公园门口有人骑摩托车抢老人的包"],
        "culture_tourism": ["公园里的收费景点门票随意涨价", "公园里的文物石碑被人乱涂乱画也没人保护"],
        "emergency": ["河堤有一段已经被水冲垮了，马上要到汛期了"],
    },
    {  # an internet cafe and entertainment
        "culture_tourism": ["小区楼下的网吧让没成年的孩子通宵上网，也不查身份证",
                            "那家剧本杀店让初中生玩恐怖本，还收很高的费用"],
        "public_security": ["网吧里经常有人打架斗殴，上周有人被打进了医院", "有人在网吧里拉人去搞网络赌博"],
        "emergency": ["网吧只有一个门，窗户全封死了，里面一百多台电脑，着火了根本跑不掉"],
        "urban_management": ["网吧在门口挂了一大块闪烁的灯箱招牌，晚上晃得人睡不着"],
        "market_regulation": ["网吧里卖的泡面和饮料都过期了"],
    },
    {  # an estate's management and parking
        "housing_construction": ["物业把小区的公共车位拿出去卖，业主一分钱都分不到",
                                 "小区的电梯一个月停了四次，上周还关了人在里面"],
        "public_security": ["小区里有人开着改装车半夜炸街"],
        "urban_management": ["小区里有业主把绿化带铲了种菜", "有人在小区空地上搭了一排铁皮棚子出租"],
        "water": ["小区周末停水也不提前通知，连着停了两天"],
        "power": ["我家这个月电费突然比平时多了三倍，电表是不是有问题"],
        "gas": ["厨房的燃气表走得特别快，一个月用了平时三倍的气"],
    },
    {  # an industrial park
        "ecology_environment": ["园区里那家喷漆厂不开废气处理设备，下午整片都是油漆味",
                                "有个厂把废渣偷偷倒在村后面的荒地上"],
        "human_resources": ["公司已经三个月没发工资了，老板说等资金回笼", "公司试用期不签劳动合同，还说辞退就辞退"],
        "emergency": ["厂里的危化品仓库和宿舍就隔着一道墙", "车间里的灭火器都是空的，也从来没搞过安全培训"],
        "tax": ["老板发工资全用现金，买东西也不开发票，一直偷税漏税"],
        "public_security": ["厂里的保安动手打了来讨薪的工人"],
    },
    {  # buses and a road
        "transport": ["公交车到站不停，司机还骂乘客", "二十路公交车改了线路，我们这边一个站都没有了"],
        "public_security": ["路口的信号灯坏了一个星期，早晚高峰全堵死", "有人天天把车停在公交站台上"],
        "urban_management": ["路边的行道树倒在了人行道上，一直没人清理", "马路上的井盖没了，已经有人掉进去了"],
        "power": ["路边的电线杆歪了，电线垂下来离地面不到两米"],
    },
    {  # old people's services
        "civil_affairs": ["我母亲八十多岁了，高龄津贴已经半年没到账", "社区养老服务站说是免费的，现在每次都要收钱"],
        "health": ["社区卫生服务中心的医生经常不在岗，开个降压药都要等半天",
                   "社区医院给老人体检的结果和大医院差得太远"],
        "medical_insurance": ["老人的医保卡在药店买药突然刷不了了", "慢病门诊的医保额度用完了，剩下的药全要自费"],
        "public_security": ["最近有人上门推销，骗了好几个老人的养老钱"],
        "housing_construction": ["我们这栋老楼想加装电梯，手续跑了一年还没批下来"],
    },
]
EVAL_OPENERS = ["您好，打扰一下，我要投诉。", "工作人员你好，我是附近的居民，", "你好，我反映一下我们那边的情况，",
                "您好，我是{d}{p}的，姓{n}，", "喂，是12345吗？我住在{p}，", "你好，麻烦记录一下，地址是{d}{p}，"]
EVAL_DETAILS = ["我也跟居委会说过，他们让我打这个电话，", "派出所的民警说这事他们管不了，", "物业经理来看过说要上报，",
                "我有录音和照片，", "前两天电视台记者也来拍过，", "大家意见都很大，", "我们都是上了年纪的人，",
                "已经反映过一次了，"]
EVAL_CLOSERS = ["请尽快解决，盼回复！", "拜托你们管一管，谢谢了。", "等你们回电话。", "希望早点给个结果。",
                "麻烦相关部门重视一下。"]
EVAL_JOINS = ["。还有就是", "，同时", "；再一个，", "，另外", "。除了这个，", "，还有"]
EVAL_TYPOS = [("尽快", "尽块"), ("麻烦", "麻繁"), ("已经", "已近")]

DISTRICTS = ["东湖区", "西岭区", "南江区", "北山区"]
PLACES = ["和顺小区", "桂花苑6栋", "滨河新村", "东风路", "老机械厂宿舍", "石桥村", "金色家园", "文昌街"]
SURNAMES = ["郑", "冯", "何", "罗", "高", "林"]


def _fill(s: str, rnd: random.Random) -> str:
    return s.format(d=rnd.choice(DISTRICTS), p=rnd.choice(PLACES), n=rnd.choice(SURNAMES))


def _wrap(body: str, rnd: random.Random, opens: list[str], details: list[str], closes: list[str],
          typos: list[tuple[str, str]]) -> str:
    head = _fill(rnd.choice(opens), rnd)
    extra = "".join(rnd.sample(details, rnd.randint(2, 3)))
    text = head + body + "，" + extra + rnd.choice(closes) if rnd.random() < 0.6 else \
        head + extra + body + "。" + rnd.choice(closes)
    if rnd.random() < 0.4:
        a, b = rnd.choice(typos)
        text = text.replace(a, b, 1)
    return text


def _build(scenes: list[Scene], opens: list[str], details: list[str], closes: list[str], joins: list[str],
           typos: list[tuple[str, str]], seed: int, per_size: int = 22, singles: int = 66) -> Part:
    rnd = random.Random(seed)
    seen: set[str] = set()
    multi: list[Item] = []
    for size in (2, 3, 4):
        made = 0
        while made < per_size:
            scene = rnd.choice([s for s in scenes if len(s) >= size])
            kinds = rnd.sample(sorted(scene), size)
            parts = [rnd.choice(scene[k]) for k in kinds]
            body = parts[0] + "".join(rnd.choice(joins) + p for p in parts[1:])
            text = _wrap(body, rnd, opens, details, closes, typos)
            if text not in seen:
                seen.add(text)
                multi.append(Item(text, frozenset(kinds)))
                made += 1
    single: list[Item] = []
    while len(single) < singles:
        scene = rnd.choice(scenes)
        kind = rnd.choice(sorted(scene))
        frags = scene[kind]
        if len(frags) >= 2 and rnd.random() < 0.6:  # two aspects of the same remit
            a, b = rnd.sample(frags, 2)
            body = a + rnd.choice(joins) + b
        else:
            body = rnd.choice(frags)
        text = _wrap(body, rnd, opens, details, closes, typos)
        if text not in seen:
            seen.add(text)
            single.append(Item(text, frozenset([kind])))
    return Part(multi, single)


TUNE = _build(TUNE_SCENES, TUNE_OPENERS, TUNE_DETAILS, TUNE_CLOSERS, TUNE_JOINS, TUNE_TYPOS, seed=12)
EVAL = _build(EVAL_SCENES, EVAL_OPENERS, EVAL_DETAILS, EVAL_CLOSERS, EVAL_JOINS, EVAL_TYPOS, seed=21)
