"""Classification (pure): catalogue rules plus a learned character n-gram model and the work team's
corrections. Every decision carries its reasons."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bancheng_shared.contracts.vocab import Category, Domain, Route
from triage_svc.domain import cues as cue_sets
from triage_svc.domain.tiers import DEFAULT_TIER_RULES

ROUTE_TARGET_KIND = {Route.petition: "petition", Route.legal: "political_legal"}
_CLAUSE_MARKS = "，,。；;！!？?、\n"  # where a clause ends
# the words that join one matter to the next ("…占了人行道，还有…"); the catalogue's `co_unit_connectives`
DEFAULT_CONNECTIVES = ("还有", "并且", "而且", "另外", "同时", "此外", "再一个", "除了这个")


def clause_pattern(connectives: tuple[str, ...] = DEFAULT_CONNECTIVES) -> re.Pattern[str]:
    """Where a request's clauses end: clause punctuation (、，；。！？) and the connectives that join one matter
    to the next (还有, 并且, 而且 …)."""
    pattern = "[" + re.escape(_CLAUSE_MARKS) + "]+"
    if connectives:
        pattern += "|" + "|".join(re.escape(w) for w in sorted(connectives, key=len, reverse=True))
    return re.compile(pattern)


_DEFAULT_SPLIT = clause_pattern()


def clauses(text: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    """The clauses of a request (cut where `pattern`, by default `clause_pattern()`, matches)."""
    return [p for p in (pattern or _DEFAULT_SPLIT).split(text) if p.strip()]


def ngrams(text: str, n_min: int = 1, n_max: int = 3) -> set[str]:
    """Distinct character n-grams of a text (whitespace and punctuation kept out)."""
    # lists rather than generators: a third faster, and the set is filled in the same order
    t = "".join([ch for ch in text if ch.isalnum()])
    out: set[str] = set()
    for n in range(n_min, n_max + 1):
        out.update([t[i : i + n] for i in range(len(t) - n + 1)])
    return out


def _model_grams(s: str) -> list[str]:
    """The model's features: character 1- and 2-grams (with 3-grams it cross-validated slightly worse)."""
    return list(ngrams(s, 1, 2))


@dataclass
class Correction:
    """A decision the work team corrected: the next similar request follows it."""

    id: int
    grams: frozenset[str]
    kind: str | None
    category: str | None
    route: str | None
    reason: str


@dataclass
class NgramModel:
    """A linear model over tf-idf weighted binary character n-grams (trained with scikit-learn, scored with numpy).

    A request's score for a class is ``sum(weights[g]) / sqrt(sum(idf2[g])) + bias`` over its known n-grams:
    the idf is folded into ``weights``, so scoring needs no sparse matrices."""

    classes: list[str]
    vocab: dict[str, int]
    weights: np.ndarray  # (features, classes), idf already multiplied in
    bias: np.ndarray
    terms: list[str] = field(default_factory=list)
    temperature: float = 1.0
    idf2: np.ndarray = field(default_factory=lambda: np.zeros(0))  # squared idf per feature (l2 norm)

    @classmethod
    def train(cls, texts: list[str], labels: list[str], sample_weight: list[float] | None = None,
              temperature: float = 1.0, c: float = 1.0) -> NgramModel | None:
        """Fit a linear SVM on l2-normalised tf-idf n-grams (well under a second for a few thousand
        requests, so it retrains on every correction); None without data."""
        if len(set(labels)) < 2:
            return None
        from scipy.sparse import csr_matrix
        from sklearn.svm import LinearSVC

        # binary n-gram presence, idf-weighted (smooth idf as scikit-learn's TfidfTransformer), rows l2-normalised
        vocab: dict[str, int] = {}
        indices: list[int] = []
        indptr = [0]
        for text in texts:
            indices.extend(vocab.setdefault(g, len(vocab)) for g in _model_grams(text))
            indptr.append(len(indices))
        cols = np.asarray(indices, dtype=np.int64)
        df = np.bincount(cols, minlength=len(vocab)).astype(np.float64)
        idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
        data = idf[cols]
        ptr = np.asarray(indptr, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts)), np.diff(ptr))
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(texts)))
        data = data / norms[rows]
        x = csr_matrix((data, cols, ptr), shape=(len(texts), len(vocab)))
        svm = LinearSVC(C=c, random_state=0, max_iter=5000)
        svm.fit(x, labels, sample_weight=sample_weight)
        classes = [str(k) for k in svm.classes_]
        coef = np.asarray(svm.coef_, dtype=np.float64)
        bias = np.asarray(svm.intercept_, dtype=np.float64)
        if len(classes) == 2:  # one separating plane: score the first class by its negative
            coef, bias = np.vstack([-coef[0], coef[0]]), np.array([-bias[0], bias[0]])
        terms = [""] * len(vocab)
        for t, i in vocab.items():
            terms[i] = t
        w = np.ascontiguousarray(coef.T * idf[:, None])
        return cls(classes, vocab, w, bias, terms, temperature, idf * idf)

    def predict(self, grams: set[str]) -> tuple[list[tuple[str, float]], list[str]]:
        """Class probabilities (softmax of the scores over the temperature, best first) and the n-grams
        that pushed the best class most."""
        vocab = self.vocab
        idx = [vocab[g] for g in grams if g in vocab]
        if idx:
            z = self.weights[idx].sum(axis=0) / math.sqrt(float(self.idf2[idx].sum())) + self.bias
        else:
            z = self.bias.copy()
        z = (z - z.max()) / self.temperature
        p = np.exp(z)
        p /= p.sum()
        order = np.argsort(-p)
        ranked = [(self.classes[i], float(p[i])) for i in order[:4]]
        feats: list[str] = []
        if idx:
            best = int(order[0])
            col = self.weights[idx, best]
            top = np.argsort(-col)[:4]
            feats = [self.terms[idx[int(j)]] for j in top if col[int(j)] > 0]
        return ranked, feats


@dataclass
class Rule:
    """One line of the routing catalogue: a department kind, its domain, level and cues."""

    kind: str
    domain: Domain
    level: int
    keywords: list[tuple[str, float]]


@dataclass
class Compiled:
    """A catalogue version made ready for fast classification."""

    version: int
    doc: dict[str, Any]
    rules: list[Rule]
    by_kind: dict[str, Rule]
    fallback_kind: str
    fallback_level: int
    min_score: float
    model_weight: float
    co_unit_min_score: float
    clause_co_unit_min_score: float  # a clause with this rule score for another kind may bring its unit in (0: off)
    max_co_units: int
    category_cues: list[tuple[Category, list[str]]]
    petition: cue_sets.Cues  # a request about a petition (信访), look-alikes blanked out
    legal: cue_sets.Cues  # a request about a court case, a judgment or legal proceedings (涉法涉诉)
    knowledge: list[dict[str, Any]]
    tier_rules: dict[str, Any]
    similarity: float
    model: NgramModel | None = None
    corrections: list[Correction] = field(default_factory=list)
    # keywords by their first character: a text only tries the keywords that can start in it
    by_first: dict[str, list[tuple[str, float, str]]] = field(default_factory=dict)
    clause_co_unit_margin: float = 1.0  # … when its best kind leads the others in the clause by this much
    co_unit_unless: cue_sets.Cues = field(default_factory=cue_sets.Cues)  # a unit mentioned in passing
    clause_split: re.Pattern[str] | None = None  # where clauses end (`co_unit_connectives` join matters)
    # the keywords a clause is scored on for co-units: all but those naming a unit or a person (物业, 警察, 老人 …),
    # which callers mention in passing ("物业说不归他们管", "家里有老人")
    clause_by_first: dict[str, list[tuple[str, float, str]]] = field(default_factory=dict)
    co_unit_never: frozenset[str] = frozenset()  # kinds never named as co-units by a clause
    clause_skip_words: tuple[str, ...] = ()  # a request asking this (请问, 需要哪些材料) gets no co-unit by a clause
    clause_lead: bool = False  # a fallback or `co_unit_never` lead that no clause is about gives way to a clause's


def compile_catalogue(doc: dict[str, Any], version: int, corrections: list[Correction] | None = None,
                      extra_examples: list[tuple[str, str, float]] | None = None) -> Compiled:
    """Compile a catalogue document, training the model on its examples and the corrections."""
    rules: list[Rule] = []
    for r in doc["rules"]:
        kws = [(k, 1.0) for k in r.get("keywords", [])] + [(k, 2.0) for k in r.get("strong", [])]
        rules.append(Rule(r["kind"], Domain(r.get("domain", "social_management")), int(r.get("level", 2)), kws))
    cues = [(Category(c), list(words)) for c, words in doc.get("category_cues", [])]
    by_first: dict[str, list[tuple[str, float, str]]] = {}
    for rl in rules:
        for k, w in rl.keywords:
            by_first.setdefault(k[0], []).append((k, w, rl.kind))
    passing = set(doc.get("co_unit_passing_words", ()))
    clause_by_first = {ch: [x for x in lst if x[0] not in passing] for ch, lst in by_first.items()}
    c = Compiled(
        version=version, doc=doc, rules=rules, by_kind={r.kind: r for r in rules},
        fallback_kind=doc.get("fallback_kind", "local_government"), fallback_level=int(doc.get("fallback_level", 3)),
        min_score=float(doc.get("min_score", 1.0)), model_weight=float(doc.get("model_weight", 1.5)),
        co_unit_min_score=float(doc.get("co_unit_min_score", 3.0)), max_co_units=int(doc.get("max_co_units", 2)),
        clause_co_unit_min_score=float(doc.get("clause_co_unit_min_score", 0.0)),
        category_cues=cues, petition=cue_sets.from_doc(doc, "petition"), legal=cue_sets.from_doc(doc, "legal"),
        knowledge=doc.get("knowledge", []), tier_rules=doc.get("tier_rules") or DEFAULT_TIER_RULES,
        similarity=float(doc.get("correction_similarity", 0.55)), corrections=list(corrections or []),
        by_first=by_first, clause_co_unit_margin=float(doc.get("clause_co_unit_margin", 1.0)),
        co_unit_unless=cue_sets.compile_cues(unless=doc.get("co_unit_unless", ())),
        clause_split=clause_pattern(tuple(doc.get("co_unit_connectives", DEFAULT_CONNECTIVES))),
        clause_by_first=clause_by_first,
        co_unit_never=frozenset(doc.get("co_unit_never", ())),
        clause_lead=bool(doc.get("clause_co_unit_lead", False)),
        clause_skip_words=tuple(doc.get("clause_co_unit_skip_words", ())),
    )
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    for r in doc["rules"]:
        # the keywords are short documents of their kind too: the model generalises from their n-grams
        for ex in [*r.get("examples", []), *r.get("keywords", []), *r.get("strong", [])]:
            texts.append(ex)
            labels.append(r["kind"])
            weights.append(1.0)
    for text, kind, w in extra_examples or []:
        texts.append(text)
        labels.append(kind)
        weights.append(w)
    c.model = (NgramModel.train(texts, labels, weights, float(doc.get("model_temperature", 1.0)),
                                float(doc.get("model_c", 1.0))) if texts else None)
    return c


@dataclass
class Decision:
    """What a request is, where it goes, and why."""

    category: Category
    domain: Domain
    department_kinds: list[str]
    route: Route
    target_kind: str
    level: int
    knowledge_id: str | None
    suggested_answer: str | None
    conduct: list[str]
    explanation: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def _category(text: str, c: Compiled, hint: Category | None, why: list[str]) -> Category:
    if hint is not None:
        why.append(f"category {hint.value}: as stated at intake")
        return hint
    for cat, cues in c.category_cues:
        hit = next((w for w in cues if w in text), None)
        if hit:
            why.append(f"category {cat.value}: cue '{hit}'")
            return cat
    why.append("category complaint: no cue, default")
    return Category.complaint


def _rule_scores(text: str, c: Compiled, by_first: dict[str, list[tuple[str, float, str]]] | None = None
                 ) -> dict[str, tuple[float, list[str]]]:
    found: dict[str, list[tuple[str, float]]] = {}
    first = c.by_first if by_first is None else by_first
    for ch in set(text):
        for k, w, kind in first.get(ch, ()):
            if k in text:
                lst = found.setdefault(kind, [])
                if all(k != o for o, _ in lst):
                    lst.append((k, w))
    out: dict[str, tuple[float, list[str]]] = {}
    for kind, hits in found.items():
        # a keyword inside a longer matched keyword of the same rule counts once ('工资' in '拖欠工资')
        kept = [(k, w) for k, w in hits if not any(k != o and k in o for o, _ in hits)]
        out[kind] = (sum(w for _, w in kept), [k for k, _ in kept])
    return out


def _clause_kinds(text: str, lead: str, c: Compiled) -> tuple[list[tuple[str, float, str]], bool]:
    """Kinds a clause of the request is clearly about on its own, other than the lead's (best first, each with its
    margin and clause), and whether some clause is about the lead: a matter that needs several units names each.

    The request is cut into clauses (`clauses`), the mentions of a unit in passing (`co_unit_unless`) blanked out
    first. A clause is about a matter when it holds a keyword of its best kind (rule score at least
    `clause_co_unit_min_score`; the words that only name a unit or a person, `co_unit_passing_words` such as 物业,
    警察, 老人, do not count), so greetings, thanks, photos taken and a call to the police in passing never count.
    Its best kind is the one with the best rule score plus `model_weight` × the model's probability on the clause;
    it names a co-unit when it leads every other kind, the lead's included, by `clause_co_unit_margin`. The
    fallback kind and the `co_unit_never` kinds are never co-units by a clause."""
    if c.clause_co_unit_min_score <= 0:
        return [], True
    out: dict[str, tuple[float, str]] = {}
    lead_named = False
    for clause in clauses(c.co_unit_unless.strip(text), c.clause_split):
        rule = _rule_scores(clause, c, c.clause_by_first)
        if not rule:
            continue
        combined = {k: s for k, (s, _) in rule.items()}
        if c.model is not None:
            for k, p in c.model.predict(ngrams(clause))[0]:
                combined[k] = combined.get(k, 0.0) + c.model_weight * p
        order = sorted(combined.items(), key=lambda kv: -kv[1])
        kind, best = order[0]
        if rule.get(kind, (0.0, []))[0] < c.clause_co_unit_min_score:
            continue
        if kind == lead:
            lead_named = True
            continue
        if kind == c.fallback_kind or kind in c.co_unit_never:
            continue
        margin = best - max(order[1][1] if len(order) > 1 else 0.0, combined.get(lead, 0.0))
        if margin >= c.clause_co_unit_margin and margin > out.get(kind, (-1.0, ""))[0]:
            out[kind] = (margin, clause.strip())
    return sorted(((k, m, cl) for k, (m, cl) in out.items()), key=lambda x: -x[1]), lead_named


def _knowledge(text: str, c: Compiled) -> dict[str, Any] | None:
    for entry in c.knowledge:
        if all(any(w in text for w in group) for group in entry.get("all_of", [])):
            if not any(w in text for w in entry.get("none_of", [])):
                return entry
    return None


def _nearest_correction(grams: set[str], c: Compiled) -> tuple[Correction, float] | None:
    best: tuple[Correction, float] | None = None
    for corr in c.corrections:
        inter = len(grams & corr.grams)
        if not inter:
            continue
        sim = inter / math.sqrt(len(grams) * len(corr.grams))  # cosine of binary n-gram vectors
        if sim >= c.similarity and (best is None or sim > best[1] or (sim == best[1] and corr.id > best[0].id)):
            best = (corr, sim)
    return best


def classify(text: str, c: Compiled, category_hint: Category | None = None) -> Decision:
    """Classify a request against a compiled catalogue; every decision says why."""
    why: list[str] = [f"catalogue version {c.version}"]
    grams = ngrams(text)
    category = _category(text, c, category_hint, why)

    rule = _rule_scores(text, c)
    combined: dict[str, float] = {k: s for k, (s, _) in rule.items()}
    model_feats: list[str] = []
    if c.model is not None:
        ranked, model_feats = c.model.predict(grams)
        for k, p in ranked:
            combined[k] = combined.get(k, 0.0) + c.model_weight * p
        top = ranked[0]
        why.append(f"model: {top[0]} p={top[1]:.2f}" + (f" (features {', '.join(model_feats)})"
                                                        if model_feats else ""))
    for k, (s, hits) in sorted(rule.items(), key=lambda kv: -kv[1][0]):
        why.append(f"rule {k}: keywords {', '.join(hits)} (score {s:.1f})")
    ranked_kinds = sorted(combined.items(), key=lambda kv: -kv[1])
    if ranked_kinds and ranked_kinds[0][1] >= c.min_score:
        lead = ranked_kinds[0][0]
        why.append(f"kind {lead}: best combined score {ranked_kinds[0][1]:.2f}")
    else:
        lead = c.fallback_kind
        why.append(f"kind {lead}: ownership unclear (best score "
                   f"{ranked_kinds[0][1] if ranked_kinds else 0:.2f} < {c.min_score}), local government of the place")
    # a question about a procedure is about one matter: the context it gives ("我们是外地户口") names no co-unit
    asks = next((w for w in c.clause_skip_words if w in text), None)
    by_clause, lead_named = _clause_kinds(text, lead, c) if asks is None else ([], True)
    if by_clause and not lead_named and c.clause_lead \
            and (lead == c.fallback_kind or lead in c.co_unit_never):
        old, (lead, m, clause) = lead, by_clause[0]
        by_clause = by_clause[1:]
        why.append(f"kind {lead}: no clause of the matter is about {old}; the clause '{clause[:30]}' is about "
                   f"{lead} (ahead by {m:.2f})")
    kinds = [lead]
    for k, (s, _hits) in sorted(rule.items(), key=lambda kv: -kv[1][0]):
        if k != lead and s >= c.co_unit_min_score and len(kinds) <= c.max_co_units:
            kinds.append(k)
            why.append(f"co-unit kind {k}: rule score {s:.1f} >= {c.co_unit_min_score}")
    for k, m, clause in by_clause:
        if k not in kinds and len(kinds) <= c.max_co_units:
            kinds.append(k)
            why.append(f"co-unit kind {k}: the clause '{clause[:30]}' is about it (ahead by {m:.2f})")

    route = Route.dispatch
    legal = c.legal.find(text)
    petition = c.petition.find(text)
    if legal:
        route = Route.legal
        why.append(f"route legal: in litigation or judged ('{legal[0]}')")
    elif petition:
        route = Route.petition
        why.append(f"route petition: 信访 matter ('{petition[0]}')")

    corr = _nearest_correction(grams, c)
    if corr is not None:
        cc, sim = corr
        if cc.kind and cc.kind != kinds[0]:
            kinds = [cc.kind, *[k for k in kinds if k != cc.kind][:c.max_co_units]]
        if cc.category:
            category = Category(cc.category)
        if cc.route:
            route = Route(cc.route)
        why.append(f"correction #{cc.id} (similarity {sim:.2f}): kind {cc.kind or '-'}, category "
                   f"{cc.category or '-'}, route {cc.route or '-'}; reason: {cc.reason}")

    kb = None
    if route == Route.dispatch and category == Category.consult:
        kb = _knowledge(text, c)
        if kb is not None:
            route = Route.answer
            why.append(f"route answer: simple consultation, knowledge base entry '{kb['id']}'")
    if route == Route.dispatch:
        why.append("route dispatch")

    r = c.by_kind.get(kinds[0])
    domain = r.domain if r else Domain.social_management
    level = r.level if r else c.fallback_level
    conduct = [*cue_sets.from_doc(c.tier_rules, "conduct").find(text),
               *cue_sets.from_doc(c.tier_rules, "corruption").find(text)]
    target = ROUTE_TARGET_KIND.get(route, kinds[0])
    return Decision(category, domain, kinds, route, target, level, kb["id"] if kb else None,
                    kb["answer"] if kb else None, conduct, why,
                    {k: round(v, 3) for k, v in ranked_kinds[:4] if not math.isnan(v)})
