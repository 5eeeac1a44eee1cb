"""并单, the pure rule: the same person about the same problem within 30 days (containment ≥ 0.33, no other matter),
or the same matter at the same building from anyone (similarity ≥ 0.45); a street alone is no place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from merge_corpus import NEAR_MISSES, TRUE_REPEATS, Item, distinct, reword

from intake_svc.domain.merging import MergePolicy, OpenTicket, find_repeat, merge_keys, place_key
from intake_svc.domain.similarity import containment, matters, shingles, similarity

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
POLICY = MergePolicy()  # the seed: threshold 0.45, 30 days, closed / answered / transferred take no repeats
PLACE = place_key("339901001", "和平路18号 工地")


@dataclass
class Request:
    shingles: set[str]
    matters: frozenset[str]
    phone_hash: str | None = None
    id_hash: str | None = None
    place: str | None = None


def ask(text: str, phone: str | None = None, place: str | None = None, id_hash: str | None = None) -> Request:
    return Request(shingles(text), matters(text), phone, id_hash, place)


def stored(ticket_no: str, text: str, *, phone: str | None = None, place: str | None = None,
           status: str = "received", days_ago: float = 1, id_hash: str | None = None) -> OpenTicket:
    return OpenTicket(ticket_no, shingles(text), phone, id_hash, place, status, NOW - timedelta(days=days_ago),
                      matters(text))


def test_the_seed_numbers() -> None:
    assert (POLICY.threshold, POLICY.person_threshold, POLICY.window_days) == (0.45, 0.33, 30)
    assert POLICY.window_start(NOW) == datetime(2026, 10, 24, 9, 30, tzinfo=UTC)
    assert not POLICY.is_open("answered") and POLICY.is_open("dispatched")


def test_the_same_person_reworded_merges_within_30_days_and_not_after() -> None:
    first, repeat = TRUE_REPEATS[0]  # 幸福小区门口的烧烤摊 … / 再次反映：幸福小区门口烧烤摊 …
    mine = stored("BC1", first, phone="h-138")
    m = find_repeat(ask(repeat, "h-138"), persons=[mine], places=[], now=NOW, policy=POLICY)
    assert m is not None and m.ticket_no == "BC1" and m.same_person and m.similarity >= 0.33
    assert m.similarity == containment(shingles(repeat), shingles(first))
    old = stored("BC1", first, phone="h-138", days_ago=31)
    assert find_repeat(ask(repeat, "h-138"), persons=[old], places=[], now=NOW, policy=POLICY) is None
    edge = stored("BC1", first, phone="h-138", days_ago=30)
    assert find_repeat(ask(repeat, "h-138"), persons=[edge], places=[], now=NOW, policy=POLICY) is not None


def test_the_same_person_by_id_number_and_not_about_another_matter() -> None:
    first, repeat = TRUE_REPEATS[1]  # 华联超市出售过期牛奶
    by_id = stored("BC2", first, id_hash="h-id")
    m = find_repeat(ask(repeat, id_hash="h-id"), persons=[by_id], places=[], now=NOW, policy=POLICY)
    assert m is not None and m.same_person
    a, b = NEAR_MISSES[0]  # the same supermarket, shared bikes on the pavement: another matter
    assert find_repeat(ask(b, "h-1"), persons=[stored("BC3", a, phone="h-1")], places=[], now=NOW,
                       policy=POLICY) is None


def test_a_candidate_of_someone_else_is_not_the_same_person() -> None:
    first, repeat = TRUE_REPEATS[2]
    other = stored("BC4", first, phone="h-other")  # no place on either: strangers never merge
    assert find_repeat(ask(repeat, "h-me"), persons=[other], places=[other], now=NOW, policy=POLICY) is None


def test_different_people_merge_only_at_the_same_exact_place() -> None:
    first, repeat = TRUE_REPEATS[6]  # 和平路工地夜间施工 …
    there = stored("BC5", first, phone="h-a", place=PLACE)
    m = find_repeat(ask(repeat, "h-b", PLACE), persons=[], places=[there], now=NOW, policy=POLICY)
    assert m is not None and m.ticket_no == "BC5" and not m.same_person
    elsewhere = place_key("339901001", "和平路20号 工地")
    assert find_repeat(ask(repeat, "h-b", elsewhere), persons=[], places=[there], now=NOW, policy=POLICY) is None
    # the same place but another matter (渣土车撒漏, not 夜间施工): a new ticket
    a, b = NEAR_MISSES[6]
    assert find_repeat(ask(b, "h-b", PLACE), persons=[], places=[stored("BC6", a, place=PLACE)], now=NOW,
                       policy=POLICY) is None


def test_the_same_place_has_no_30_day_window_but_closed_tickets_take_no_repeats() -> None:
    first, repeat = TRUE_REPEATS[4]  # 长江小区垃圾站 …
    long_ago = stored("BC7", first, place=PLACE, days_ago=80)
    assert find_repeat(ask(repeat, place=PLACE), persons=[], places=[long_ago], now=NOW, policy=POLICY) is not None
    for status in ("closed", "answered", "transferred"):
        done = stored("BC8", first, place=PLACE, status=status)
        assert find_repeat(ask(repeat, place=PLACE), persons=[], places=[done], now=NOW, policy=POLICY) is None
        mine = stored("BC8", first, phone="h-1", status=status)
        assert find_repeat(ask(repeat, "h-1"), persons=[mine], places=[], now=NOW, policy=POLICY) is None


def test_the_same_person_is_asked_first_then_the_best_score_wins() -> None:
    first, repeat = TRUE_REPEATS[3]  # 光明花园3栋楼顶漏水
    mine = stored("BC-mine", first, phone="h-1")
    same_words_there = stored("BC-there", repeat, place=PLACE)  # scores higher (identical text), but not theirs
    m = find_repeat(ask(repeat, "h-1", PLACE), persons=[mine], places=[same_words_there], now=NOW, policy=POLICY)
    assert m is not None and m.ticket_no == "BC-mine"
    weaker = stored("BC-a", first, place=PLACE)
    stronger = stored("BC-b", repeat, place=PLACE)
    tie = stored("BC-c", repeat, place=PLACE)
    m = find_repeat(ask(repeat, place=PLACE), persons=[], places=[weaker, stronger, tie], now=NOW, policy=POLICY)
    assert m is not None and m.ticket_no == "BC-b"  # the best; on a tie the earlier candidate
    # found at the place, and it happens to be the same phone: counted as the same person
    theirs_there = stored("BC-d", first, phone="h-2", place=PLACE, days_ago=45)
    m = find_repeat(ask(repeat, "h-2", PLACE), persons=[theirs_there], places=[theirs_there], now=NOW,
                    policy=POLICY)
    assert m is not None and m.same_person


def test_below_the_threshold_is_a_new_ticket_and_merging_can_be_switched_off() -> None:
    a, b = NEAR_MISSES[4]  # 新生儿医保 / 灵活就业养老保险: alike words, another matter
    assert similarity(shingles(a), shingles(b)) < 0.45
    assert find_repeat(ask(b, "h-1"), persons=[stored("BC9", a, phone="h-1")], places=[], now=NOW,
                       policy=POLICY) is None
    first, repeat = TRUE_REPEATS[0]
    off = MergePolicy(enabled=False)
    assert find_repeat(ask(repeat, "h-1"), persons=[stored("BC1", first, phone="h-1")], places=[], now=NOW,
                       policy=off) is None


def test_place_key_is_the_building_never_the_region_alone() -> None:
    assert place_key("339901001", None) is None  # a street is no place: thousands of matters share it
    assert place_key("339901001", "建设路 88 号") == "a:339901001:建设路88号"
    assert place_key(None, "建设路 88 号 华联超市") == "a::建设路88号华联超市"
    assert place_key(None, "Jianshe Rd 88") == "a::jiansherd88"
    # one building however it is spelt; the room, unit and floor are below it
    same = {place_key("3399", a) for a in ("光明花园3栋", "光明花园三栋", "光明花园 3 号楼", "光明花园3幢2单元501室",
                                            "光明花园３栋１２层")}
    assert same == {"a:3399:光明花园3栋"}
    assert place_key("3399", "光明花园13栋") != place_key("3399", "光明花园3栋")
    # coordinates without an address: a cell of about 50 m
    assert place_key(None, None, 114.30512, 30.59301) == place_key(None, None, 114.30518, 30.59305)
    assert place_key(None, None, 114.30512, 30.59301) != place_key(None, None, 114.30712, 30.59301)
    assert place_key(None, None) is None


def _run(items: list[Item]) -> tuple[int, int, list[tuple[Item, Item]]]:
    """Register items in order through the rule (candidates narrowed by phone and place, as the store does).

    Returns (false merges, the same person's repeats merged, the merges) against the generator's labels.
    """
    by_phone: dict[str, list[tuple[OpenTicket, Item]]] = {}
    by_place: dict[str | None, list[tuple[OpenTicket, Item]]] = {}
    of: dict[str, Item] = {}
    false = found = 0
    merges: list[tuple[Item, Item]] = []
    for n, it in enumerate(items):
        place = place_key("339901", it.address)
        req = ask(it.text, it.phone, place)
        m = find_repeat(req, persons=[t for t, _ in by_phone.get(it.phone, [])],
                        places=[t for t, _ in by_place.get(place, [])], now=NOW, policy=POLICY)
        if m is None:
            t = stored(f"BC{n}", it.text, phone=it.phone, place=place, days_ago=0)
            of[t.ticket_no] = it
            by_phone.setdefault(it.phone, []).append((t, it))
            by_place.setdefault(place, []).append((t, it))
            continue
        into = of[m.ticket_no]
        merges.append((it, into))
        if into.address != it.address or into.matter != it.matter:
            false += 1
        elif into.phone == it.phone:
            found += 1
    return false, found, merges


def test_at_volume_distinct_people_stay_apart_and_the_same_persons_rewordings_merge() -> None:
    # the evaluation pool (places, matters, phrasings) and seeds the thresholds were NOT chosen on (tuning used
    # the "tune" pool, seeds 1 and 2)
    for seed in (7, 8):
        people = distinct(2000, "eval", seed)
        again = [reword(people[i * 10], "eval", seed * 1000 + i) for i in range(200)]
        false, found, _ = _run(people + again)
        assert false / 2200 <= 0.005, (seed, false)
        assert found / 200 >= 0.95, (seed, found)


def test_look_alikes_that_must_not_merge_and_rewordings_that_must() -> None:
    people = distinct(400, "eval", 11)
    a = people[0]
    # two neighbours on the same street, same matter, different buildings: never one ticket
    b = next(p for p in people if p.address != a.address and p.matter == a.matter
             and p.address.startswith(a.address[:4]))
    # two people about different matters in one building
    same_building = Item(people[1].text.replace(people[1].address, a.address), "p-x", a.address, people[1].matter)
    assert people[1].matter != a.matter
    for other in (b, same_building):
        assert _run([a, other])[2] == [], (a.text, other.text)
    # the same person's short app rewording merges, even a third the length
    short = reword(a, "eval", 99)
    assert len(short.text) * 2 < len(a.text)
    false, found, _ = _run([a, b, short])
    assert (false, found) == (0, 1)
    # the same person about another matter of the same building: a new ticket
    other_matter = reword(Item(a.text, a.phone, a.address, people[1].matter), "eval", 5)
    assert _run([a, other_matter])[2] == []


def test_different_people_about_one_matter_at_one_building_merge() -> None:
    first = ("您好，我是城关街道幸福小区3栋的居民，我们楼的电梯这个月已经坏了五次，有一次把老人困在里面半个多小时，"
             "物业只是简单修一下，希望相关部门尽快处理，谢谢。")
    second = ("你好，我住幸福小区三栋，楼里电梯这个月坏了五次了，上周还把一位老人困在里面半个多小时，物业简单修修就走，"
              "麻烦有关部门来看一下，谢谢！")
    here = place_key("339901", "幸福小区3栋")
    assert here == place_key("339901", "幸福小区三栋 2单元")
    m = find_repeat(ask(second, "h-b", here), persons=[], places=[stored("BC1", first, phone="h-a", place=here)],
                    now=NOW, policy=POLICY)
    assert m is not None and not m.same_person
    # the same words about building 4 of the same estate: another ticket
    there = place_key("339901", "幸福小区4栋")
    assert find_repeat(ask(second, "h-b", there), persons=[], places=[stored("BC1", first, phone="h-a", place=here)],
                       now=NOW, policy=POLICY) is None


def test_merge_keys_are_the_person_and_the_exact_place() -> None:
    @dataclass
    class Req:
        shingles: set[str]
        matters: frozenset[str]
        phone_hash: str | None
        id_hash: str | None
        place: str | None

    assert merge_keys(Req(set(), frozenset(), "ph", "id", "a:339901001:东湖路88号3栋")) == [
        "p:ph", "i:id", "a:a:339901001:东湖路88号3栋"]
    # an anonymous request without an address merges with nothing: nothing to wait for
    assert merge_keys(Req(set(), frozenset(), None, None, None)) == []
    # two requests that can merge share a key (the same phone), two strangers at two places share none
    a, b = Req(set(), frozenset(), "ph", None, "a::x"), Req(set(), frozenset(), "ph", None, "a::y")
    assert set(merge_keys(a)) & set(merge_keys(b))
    assert not set(merge_keys(Req(set(), frozenset(), "p1", None, "a::x"))) & set(
        merge_keys(Req(set(), frozenset(), "p2", None, "a::y")))
