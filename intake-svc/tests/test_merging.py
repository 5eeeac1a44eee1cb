"""并单, the pure rule: the same person about the same problem within 30 days, or the same matter at the same place
from anyone; different people at different places never merge (threshold 0.45, window 30 days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from merge_corpus import NEAR_MISSES, TRUE_REPEATS

from intake_svc.domain.merging import MergePolicy, OpenTicket, find_repeat, place_key
from intake_svc.domain.similarity import shingles, similarity

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
POLICY = MergePolicy()  # the seed: threshold 0.45, 30 days, closed / answered / transferred take no repeats
PLACE = place_key("339901001", None)


@dataclass
class Request:
    shingles: set[str]
    phone_hash: str | None = None
    id_hash: str | None = None
    place: str | None = None


def ask(text: str, phone: str | None = None, place: str | None = None, id_hash: str | None = None) -> Request:
    return Request(shingles(text), phone, id_hash, place)


def stored(ticket_no: str, text: str, *, phone: str | None = None, place: str | None = None,
           status: str = "received", days_ago: float = 1, id_hash: str | None = None) -> OpenTicket:
    return OpenTicket(ticket_no, shingles(text), phone, id_hash, place, status, NOW - timedelta(days=days_ago))


def test_the_seed_numbers() -> None:
    assert (POLICY.threshold, POLICY.window_days) == (0.45, 30)
    assert POLICY.window_start(NOW) == datetime(2026, 10, 24, 9, 30, tzinfo=UTC)
    assert not POLICY.is_open("answered") and POLICY.is_open("dispatched")


def test_the_same_person_reworded_merges_within_30_days_and_not_after() -> None:
    first, repeat = TRUE_REPEATS[0]  # 幸福小区门口的烧烤摊 … / 再次反映：幸福小区门口烧烤摊 …
    mine = stored("BC1", first, phone="h-138")
    m = find_repeat(ask(repeat, "h-138"), persons=[mine], places=[], now=NOW, policy=POLICY)
    assert m is not None and m.ticket_no == "BC1" and m.same_person and m.similarity >= 0.45
    assert m.similarity == similarity(shingles(repeat), shingles(first))
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
    elsewhere = place_key("339902001", None)
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


def test_place_key_is_the_region_code_else_the_normalised_address() -> None:
    assert place_key("339901001", "建设路 88 号") == "r:339901001"
    assert place_key(None, "建设路 88 号 华联超市") == "a:建设路88号华联超市"
    assert place_key(None, "Jianshe Rd 88") == "a:jiansherd88"
    assert place_key(None, None) is None
