"""Search, the pure part (domain/search.py): normalisation of text, names and phones, reading `q`, excerpts and their
masking, who may search by a person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bancheng_shared.errors import Problem
from bancheng_shared.principal import Role
from intake_svc.domain.search import (
    SEPARATOR,
    SearchQuery,
    check_person_search,
    excerpt,
    fts_phrase,
    like_pattern,
    mask_excerpt,
    normalize_name,
    normalize_text,
    parse_query,
    phone_forms,
    search_text,
)
from intake_svc.domain.ticket_numbers import new_ticket_no


def test_text_is_folded_and_stripped_of_spaces_and_punctuation() -> None:
    assert normalize_text("您好，我要反映一个问题：幸福小区 3 栋电梯！") == "您好我要反映一个问题幸福小区3栋电梯"
    assert normalize_text("ＡＢＣ１２３ 小区") == "abc123小区"  # full width → half width, case folded
    assert normalize_text(None) == "" and normalize_text("，。！") == ""


def test_search_text_keeps_its_parts_apart() -> None:
    body = search_text("电梯", "故障", None, "又坏了")
    assert body.split(SEPARATOR) == ["电梯", "故障", "又坏了"]
    assert "梯故" not in body  # no match across the title and the content


def test_names_are_normalised_before_hashing() -> None:
    assert normalize_name(" 张 三 ") == normalize_name("张三") == "张三"
    assert normalize_name("ＬＩ Ｍｉｎｇ") == "liming"
    assert normalize_name("   ") is None and normalize_name(None) is None


@pytest.mark.parametrize(("raw", "forms"), [
    ("13800138000", ("13800138000",)),
    ("138 0013 8000", ("13800138000",)),
    ("138-0013-8000", ("13800138000",)),
    ("+86 138 0013 8000", ("13800138000",)),
    ("(0571) 8888 8888", ("057188888888", "0571-88888888")),
    ("010-62345678", ("01062345678", "010-62345678")),
    ("400-123-4567", ("4001234567", "400-123-4567")),
])
def test_phone_forms_cover_what_registration_may_have_stored(raw: str, forms: tuple[str, ...]) -> None:
    found = phone_forms(raw)
    assert found[0] == forms[0] and set(forms) <= set(found)  # another dash position may be tried too: harmless


@pytest.mark.parametrize("raw", ["电梯", "1380013800", "12345", "138001380001", "", "abc"])
def test_what_is_no_phone_number_has_no_forms(raw: str) -> None:
    assert phone_forms(raw) == ()


def test_like_and_fts_escape_what_would_be_syntax() -> None:
    assert like_pattern("100%_a\\") == "%100\\%\\_a\\\\%"
    assert fts_phrase('幸福"小区') == '"幸福""小区"'


def test_q_is_split_into_normalised_terms() -> None:
    q = parse_query("  幸福小区  电梯，  电梯 ", may_see_pii=True)
    assert q == SearchQuery(terms=("幸福小区", "电梯"), name=None)
    assert q.indexed_terms == ("幸福小区",) and q.short_terms == ("电梯",)
    assert parse_query("，。 ！", may_see_pii=True) is None


def test_a_phone_q_asks_for_the_person_only_of_a_role_that_may_see_pii() -> None:
    staff = parse_query("138 0013 8000", may_see_pii=True)
    assert staff is not None and staff.phones == ("13800138000",) and staff.terms == ("13800138000",)
    masked = parse_query("138 0013 8000", may_see_pii=False)
    assert masked is not None and masked.phones == () and masked.terms == ("138", "0013", "8000")


def test_a_name_q_asks_for_the_name_hash_and_the_text() -> None:
    q = parse_query("张三", may_see_pii=True)
    assert q is not None and q.name == "张三" and q.terms == ("张三",)
    assert parse_query("张三", may_see_pii=False) == SearchQuery(terms=("张三",))
    long_words = parse_query("幸福小区电梯坏了好几天", may_see_pii=True)
    assert long_words is not None and long_words.name is None  # longer than a name


def test_a_ticket_number_q_asks_for_that_ticket() -> None:
    no = new_ticket_no(datetime(2026, 12, 5, 4, tzinfo=UTC), rnd=12345)
    q = parse_query(f" {no.lower()} ", may_see_pii=False)
    assert q is not None and q.ticket_no == no and q.terms == (no.lower(),)
    assert parse_query("幸福小区", may_see_pii=True).ticket_no is None  # type: ignore[union-attr]


def test_excerpt_is_cut_around_the_first_hit() -> None:
    content = "您好，我要反映一个问题。" * 5 + "幸福小区3栋的电梯已经坏了一个星期，老人上下楼很不方便。" + "谢谢。" * 20
    cut = excerpt(content, ("电梯",), 30)
    assert "电梯" in cut and cut.startswith("…") and cut.endswith("…") and len(cut) == 32
    assert excerpt("短的内容", ("电梯",), 30) == "短的内容"
    assert excerpt(content, ("没有的词",), 30).startswith("您好")


def test_masked_excerpt_hides_numbers_and_the_name() -> None:
    text = "我叫李建国，电话13912345678，座机0571-88886666，身份证11010519491231002X，李建国家门口漏水"
    masked = mask_excerpt(text, "李建国")
    assert "13912345678" not in masked and "139****5678" in masked
    assert "88886666" not in masked and "11010519491231002X" not in masked and "1101**********002X" in masked
    assert "李建国" not in masked and "李**" in masked
    assert mask_excerpt("幸福小区电梯坏了", None) == "幸福小区电梯坏了"


def test_only_roles_that_may_see_pii_search_by_a_person() -> None:
    for role in (Role.operator, Role.work_team, Role.inspector, Role.admin):
        check_person_search(role, phone="13800138000", name="张三")
    for role in (Role.unit, Role.leader, Role.supervision_office):
        check_person_search(role, phone=None, name=None)
        with pytest.raises(Problem) as exc:
            check_person_search(role, phone="13800138000", name=None)
        assert exc.value.status == 403 and "'phone'" in exc.value.detail
