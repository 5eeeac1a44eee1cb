"""并单 by hand and possible repeats, the pure rules: which uncertain pairs are suggested (realistic ~200-character
requests from merge_corpus), what an operator may merge, unmerge or reject, and the lines both timelines get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from merge_corpus import Item, distinct, reword

from bancheng_shared.contracts.limits import NAME_MAX, REASON_MAX
from bancheng_shared.errors import Problem
from intake_svc.domain import access, open311, remerge, timeline
from intake_svc.domain.merging import MERGED, MergePolicy, OpenTicket, find_possible, find_repeat, place_key
from intake_svc.domain.similarity import containment, matters, shingles, similarity
from intake_svc.models import TicketCreate

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
POLICY = MergePolicy()


@dataclass
class Request:
    shingles: set[str]
    matters: frozenset[str]
    phone_hash: str | None = None
    id_hash: str | None = None
    place: str | None = None


def ask(it: Item, place: str | None = None) -> Request:
    return Request(shingles(it.text), matters(it.text), it.phone, None, place)


def stored(no: str, it: Item, place: str | None = None, status: str = "received", days_ago: float = 1) -> OpenTicket:
    return OpenTicket(no, shingles(it.text), it.phone, None, place, status, NOW - timedelta(days=days_ago),
                      matters(it.text))


def uncertain_neighbours(seed: int = 21) -> tuple[Item, Item]:
    """Two people about one matter in one building whose words are alike but not enough to merge (0.30–0.45)."""
    people = distinct(300, "eval", seed)
    for a in people:
        for b in people:
            if b is a or b.matter != a.matter or a.address not in a.text or b.address not in b.text:
                continue
            other = Item(b.text.replace(b.address, a.address), b.phone, a.address, b.matter)
            if POLICY.possible_threshold <= similarity(shingles(a.text), shingles(other.text)) < POLICY.threshold:
                return a, other
    raise AssertionError("the corpus has no uncertain pair")


def uncertain_rewording(seed: int = 31) -> tuple[Item, Item]:
    """The same person's short rewording that keeps less than a third of the words (0.20–0.33 containment)."""
    people = distinct(300, "eval", seed)
    for n, a in enumerate(people):
        short = reword(a, "eval", seed * 1000 + n)
        if 0.20 <= containment(shingles(short.text), shingles(a.text)) < 0.33:
            return a, short
    raise AssertionError("the corpus has no uncertain rewording")


def test_the_numbers_are_settings_with_the_seed_defaults() -> None:
    assert (POLICY.possible_threshold, POLICY.person_possible_threshold, POLICY.possible_max) == (0.30, 0.20, 3)
    assert not POLICY.is_open(MERGED) and MERGED in POLICY.not_open and "closed" in POLICY.not_open


def test_an_uncertain_pair_at_one_building_is_a_possible_repeat_not_a_merge() -> None:
    a, b = uncertain_neighbours()
    assert len(a.text) > 120 and len(b.text) > 120
    here = place_key("339901", a.address)
    first = stored("BC1", a, here)
    assert find_repeat(ask(b, here), persons=[], places=[first], now=NOW, policy=POLICY) is None
    found = find_possible(ask(b, here), persons=[], places=[first], now=NOW, policy=POLICY)
    assert [(m.ticket_no, m.same_person) for m in found] == [("BC1", False)]
    assert POLICY.possible_threshold <= found[0].similarity < POLICY.threshold
    # the same words about another building, or a closed or merged ticket: nothing to suggest
    there = place_key("339901", a.address.replace("栋", "0栋"))
    assert find_possible(ask(b, there), persons=[], places=[first], now=NOW, policy=POLICY) == []
    for status in ("closed", MERGED):
        done = stored("BC1", a, here, status=status)
        assert find_possible(ask(b, here), persons=[], places=[done], now=NOW, policy=POLICY) == []
    # switched off with merging, and none with a raised floor
    assert find_possible(ask(b, here), persons=[], places=[first], now=NOW, policy=MergePolicy(enabled=False)) == []
    assert find_possible(ask(b, here), persons=[], places=[first], now=NOW,
                         policy=MergePolicy(possible_threshold=0.45)) == []


def test_another_matter_in_the_same_building_is_not_suggested() -> None:
    people = distinct(300, "eval", 5)
    a = people[0]
    other = next(p for p in people if p.matter != a.matter and p.address in p.text)
    moved = Item(other.text.replace(other.address, a.address), other.phone, a.address, other.matter)
    here = place_key("339901", a.address)
    assert find_possible(ask(moved, here), persons=[], places=[stored("BC1", a, here)], now=NOW,
                         policy=POLICY) == []


def test_the_same_persons_thin_rewording_is_suggested_and_another_matter_is_not() -> None:
    a, short = uncertain_rewording()
    mine = stored("BC1", a)
    assert find_repeat(ask(short), persons=[mine], places=[], now=NOW, policy=POLICY) is None
    found = find_possible(ask(short), persons=[mine], places=[], now=NOW, policy=POLICY)
    assert [(m.ticket_no, m.same_person) for m in found] == [("BC1", True)]
    # older than the window: not the same open matter any more
    assert find_possible(ask(short), persons=[stored("BC1", a, days_ago=31)], places=[], now=NOW,
                         policy=POLICY) == []
    # the same person about another matter (matter words disagree): no suggestion
    people = distinct(300, "eval", 31)
    other = next(p for p in people if p.matter != a.matter)
    theirs = reword(Item(a.text, a.phone, a.address, other.matter), "eval", 77)
    assert find_possible(ask(theirs), persons=[mine], places=[], now=NOW, policy=POLICY) == []


def test_at_volume_suggestions_are_few_for_distinct_people_and_mostly_right() -> None:
    # 2,000 distinct people of the evaluation pool: how many get a possible repeat that is another matter
    people = distinct(2000, "eval", 41)
    by_place: dict[str | None, list[tuple[OpenTicket, Item]]] = {}
    wrong = right = 0
    for n, it in enumerate(people):
        here = place_key("339901", it.address)
        cands = by_place.get(here, [])
        if find_repeat(ask(it, here), persons=[], places=[t for t, _ in cands], now=NOW, policy=POLICY) is None:
            for m in find_possible(ask(it, here), persons=[], places=[t for t, _ in cands], now=NOW, policy=POLICY):
                wrong += next(i for t, i in cands if t.ticket_no == m.ticket_no).matter != it.matter
                right += next(i for t, i in cands if t.ticket_no == m.ticket_no).matter == it.matter
        by_place.setdefault(here, []).append((stored(f"BC{n}", it, here), it))
    assert wrong / 2000 <= 0.005, wrong
    assert right > wrong, (right, wrong)  # and they do find the same matter


def test_at_most_the_best_few_are_suggested_the_same_person_first() -> None:
    a, b = uncertain_neighbours()
    here = place_key("339901", a.address)
    many = [stored(f"BC{n}", a, here) for n in range(5)]
    found = find_possible(ask(b, here), persons=[], places=many, now=NOW, policy=POLICY)
    assert len(found) == 3 and [m.ticket_no for m in found] == ["BC0", "BC1", "BC2"]
    x, short = uncertain_rewording()
    mine = stored("BC-mine", x)
    req = Request(shingles(short.text), matters(short.text), x.phone, None, here)
    found = find_possible(req, persons=[mine], places=[stored("BC-there", a, here)], now=NOW, policy=POLICY)
    assert found[0].ticket_no == "BC-mine" and found[0].same_person


def _t(no: str, status: str = "dispatched", merged_into: str | None = None, repeats: int = 0) -> remerge.TicketState:
    return remerge.TicketState(no, status, timeline.STATUS_LABELS.get(status, status), merged_into, repeats)


def _refused(fn: object, *args: object) -> Problem:
    with pytest.raises(Problem) as info:
        fn(*args)  # type: ignore[operator]
    return info.value


def test_what_an_operator_may_merge() -> None:
    remerge.check_merge(_t("A"), _t("B", "signed", repeats=4), POLICY)  # open into open: fine
    assert _refused(remerge.check_merge, _t("A"), _t("A"), POLICY).status == 422
    p = _refused(remerge.check_merge, _t("A", MERGED, "C"), _t("B"), POLICY)
    assert (p.status, p.type_, p.extra["merged_into"]) == (409, "already-merged", "C")
    p = _refused(remerge.check_merge, _t("A"), _t("B", MERGED, "C"), POLICY)
    assert (p.status, p.type_) == (409, "merge-refused") and "merge into C" in p.detail
    for status in ("closed", "answered", "transferred"):
        assert _refused(remerge.check_merge, _t("A", status), _t("B"), POLICY).type_ == "ticket-closed"
        assert _refused(remerge.check_merge, _t("A"), _t("B", status), POLICY).type_ == "ticket-closed"
    p = _refused(remerge.check_merge, _t("A", repeats=2), _t("B"), POLICY)
    assert p.type_ == "merge-refused" and "unmerge them first" in p.detail


def test_the_merge_score_is_the_automatic_rules() -> None:
    a, b = uncertain_neighbours()
    assert remerge.merge_score(b.text, a.text, False) == round(similarity(shingles(b.text), shingles(a.text)), 4)
    assert remerge.merge_score(b.text, a.text, True) == round(containment(shingles(b.text), shingles(a.text)), 4)
    assert remerge.same_person("h1", None, "h1", "i2") and remerge.same_person(None, "i1", "h9", "i1")
    assert not remerge.same_person(None, None, None, None) and not remerge.same_person("h1", None, "h2", None)


def test_an_unmerge_happens_once() -> None:
    p = _refused(remerge.check_unmerge, None, "BC1", 3)
    assert (p.status, p.type_) == (404, "unknown-repeat")
    done = remerge.RepeatState("BC1", 3, "BC9", NOW)
    p = _refused(remerge.check_unmerge, done, "BC1", 3)
    assert (p.status, p.type_, p.extra["ticket_no"]) == (409, "already-unmerged", "BC9") and "BC9" in p.detail
    fresh = remerge.RepeatState("BC1", 3, None, None)
    assert remerge.check_unmerge(fresh, "BC1", 3) is fresh
    assert remerge.unmerged_twice("BC1", 3).type_ == "already-unmerged"


def test_a_possible_repeat_is_rejected_once_while_open() -> None:
    remerge.check_reject("open", "A", "B")
    assert _refused(remerge.check_reject, None, "A", "B").type_ == "unknown-repeat"
    for state in ("confirmed", "rejected", "dropped"):
        p = _refused(remerge.check_reject, state, "A", "B")
        assert (p.status, p.type_, p.extra["state"]) == (409, "possible-repeat-decided", state)


def test_a_request_is_rebuilt_from_what_was_kept() -> None:
    a, _ = uncertain_neighbours()
    body = remerge.request_of(channel="app", content=a.text, phone="13912345678", name="王女士",
                              region_code="339901001", address=a.address, attachments=None)
    t = TicketCreate.model_validate(body)
    assert t.complainant is not None and t.complainant.phone == "13912345678" and t.location is not None
    assert t.location.address == a.address and t.attachments == []
    anon = TicketCreate.model_validate(remerge.request_of(channel="hotline", content=a.text, anonymous=True))
    assert anon.complainant is not None and anon.complainant.anonymous and anon.location is None


def test_both_timelines_name_who_and_why_within_the_label_limit() -> None:
    who, why = "张" * NAME_MAX, "理" * REASON_MAX
    for label in (timeline.merged_away_label("BC2", who, why), timeline.merged_in_label("BC1", 3, who, why),
                  timeline.unmerged_label(3, "BC9", who, why), timeline.split_label("BC1", who, why),
                  timeline.rejected_label("BC2", who, why)):
        assert len(label) <= timeline.LABEL_MAX and "操作人" in label
    short = timeline.merged_in_label("BC1", 3, "话务员甲", "同一小区同一部电梯")
    assert "BC1" in short and "话务员甲" in short and "同一小区同一部电梯" in short
    assert "BC2" in timeline.merged_public_label("BC2") and "操作人" not in timeline.merged_public_label("BC2")
    assert "BC7" in timeline.possible_repeat_label("BC7", 0.4, False)
    assert timeline.STATUS_LABELS[MERGED] == "已并单"


def test_a_merged_ticket_takes_no_follow_up_and_reads_closed_in_open311() -> None:
    with pytest.raises(Problem) as info:
        access.check_takes_follow_ups("BC1", MERGED, "已并单", ["closed"])
    assert info.value.type_ == "ticket-closed"
    access.check_takes_follow_ups("BC1", "dispatched", "已交办", ["closed"])
    assert open311.status_of(MERGED, ["closed"]) == "closed" and open311.status_of("signed", ["closed"]) == "open"
