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
