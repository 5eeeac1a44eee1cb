"""Cues (pure): the words and patterns of a rule, and the look-alikes that must not count for it.

A cue set is catalogue data: `words` (plain substrings), `patterns` (regular expressions) and `unless`
(regular expressions of look-alikes: what they match is blanked out before the words and patterns are looked
for, so "法院门口的路灯" does not count as a court case while "法院判决" in the same text still does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PATTERN_MAX = 1000  # a pattern longer than this is refused by the catalogue check


@dataclass(frozen=True)
class Cues:
    """A compiled cue set."""

    words: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()

    def strip(self, text: str) -> str:
        """The text with every look-alike blanked out (same length, so nothing new joins up)."""
        for p in self.unless:
            text = p.sub(lambda m: "\u3000" * len(m.group(0)), text)
        return text

    def find(self, text: str) -> list[str]:
        """What of the cue set the text holds once its look-alikes are blanked out (words, then patterns' hits)."""
        if not self.words and not self.patterns:
            return []
        t = self.strip(text)
        hits = [w for w in self.words if w in t]
        for p in self.patterns:
            m = p.search(t)
            if m:
                hits.append(m.group(0))
        return hits


_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_POWERS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
# vague amounts: 几十 → 20, 上百 → 100, 数百 → 200, 十几 → 10
_VAGUE = {"几": 2, "数": 2, "上": 1, "好几": 3}
_COUNT = re.compile(r"(?P<num>[0-9０-９]+|(?:好几|[几数上])?[零〇一二两三四五六七八九十百千万]+(?:几)?)"
                    r"(?P<approx>多|来|余|几)?")


def chinese_number(text: str) -> int | None:
    """The value of a count written in digits or Chinese numerals (几十 20, 上百 100, 十几 10), or None."""
    t = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if t.isdigit():
        return int(t)
    lead = next((v for k, v in sorted(_VAGUE.items(), key=lambda kv: -len(kv[0])) if t.startswith(k)), None)
    if lead is not None:
        t = t[2:] if t.startswith("好几") else t[1:]
    t = t.rstrip("几")
    total, digit = 0, lead
    for ch in t:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _POWERS:
            total += (digit if digit is not None else 1) * _POWERS[ch]
            digit = None
        else:
            return None
    total += digit or 0
    return total or None


def counted(text: str, nouns: list[str], least: int) -> list[str]:
    """Counts of people or households of at least `least` in the text ("三十多户", "二十来家商户", "300多人")."""
    if not nouns or least <= 0:
        return []
    alternatives = "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True))
    hits: list[str] = []
    for m in re.finditer(rf"{_COUNT.pattern}(?:{alternatives})", text):
        n = chinese_number(m.group("num"))
        if n is not None and n >= least:
            hits.append(m.group(0))
    return hits


def compile_cues(words: Any = (), patterns: Any = (), unless: Any = ()) -> Cues:
    """A cue set from catalogue lists (re.error for a broken pattern)."""
    return Cues(tuple(words or ()), tuple(re.compile(p) for p in patterns or ()),
                tuple(re.compile(p) for p in unless or ()))


def from_doc(doc: dict[str, Any], name: str) -> Cues:
    """The cue set `name` of a catalogue document or its tier rules: `<name>_words`, `_patterns`, `_unless`."""
    return compile_cues(doc.get(f"{name}_words", ()), doc.get(f"{name}_patterns", ()), doc.get(f"{name}_unless", ()))


def pattern_errors(v: Any) -> str | None:
    """Why a list of patterns is unusable, or None."""
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        return "must be a list of non-empty strings"
    for p in v:
        if len(p) > PATTERN_MAX:
            return f"a pattern is longer than {PATTERN_MAX} characters"
        try:
            re.compile(p)
        except re.error as exc:
            return f"pattern {p[:40]!r}: {exc}"
    return None
