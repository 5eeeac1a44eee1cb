"""How alike two requests read (并单): characters and character bigrams after dropping filler words and
function characters; score = mean(Jaccard, containment in the shorter text)."""

from __future__ import annotations

import re
import unicodedata

# Filler that callers add to a repeat without changing the matter; removed before comparing.
_FILLER = re.compile(
    r"(你好|您好|我要|我想|投诉|反映|举报|咨询|再次|又一次|还是|依然|仍然|一直|已经|多次|之前|上次|请问|谢谢|麻烦|"
    r"尽快|处理|解决|一下|希望|相关部门|有关部门)"
)
# Function characters carry no matter; dropping them lets paraphrases meet.
_STOP = frozenset("的了是在有也都还又就很太和与及我们你他她它这那个一啊吧呢吗")
# what is not a letter, digit or CJK ideograph, and the function characters, in one class: one regex pass
_DROP = re.compile("[^0-9a-z\u4e00-\u9fff]|[" + "".join(sorted(_STOP)) + "]")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, filler words and punctuation removed."""
    t = unicodedata.normalize("NFKC", text).lower()
    return _DROP.sub("", _FILLER.sub("", t))


def shingles(text: str, n: int = 2) -> set[str]:
    """Characters and character n-grams (n ≥ 2) of the normalised text.

    Paraphrased Chinese repeats share few longer n-grams but many characters and bigrams; the mix
    separates true repeats from same-place near-misses best on the test corpus.
    """
    t = normalize(text)
    grams = set(t)
    for k in range(2, n + 1):
        grams.update(t[i : i + k] for i in range(len(t) - k + 1))
    return grams


def similarity(a: set[str], b: set[str]) -> float:
    """The merge score: the mean of Jaccard and containment in the shorter text.

    A repeat often restates the matter more briefly or adds a sentence; containment catches that, and
    Jaccard keeps a short text from matching every long text that happens to contain its words.
    """
    if not a or not b:
        return 0.0
    inter = len(a & b)
    jac = inter / (len(a) + len(b) - inter)
    contain = inter / min(len(a), len(b))
    return (jac + contain) / 2


def containment(a: set[str], b: set[str]) -> float:
    """The share of the shorter text's shingles that the other text holds (the same person's rewording)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


# What a request is about, in a caller's words: synonyms → one matter. A general hotline vocabulary (not the
# test generator's phrases); the same person's short rewording names the matter even when little else remains.
_MATTER_WORDS: dict[str, tuple[str, ...]] = {
    "油烟": ("油烟", "烟味", "烧烤", "熏"),
    "噪音": ("噪音", "噪声", "吵", "扰民", "喇叭", "音响", "轰鸣", "喧哗"),
    "电梯": ("电梯", "困人", "梯"),
    "漏水": ("漏水", "渗水", "滴水", "防水", "返潮", "发霉"),
    "垃圾": ("垃圾", "清运", "臭味", "臭气", "环卫"),
    "施工": ("施工", "工地", "打桩", "渣土", "混凝土"),
    "停车": ("停车", "车位", "车库", "挪车"),
    "路灯": ("路灯", "灯不亮", "太黑", "黑漆漆"),
    "下水": ("堵塞", "堵了", "下水道", "污水", "返水", "地漏", "疏通", "化粪池", "堵"),
    "违建": ("违建", "搭建", "私搭", "违章", "乱建", "违规建"),
    "停水电": ("停水", "停电", "断水", "断电", "水压", "没水"),
    "宠物": ("狗", "猫", "宠物", "犬"),
    "欠薪": ("工资", "欠薪", "拖欠"),
    "退费": ("退费", "退款", "退钱", "跑路"),
    "物业费": ("物业费", "收费", "涨价", "乱收"),
    "井盖": ("井盖", "窨井"),
    "交通": ("红绿灯", "信号灯", "拥堵", "堵车"),
    "占道": ("占道", "摊贩", "乱停", "共享单车", "堵住"),
    "养老": ("养老保险", "养老金", "退休金"),
    "医保": ("医保", "医疗保险", "报销"),
    "公积金": ("公积金",),
    "供暖": ("暖气", "供暖", "燃气", "煤气"),
    "食品": ("过期", "食品", "变质", "卫生"),
    "绿化": ("绿化", "树木", "砍树", "草坪"),
}


def matters(text: str) -> frozenset[str]:
    """The matters a text names (keys of the vocabulary), after normalisation."""
    t = unicodedata.normalize("NFKC", text)
    return frozenset(m for m, words in _MATTER_WORDS.items() if any(w in t for w in words))
