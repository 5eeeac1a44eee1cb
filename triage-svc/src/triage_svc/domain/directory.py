"""The org directory (pure): validation of imports, CSV/JSON forms, who sees a unit's contact numbers, the routing
index (the unit of a kind nearest a place) and the places' names."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bancheng_shared.contracts.limits import NAME_MAX, UNIT_CODE_MAX, no_control_characters
from bancheng_shared.errors import Problem
from bancheng_shared.principal import Principal, Role
from bancheng_shared.spreadsheet import safe_cell
from triage_svc.domain.bounds import KIND_MAX, clip

KINDS: tuple[str, ...] = (
    "hotline_center", "business_environment", "discipline", "supervision_office", "petition", "political_legal",
    "local_government", "administrative_approval", "market_regulation", "tax", "public_security",
    "housing_construction", "natural_resources", "human_resources", "medical_insurance", "education", "health",
    "ecology_environment", "transport", "urban_management", "water", "power", "gas", "postal",
    "development_reform", "economy_it", "commerce", "civil_affairs", "agriculture", "emergency", "culture_tourism",
    "finance",
)
FIELDS = ("code", "name", "level", "kind", "region_code", "parent_code", "contacts", "active")
_CODE = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{UNIT_CODE_MAX}}}$")
_REGION = re.compile(r"^[0-9]{2,20}$")
# Suffixes of a government's name that are not part of the place's name.
_GOV_SUFFIXES = ("人民政府", "街道办事处", "办事处", "居民委员会", "居委会", "村民委员会", "村委会", "管委会")
# A unit's contacts: a small flat object ({"sms": "1390000…", "phone": …, "email": …}); SMS numbers included.
CONTACTS_MAX_ENTRIES = 20
CONTACT_KEY_MAX = 40
# Who reads a unit's contact numbers (SMS): those who deliver to or call units; a unit reads its own.
CONTACT_ROLES = frozenset({Role.admin, Role.work_team, Role.operator})


def sees_contacts(who: Principal, unit_code: str) -> bool:
    """Whether a caller may read this unit's contact numbers: the work team, operators and admins; a unit its own
    (frontends, platforms, oversight roles and leaders read the directory without them)."""
    return who.role in CONTACT_ROLES or (who.role == Role.unit and who.unit_code == unit_code)


@dataclass(frozen=True)
class UnitRef:
    """A unit of the directory, as routing needs it."""

    code: str
    name: str
    level: int
    kind: str
    region_code: str
    parent_code: str | None
    sms: str | None = None  # where its 报到 SMS goes (domain.contacts.sms_number); None: no number takes a text

@dataclass
class RowError:
    """One validation error: which row (1-based, data rows) and which field."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"row": self.row, "field": self.field, "message": self.message}


def _level(v: Any) -> int | None:
    """A level given as a whole number (1, 2.0 or "3"); None for anything else (floats with a fraction, true)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if math.isfinite(v) and v.is_integer() else None
    if isinstance(v, str) and v.strip().isdecimal() and len(v.strip()) <= 2:
        return int(v.strip())
    return None


def _text_problem(value: str) -> str | None:
    """Why a text cannot be stored (a control character), or None."""
    try:
        no_control_characters(value)
    except ValueError as exc:
        return str(exc)
    return None


def _contacts_problem(contacts: dict[str, Any]) -> str | None:
    """Why a contacts object cannot be stored, or None: a small flat object of texts, numbers or lists of texts."""
    if len(contacts) > CONTACTS_MAX_ENTRIES:
        return f"at most {CONTACTS_MAX_ENTRIES} entries"
    for key, value in contacts.items():
        if not key or len(key) > CONTACT_KEY_MAX or _text_problem(key):
            return f"keys are 1-{CONTACT_KEY_MAX} characters without control characters"
        values = value if isinstance(value, list) else [value]
        if len(values) > CONTACTS_MAX_ENTRIES:
            return f"{key}: at most {CONTACTS_MAX_ENTRIES} values"
        for v in values:
            if isinstance(v, str):
                if len(v) > NAME_MAX or _text_problem(v):
                    return f"{key}: texts of at most {NAME_MAX} characters without control characters"
            elif (isinstance(v, float) and not math.isfinite(v)) or (isinstance(v, int) and abs(v) > 10**18):
                return f"{key}: not a number a store keeps"
            elif v is not None and not isinstance(v, (bool, int, float)):
                return f"{key}: a text, a number or a list of texts"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if v is None or v == "":
        return True
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "t", "是"):
        return True
    if s in ("0", "false", "no", "n", "f", "否"):
        return False
    return None


def validate_rows(rows: list[dict[str, Any]], existing: dict[str, int] | None = None,
                  extra_kinds: Iterable[str] = ()) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Normalise and check import rows; `existing` maps codes already in the directory to their level."""
    kinds = set(KINDS) | set(extra_kinds)
    existing = existing or {}
    errors: list[RowError] = []
    clean: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rows, start=1):
        if not isinstance(raw, dict):
            errors.append(RowError(i, "row", "must be an object"))
            continue
        unknown = set(raw) - set(FIELDS)
        for f in sorted(unknown):
            errors.append(RowError(i, clip(str(f), KIND_MAX), "unknown field"))
        code = str(raw.get("code") or "").strip()
        if not _CODE.match(code):
            errors.append(RowError(i, "code", "required: 1-64 letters, digits, '-', '_' or '.'"))
        elif code in seen:
            errors.append(RowError(i, "code", f"duplicate of row {seen[code]}"))
        else:
            seen[code] = i
        name = str(raw.get("name") or "").strip()
        if not name or len(name) > NAME_MAX:
            errors.append(RowError(i, "name", f"required, at most {NAME_MAX} characters"))
        elif (why := _text_problem(name)) is not None:
            errors.append(RowError(i, "name", why))
        level = _level(raw.get("level"))
        if level not in (1, 2, 3, 4):
            errors.append(RowError(i, "level", "must be 1 (city), 2 (district), 3 (street/town) or 4 (community)"))
            level = 0
        kind = str(raw.get("kind") or "").strip()
        if kind not in kinds:
            errors.append(RowError(i, "kind", f"unknown kind {clip(kind, KIND_MAX)!r}; use the DESIGN.md vocabulary"))
        region = str(raw.get("region_code") or "").strip()
        if not _REGION.match(region):
            errors.append(RowError(i, "region_code", "required: 2-20 digits"))
        parent = raw.get("parent_code")
        parent = str(parent).strip() if parent not in (None, "") else None
        if parent is not None and not _CODE.match(parent):
            errors.append(RowError(i, "parent_code", "1-64 letters, digits, '-', '_' or '.'"))
            parent = None
        contacts = raw.get("contacts")
        if isinstance(contacts, str):
            try:
                contacts = (json.loads(contacts, parse_constant=_no_constant) if contacts.strip() else None)
            except (ValueError, RecursionError):
                errors.append(RowError(i, "contacts", "must be a JSON object"))
                contacts = None
        if contacts is not None and not isinstance(contacts, dict):
            errors.append(RowError(i, "contacts", "must be a JSON object"))
        elif contacts is not None and (why := _contacts_problem(contacts)) is not None:
            errors.append(RowError(i, "contacts", why))
        active = _bool(raw.get("active"))
        if active is None:
            errors.append(RowError(i, "active", "must be true or false"))
        clean.append({"code": code, "name": name, "level": level, "kind": kind, "region_code": region,
                      "parent_code": parent, "contacts": contacts, "active": bool(active)})
    levels = {**existing, **{r["code"]: r["level"] for r in clean}}
    for i, r in enumerate(clean, start=1):
        p = r["parent_code"]
        if p is None:
            continue
        if p == r["code"]:
            errors.append(RowError(i, "parent_code", "a unit cannot be its own parent"))
        elif p not in levels:
            errors.append(RowError(i, "parent_code", f"unknown parent {p!r} (not in the file nor the directory)"))
        elif r["level"] and levels[p] and levels[p] > r["level"]:
            errors.append(RowError(i, "parent_code", f"parent {p!r} is at level {levels[p]}, below level "
                                                       f"{r['level']}"))
    return clean, errors


def parents_to_look_up(rows: list[dict[str, Any]]) -> list[str]:
    """Parents an upsert names that are not in the file itself: the directory must already hold them."""
    parents = {str(r.get("parent_code")).strip() for r in rows if isinstance(r, dict) and r.get("parent_code")}
    codes = {str(r.get("code")).strip() for r in rows if isinstance(r, dict)}
    return sorted(p for p in parents - codes if _CODE.match(p))  # an invalid code is the validation's to name


def checked_rows(rows: list[dict[str, Any]], existing: dict[str, int] | None = None,
                 extra_kinds: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The normalised rows of a valid import; Problem 422 listing the errors (row and field) otherwise."""
    clean, errors = validate_rows(rows, existing, extra_kinds)
    if errors:
        raise Problem(422, f"{len(errors)} error(s) in the import; nothing was imported. First: row "
                           f"{errors[0].row}, {errors[0].field}: {errors[0].message}", type_="invalid-import",
                      errors=[e.as_dict() for e in errors[:200]])
    return clean


def _cell_in(value: str) -> str:
    """A cell as the export wrote it, back to its value: the apostrophe `safe_cell` put before a formula's first
    character is taken off again, so an export imports unchanged."""
    if value.startswith("'") and safe_cell(value[1:]) != value[1:]:
        return value[1:]
    return value


# the charsets a directory CSV may come in: Excel in China saves "CSV" as GBK (GB18030 holds all of GBK and GB2312,
# so those decode as GB18030), "CSV UTF-8" with a BOM; other tools write UTF-8 without one
CSV_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030",
                "gb18030": "gb18030", "cp936": "gb18030"}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_csv(raw: bytes, charset: str | None = None) -> str:
    """A CSV body as text: in the charset given (a parameter or the Content-Type's), else detected — a UTF-8 BOM
    → UTF-8, valid UTF-8 → UTF-8, else GB18030 (GBK). A body that is none of them is a 400 saying so."""
    if charset is not None:
        codec = CSV_CHARSETS.get(charset.strip().strip('"').lower())
        if codec is None:
            raise Problem(422, f"charset: {charset[:40]!r} is not accepted; use utf-8, gbk or gb18030",
                          type_="validation", errors=[{"field": "charset", "message": "utf-8, gbk or gb18030"}])
        try:
            return raw.decode(codec).lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise Problem(400, f"unreadable CSV: not {charset} text (byte {exc.start} cannot be read as {charset})",
                          type_="malformed-csv") from None
    if raw.startswith(_UTF16_BOMS):
        raise Problem(400, "unreadable CSV: the file is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8' or "
                      "'CSV' (GBK)", type_="malformed-csv")
    if raw.startswith(b"\xef\xbb\xbf"):
        codecs: tuple[str, ...] = ("utf-8-sig",)
    else:
        codecs = ("utf-8", "gb18030")
    for codec in codecs:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    raise Problem(400, "unreadable CSV: the file is neither UTF-8 nor GBK/GB18030 text; save it as 'CSV UTF-8' or "
                  "'CSV', or name the charset (`charset=` in the Content-Type or the query)", type_="malformed-csv")


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV export (header: the directory fields); csv.Error (a NUL, a field too large) for a broken file."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return [{k.strip(): _cell_in(v) if v is not None else "" for k, v in row.items() if k is not None}
            for row in reader]


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """CSV export with a header; contacts as JSON. Every text cell is spreadsheet-safe: text that would start a
    formula (=, +, -, @, their full-width forms …) gets a leading apostrophe, which `parse_csv` takes off again."""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        row = {**{f: r.get(f) for f in FIELDS},
               "contacts": json.dumps(r.get("contacts"), ensure_ascii=False) if r.get("contacts") else "",
               "parent_code": r.get("parent_code") or "",
               "active": "true" if r.get("active", True) else "false"}
        w.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def place_name(name: str, parent_place: str = "") -> str:
    """The place a local government stands for: '东湖区城关街道办事处' → '城关街道' (under '东湖区')."""
    for suf in _GOV_SUFFIXES:
        if name.endswith(suf):
            name = name[: -len(suf)]
            break
    if parent_place and name.startswith(parent_place) and len(name) > len(parent_place):
        name = name[len(parent_place):]
    return name


@dataclass
class Place:
    """A place of the directory: its region code and name."""

    region_code: str
    name: str
    level: int
    children: list[Place] = field(default_factory=list)


@dataclass
class DirectoryIndex:
    """Units by (kind, region) for routing, and the places' names for resolving addresses."""

    by_kind_region: dict[tuple[str, str], list[UnitRef]] = field(default_factory=dict)
    by_code: dict[str, UnitRef] = field(default_factory=dict)
    roots: list[Place] = field(default_factory=list)
    places_by_level: dict[int, list[Place]] = field(default_factory=dict)

    @classmethod
    def build(cls, units: Iterable[UnitRef]) -> DirectoryIndex:
        """Index active units."""
        idx = cls()
        govs: list[UnitRef] = []
        for u in units:
            idx.by_code[u.code] = u
            idx.by_kind_region.setdefault((u.kind, u.region_code), []).append(u)
            if u.kind == "local_government":
                govs.append(u)
        for lst in idx.by_kind_region.values():
            lst.sort(key=lambda u: (u.level, u.code))
        places: dict[str, Place] = {}
        for g in sorted(govs, key=lambda u: u.level):
            parent = idx.by_code.get(g.parent_code or "")
            parent_place = places.get(parent.code) if parent else None
            p = Place(g.region_code, place_name(g.name, parent_place.name if parent_place else ""), g.level)
            places[g.code] = p
            if parent_place is not None:
                parent_place.children.append(p)
            else:
                idx.roots.append(p)
            idx.places_by_level.setdefault(g.level, []).append(p)
        return idx

    def sms_numbers(self, codes: Iterable[str]) -> dict[str, str]:
        """The SMS numbers of these units by code (a TicketDispatched's `unit_contacts`); one without is absent."""
        return {c: u.sms for c in codes if (u := self.by_code.get(c)) is not None and u.sms}

    def choose(self, kind: str, region_code: str | None, max_level: int = 4) -> UnitRef | None:
        """The unit of a kind nearest to the place: same region, else up the hierarchy, else any."""
        if region_code:
            for cut in range(len(region_code), 1, -1):
                for u in self.by_kind_region.get((kind, region_code[:cut]), ()):
                    if u.level <= max_level:
                        return u
        best: UnitRef | None = None
        for (k, _r), lst in self.by_kind_region.items():
            if k == kind and lst and (best is None or lst[0].level < best.level):
                best = lst[0]
        return best

    def resolve_place(self, text: str) -> tuple[str | None, list[str]]:
        """The most specific place named in free text (district, then street, then community)."""
        def names_in(cands: list[Place]) -> list[Place]:
            hits = [p for p in cands if len(p.name) >= 2 and p.name in text]
            return sorted(hits, key=lambda p: -len(p.name))

        chain: list[Place] = []
        level_cands = self.roots
        # The top level is the city itself; its name rarely narrows anything, so look below it too.
        hits = names_in(level_cands)
        if not hits:
            tops = [c for r in self.roots for c in r.children]
            hits = names_in(tops)
            if not hits:
                # no district named: a street or community name that is unique in the directory
                for lvl in (3, 4):
                    found = names_in(self.places_by_level.get(lvl, []))
                    if found and (len(found) == 1 or found[0].name != found[1].name):
                        return found[0].region_code, [f"place {found[0].region_code}: '{found[0].name}' in text"]
                return None, []
        chain.append(hits[0])
        while True:
            below = names_in(chain[-1].children)
            if not below:
                break
            chain.append(below[0])
        last = chain[-1]
        return last.region_code, [f"place {last.region_code}: " + " > ".join(f"'{p.name}'" for p in chain)
                                  + " in text"]
