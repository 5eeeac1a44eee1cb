"""Merge similarity on a corpus of true repeats and near-misses, and the LSH index (pure)."""

from __future__ import annotations

import numpy as np
from merge_corpus import NEAR_MISSES, TRUE_REPEATS

from intake_svc.adapters.merge_index import LshIndex, MergeIndex, MinHasher
from intake_svc.domain.similarity import shingles, similarity
from intake_svc.settings import IntakeSettings

THRESHOLD = IntakeSettings().merge_threshold


def test_true_repeats_score_above_threshold() -> None:
    scores = [similarity(shingles(a), shingles(b)) for a, b in TRUE_REPEATS]
    assert min(scores) >= THRESHOLD, scores


def test_near_misses_score_below_threshold() -> None:
    scores = [similarity(shingles(a), shingles(b)) for a, b in NEAR_MISSES]
    assert max(scores) < THRESHOLD, scores


def test_signatures_keep_their_stored_values() -> None:
    # stored tickets keep their signatures in the database: a change of hashing would silently stop old
    # tickets from being found as merge candidates (these values were computed with the original formula)
    sig = MinHasher(64).signature(shingles("小区门口烧烤摊油烟扰民，晚上十点以后还在营业"))
    assert sig[:8].tolist() == [2302575, 248648656, 353014267, 6583371, 141903838, 71836209, 33487693, 135541126]


def test_signatures_are_stable_across_instances() -> None:
    a = MinHasher(64).signature(shingles("小区门口烧烤摊油烟扰民"))
    b = MinHasher(64).signature(shingles("小区门口烧烤摊油烟扰民"))
    assert np.array_equal(a, b)


def test_lsh_finds_repeats_of_the_same_place_only() -> None:
    idx = MergeIndex(64, 32)
    for n, (a, _b) in enumerate(TRUE_REPEATS):
        _sh, sig = idx.signature(a)
        idx.add(f"T{n}", sig, "r:339901001")
    for n, (_a, b) in enumerate(TRUE_REPEATS):
        _sh, sig = idx.signature(b)
        assert idx.candidates(sig, "r:339901001", 3)[0] == f"T{n}"
        assert idx.candidates(sig, "r:339902001", 3) == []


def test_bulk_load_and_incremental_adds_agree() -> None:
    mh = MinHasher(64)
    sigs = np.stack([mh.signature(shingles(a)) for a, _ in TRUE_REPEATS])
    bulk, one = LshIndex(64, 32), LshIndex(64, 32, compact_every=3)
    bulk.add_many(np.arange(len(sigs)), sigs, np.full(len(sigs), 7, dtype=np.uint64))
    from intake_svc.adapters.merge_index import place_seed
    assert place_seed("x") != place_seed("y")
    for i, s in enumerate(sigs):
        one.add(i, s, "p")
    bulk2 = LshIndex(64, 32)
    bulk2.add_many(np.arange(len(sigs)), sigs, np.full(len(sigs), place_seed("p"), dtype=np.uint64))
    for i, s in enumerate(sigs):
        assert one.query(s, "p", 1) == [i] == bulk2.query(s, "p", 1)


def test_shared_band_keys_rank_by_bands_then_recency_before_and_after_compaction() -> None:
    mh = MinHasher(64)
    a = mh.signature(shingles("小区门口烧烤摊油烟扰民，晚上十点以后还在营业"))
    b = mh.signature(shingles("小区门口烧烤摊油烟很大，每天晚上营业到凌晨"))
    idx = LshIndex(64, 32, compact_every=10_000)
    idx.add(1, a, "p")
    idx.add(2, b, "p")
    idx.add(3, a, "p")  # the same text again: every band key now holds two ids
    idx.add(4, a, "q")  # another place never shows
    before = idx.query(a, "p", 5)
    assert before[:2] == [3, 1] and 4 not in before
    idx.compact()
    assert idx.query(a, "p", 5) == before
