"""Ticket search, the pure part: how text, names and phone numbers are normalised (the same way when a ticket is
indexed and when it is searched), what a query `q` asks for, and the excerpt a list shows (masked for roles that
may not see PII)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bancheng_shared.errors import Problem
from bancheng_shared.principal import PII_ROLES, Role
from intake_svc.domain.checks import clean_phone, phone_ok
from intake_svc.domain.pii import mask_name
from intake_svc.domain.ticket_numbers import looks_like_ticket_no

# the trigram index answers terms of at least this many characters; shorter ones are matched by a scan (LIKE)
TRIGRAM = 3
# parts of the search text are kept apart by a character no normalised query term contains (no match across them)
SEPARATOR = "\n"
_NAME_CJK = re.compile(r"^[\u3400-\u9fff·]{2,6}$")
_DIGITS_AND_DASHES = re.compile(r"^[\d\-\s()（）+]+$")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)[\d\- ]{4,6}(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}([\dXx]{4})(?![0-9A-Za-z])")
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)(0\d{2,3})-?\d{3,4}(\d{4})(?!\d)")


def normalize_text(text: str | None) -> str:
    """NFKC (full-width → half-width), case-folded, only letters and digits kept: 幸福小区 3 栋 = 幸福小区3栋, Ａ = a,
    punctuation and spaces never stop a match."""
    if not text:
        return ""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def search_text(*parts: str | None) -> str:
    """A ticket's searchable text: its title, content, address and the text of the repeats merged into it, each
    normalised, kept apart."""
    return SEPARATOR.join(n for n in (normalize_text(p) for p in parts) if n)


def normalize_name(name: str | None) -> str | None:
    """A person's name as its keyed hash is taken: NFKC, no spaces, case-folded (张 三 = 张三, ＬＩ Ｍｉｎｇ = li ming
    without the space)."""
    if not name:
        return None
    n = "".join(unicodedata.normalize("NFKC", name).casefold().split())
    return n or None


def phone_forms(raw: str | None) -> tuple[str, ...]:
    """The forms a phone number may have been stored under (registration keeps a landline's dash as typed), for
    a lookup of its keyed hash; () when `raw` is no phone number. Spaces, brackets, dashes and +86 are dropped:
    `138 0013-8000` → 13800138000; `0571 8888 8888` → 057188888888 and 0571-88888888."""
    if not raw or not _DIGITS_AND_DASHES.match(raw.strip()):
        return ()
    p = clean_phone(raw).replace("-", "")
    if not p.isdigit():
        return ()
    forms: list[str] = []
    if phone_ok(p):
        forms.append(p)
    if p.startswith("0"):
        for cut in (3, 4):  # 010-…, 0571-…
            dashed = f"{p[:cut]}-{p[cut:]}"
            if phone_ok(dashed):
                forms.append(dashed)
    if p.startswith(("400", "800")) and len(p) == 10:
        forms.append(f"{p[:3]}-{p[3:6]}-{p[6:]}")
    return tuple(dict.fromkeys(forms))


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's wildcards escaped (escape character `\\`)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts_phrase(term: str) -> str:
    """A term as an FTS5 string (a phrase: the trigram tokenizer matches it as a substring)."""
    return '"' + term.replace('"', '""') + '"'


@dataclass(frozen=True)
class SearchQuery:
    """What `q` asks for: every term in the text (AND), or the person's phone or name, or the ticket number."""

    terms: tuple[str, ...]
    phones: tuple[str, ...] = ()
    name: str | None = None
    ticket_no: str | None = None

    @property
    def indexed_terms(self) -> tuple[str, ...]:
        """Terms the trigram index can answer."""
        return tuple(t for t in self.terms if len(t) >= TRIGRAM)

    @property
    def short_terms(self) -> tuple[str, ...]:
        """Terms of one or two characters: matched by a scan."""
        return tuple(t for t in self.terms if len(t) < TRIGRAM)


def parse_query(q: str, *, may_see_pii: bool) -> SearchQuery | None:
    """Read `q`: terms split on spaces, each normalised (None: nothing to search for). A whole `q` that is a phone
    number also asks for the person's phone, one that reads as a Chinese name for the person's name, one that is a
    ticket number for that ticket; phone and name only for roles that may see PII (others search the text only)."""
    raw = q.strip()
    whole = "".join(raw.split())
    terms = tuple(dict.fromkeys(t for t in (normalize_text(w) for w in raw.split()) if t))
    phones = phone_forms(raw) if may_see_pii else ()
    if phones:
        terms = (normalize_text(whole),)  # the number as it may be written in the text, without its spaces
    name = normalize_name(whole) if may_see_pii and _NAME_CJK.match(whole) else None
    ticket_no = whole.upper() if looks_like_ticket_no(whole.upper()) else None
    if not terms and not ticket_no:
        return None
    return SearchQuery(terms=terms, phones=phones, name=name, ticket_no=ticket_no)


def excerpt(content: str, terms: tuple[str, ...], width: int) -> str:
    """About `width` characters of the content around the first term found (the start when none is found, e.g. a
    match on the address or a repeat), with … where it was cut."""
    text = " ".join(content.split())
    if len(text) <= width:
        return text
    folded = unicodedata.normalize("NFKC", text).casefold()
    at = -1
    for t in terms:
        at = folded.find(t)
        if at >= 0:
            break
    if len(folded) != len(text) or at < 0:
        at = 0  # NFKC changed the length: positions no longer line up, start at the beginning
    start = max(0, min(at - width // 4, len(text) - width))
    cut = text[start:start + width]
    return ("…" if start > 0 else "") + cut + ("…" if start + width < len(text) else "")


def mask_excerpt(text: str, name: str | None) -> str:
    """The excerpt for a role that may not see PII: phone numbers (138****8000), ID numbers and the complainant's
    name (张**) masked wherever the text carries them."""
    text = _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    text = _PHONE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(2), text)
    text = _LANDLINE_IN_TEXT.sub(lambda m: m.group(1) + "-****" + m.group(2), text)
    if name and len(name) > 1:
        text = text.replace(name, mask_name(name) or "")
    return text


def check_person_search(role: Role, **given: str | None) -> None:
    """Searching by a person's phone or name is for roles that may see PII (a masked reader could otherwise tell a
    number's tickets apart): 403 naming the parameter."""
    for name, value in given.items():
        if value is not None and role not in PII_ROLES:
            raise Problem(403, f"role {role.value!r} may not search by {name!r} (complainant data); search the text "
                          "with q", type_="forbidden")


def excerpt_masked(role: Role) -> bool:
    """Whether this role's list excerpts are masked (it may not see the complainant's data)."""
    return role not in PII_ROLES
