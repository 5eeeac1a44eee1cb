"""The simulation's generator: deterministic, labels consistent, real variety, look-alikes present."""

from __future__ import annotations

from collections import Counter

from bancheng_services.simulate.generator import generate


def test_same_seed_same_items_other_seed_other_items() -> None:
    a, b, c = generate(200, seed=1), generate(200, seed=1), generate(200, seed=2)
    assert [i.as_dict() for i in a] == [i.as_dict() for i in b]
    assert [i.content for i in a] != [i.content for i in c]


def test_labels_are_consistent() -> None:
    items = generate(500, days=2)
    by_id = {i.id: i for i in items}
    assert len(by_id) == len(items)
    seen: set[str] = set()
    for i in items:
        if i.merge_with is not None:
            base = by_id[i.merge_with]
            assert base.id in seen, "a repeat comes after the request it repeats"
            assert base.day == i.day and base.address == i.address and base.channel != i.channel
            assert (i.phone == base.phone) == i.same_person == (i.kind == "repeat_same")
        seen.add(i.id)
        assert i.min_tier in ("green", "yellow", "red")
        if i.kind in ("conduct", "corruption"):
            assert i.min_tier == "red"
        if i.kind == "mass":
            assert i.min_tier == "yellow"
        if i.kind in ("petition", "legal"):
            assert i.route == i.kind
        if i.kind in ("lookalike", "complaint", "conduct", "mass", "multi_unit"):
            assert i.route == "dispatch"
    assert len({i.phone for i in items if not i.same_person}) == sum(1 for i in items if not i.same_person)


def test_variety_of_texts_places_and_kinds() -> None:
    items = generate(500)
    kinds = Counter(i.kind for i in items)
    assert set(kinds) >= {"complaint", "repeat_same", "same_place_other", "consult", "petition", "legal", "lookalike",
                          "conduct", "corruption", "mass", "multi_unit"}
    assert len({i.content for i in items}) >= 0.98 * len(items)
    assert len({i.address for i in items}) >= 0.8 * len(items)
    assert len({i.region_code for i in items}) >= 50
    assert max(i.units_needed for i in items) >= 4
    mean = sum(len(i.content) for i in items if i.kind == "complaint") / kinds["complaint"]
    assert 120 <= mean <= 300
    looks = [i for i in items if i.kind == "lookalike"]
    assert looks and all(any(w in i.content for w in ("法院", "起诉", "信访", "律师")) for i in looks)
    assert any(w in i.content for i in items for w in ("推诿", "吃拿卡要", "暴力执法"))


def test_a_city_day_is_about_ten_thousand() -> None:
    assert 9_500 <= len(generate(10_000)) <= 10_500
