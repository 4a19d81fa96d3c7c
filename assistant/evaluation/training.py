"""Train the quote ranker (rank.py) on the development material and say how well it generalises.

Training data: every answerable question of the development corpus (evals/devcorpus, 12
fictional organisations) and of the bundled corpus's dev split (evals/dev.jsonl), asked the way
the assistant asks them: the same retrieval, the same candidates. A candidate is positive when
it contains a gold answer text. The test split (evals/test.jsonl) is never read here.

Validation is leave-one-organisation-out: for each organisation the ranker is trained without
its questions and judged on them, so the reported number was not tuned on the questions it is
reported on. The regularisation strength is chosen on the same folds; the meaning interaction's
extra penalty (``INTERACTION_ALPHA``) was chosen on them too (docs/ranking.md).

    assistant train-ranker                 # writes assistant/answer/ranker.json, prints in-sample and LOO hit@1
    assistant train-ranker --ablation      # LOO hit@1 without each feature group
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.answer.decision import literal_coverage
from assistant.answer.extract import QUOTE_PASSAGES, gather
from assistant.answer.per_organisation import top_passage
from assistant.answer.question import Question
from assistant.answer.rank import FEATURES, WEIGHTS_PATH, Interaction, Ranker, interaction, terms_of
from assistant.answer.retrieve import Filters, retrieve
from assistant.evaluation.deciding import train_decision
from assistant.evaluation.evaluate import load_gold
from assistant.store.index import reader_scope

SETS = ((Path("evals/devcorpus"), Path("evals/devcorpus/gold.jsonl")),
        (Path("corpus"), Path("evals/dev.jsonl")))
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
# The meaning interaction's columns are standardised and then multiplied by this, i.e. penalised
# 1/alpha^2 times as hard as the features: 384 weights learned from some 480 questions need it.
# Leave-one-organisation-out hit@1 at C=1 by alpha: 0.03 0.615, 0.07 0.634, 0.1 0.636, 0.15 0.628,
# 0.3 0.615, 1.0 0.597 (without the block 0.595).
INTERACTION_ALPHA = 0.1
FIT_TOL = 1e-6          # the solver's tolerance (see fit)
GROUPS = {
    "meaning (dense, sym)": ("dense", "dense_rel", "sym", "sym_rel"),
    "focus words (focus, bm25, rare_focus)": ("focus", "bm25", "rare_focus"),
    "answer kind": ("kind_number", "kind_date", "kind_contact", "kind_who", "kind_rule", "kind_list",
                    "list_size", "has_number", "has_modal", "unit_match"),
    "introductions and labels": ("title_overlap", "early", "heading_like", "label_like", "question_like"),
    "passage rank": ("hit_rank", "hit_dense_rel"),
    "length": ("log_len", "short"),
    "neighbour": ("neighbour",),
}
INTERACTION_GROUP = "meaning interaction (q*s)"     # the block of its own (rank.Interaction)


@dataclass(frozen=True)
class Example:
    """One question's candidates: features, labels, and the fold it belongs to."""
    id: str
    fold: str
    X: np.ndarray
    y: np.ndarray
    qvec: np.ndarray          # the question's vector and its candidates' passage vectors (the interaction)
    vecs: np.ndarray
    question: str = ""        # the text embedded as ``qvec`` and the candidates' texts (evals/tools read them)
    texts: tuple[str, ...] = ()
    columns: tuple[str, ...] = FEATURES     # what X's columns are (an experiment may add its own)
    # for the answer decision (evaluation/deciding.py): every gold question, answerable or not
    answerable: bool = True
    analysed: Question | None = None        # the question as answered (``Question``)
    literal: np.ndarray | None = None       # the candidates' literal coverage of its focus words
    top_passage: float = 0.0                # the best passage's dense similarity
    missing_words: int = 0                  # its words no document uses
    baseline: float | None = None           # within an organisation: the best passage of all documents
    scope_missing: int = 0                  # within an organisation: subject words only others' documents use


def collect(assistant, gold, name: str, top_hits: int = QUOTE_PASSAGES) -> list[Example]:
    """Ask each gold question as the assistant does and label its candidates (an unanswerable question's
    candidates are all negative: the ranker learns from the answerable ones, the decision from all)."""
    index = assistant.index
    out = []
    for g in gold:
        question = asked_as = assistant.understand(g.question, None, Filters(internal=True))
        scope = question.scope
        asked = [(question, Filters(internal=True))]     # the operator's measurement: every document counts
        if len(scope.organisations) == 1 and not scope.compare:
            # as Assistant.ask quotes a named organisation: the topic, within its documents (answer/per_organisation.py)
            asked = [(question.about, Filters(organisations=scope.organisations, internal=True))]
        elif scope.compare and scope.organisations:
            # as a comparison is answered: each organisation's column is the topic within its documents;
            # one example per compared organisation that has a gold passage
            gold_orgs = {index.documents[d].organisation for d, _ in g.relevant if d in index.documents}
            asked = [(question.about, Filters(organisations=(o,), internal=True))
                     for o in scope.organisations if o in gold_orgs] or asked
        for question, filters in asked:
            q = question.text
            qvec = assistant.embedder.embed_queries([q])[0]
            baseline = (top_passage(assistant, question, qvec, Filters(internal=True))
                        if filters.organisations else None)
            scope_missing = (len(assistant.scoped.subject_missing(filters.organisations[0], asked_as, True))
                             if len(filters.organisations) == 1 else 0)
            hits = retrieve(index, q, qvec, k=max(10, top_hits), filters=filters,
                            depth=assistant.settings.fetch_depth, rrf_k=assistant.settings.rrf_k,
                            terms=question.terms)[:top_hits]
            c = gather(question, qvec, hits, assistant.span_vectors, index.documents, index.analyzer,
                       store=index.spans)
            y = np.array([g.answerable and g.matches(s.hit.chunk.document, s.span.text) for s in c.scored], bool)
            literal = literal_coverage(question, [terms_of(index.analyzer, s.span.text) for s in c.scored])
            missing = index.vocabulary.check_words(question.words, question.english).missing
            out.append(Example(g.id, f"{name}:{g.fold or '(none)'}", c.X, y, qvec, c.vectors, q,
                               tuple(s.span.text for s in c.scored), answerable=g.answerable, analysed=question,
                               literal=literal, top_passage=max((h.dense_score or 0.0 for h in hits), default=0.0),
                               missing_words=len(missing), baseline=baseline, scope_missing=scope_missing))
    return out


@dataclass(frozen=True)
class Design:
    """The standardised training matrix of some examples (fitted at several C without being built again)."""
    features: tuple[str, ...]
    Z: np.ndarray
    y: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    inter: tuple[np.ndarray, np.ndarray] | None       # the interaction columns' mean and scale


def design(examples: list[Example], features: tuple[str, ...] = FEATURES, with_interaction: bool = True) -> Design:
    train = [e for e in examples if e.y.any()]
    cols = [train[0].columns.index(f) for f in features]
    X = np.concatenate([e.X[:, cols] for e in train]).astype(np.float64)
    y = np.concatenate([e.y for e in train])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale
    inter = None
    if with_interaction:
        Q = np.concatenate([interaction(e.qvec, e.vecs) for e in train]).astype(np.float64)
        qmean, qscale = Q.mean(axis=0), Q.std(axis=0)
        qscale[qscale == 0] = 1.0
        Z = np.column_stack([Z, INTERACTION_ALPHA * (Q - qmean) / qscale])
        inter = (qmean, qscale)
    return Design(tuple(features), Z, y, mean, scale, inter)


def fit_design(d: Design, C: float) -> Ranker:
    from sklearn.linear_model import LogisticRegression
    # solved to a tight tolerance: the optimum is unique (L2), and stopping early left the weights of
    # near-collinear features (dense and sym) depending on float noise in the vectors (an index built in
    # other batches gave coefficients 0.05 apart at C=1; at FIT_TOL they agree to 0.0002, for 1.5x the time)
    model = LogisticRegression(C=C, max_iter=20000, tol=FIT_TOL)
    # one BLAS thread: on this problem (some 20 000 x 400) OpenBLAS's threads cost more than they
    # give (a fit takes 1.7 s on one thread, 4.9 s on two; docs/ranking.md)
    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(d.Z, d.y)
    coef = model.coef_[0]
    n = len(d.features)
    inter = Interaction(d.inter[0], d.inter[1], INTERACTION_ALPHA * coef[n:]) if d.inter is not None else None
    return Ranker(d.features, d.mean, d.scale, coef[:n], float(model.intercept_[0]), inter)


def fit(examples: list[Example], C: float, features: tuple[str, ...] = FEATURES,
        with_interaction: bool = True) -> Ranker:
    return fit_design(design(examples, features, with_interaction), C)


def top_holds(ranker: Ranker, e: Example) -> bool:
    return bool(len(e.y)) and bool(e.y[int(np.argmax(ranker.score(e.X, e.qvec, e.vecs, e.columns)))])


def hit_at_1(ranker: Ranker, examples: list[Example]) -> float:
    """Share of the questions whose top-scored candidate holds the answer (all questions count)."""
    if not examples:
        return float("nan")
    return float(np.mean([top_holds(ranker, e) for e in examples]))


def leave_one_out(examples: list[Example], C: float | tuple[float, ...], features: tuple[str, ...] = FEATURES,
                  with_interaction: bool = True, rankers: dict | None = None):
    """Hit@1 with each organisation judged by a ranker trained without it (put in ``rankers``, fold ->
    Ranker, when given: ``save_folds`` writes them without fitting them again). With several C (a tuple),
    each fold's matrix is built once for all of them: {C: hit@1}, and ``rankers`` {C: {fold: Ranker}}."""
    grid = C if isinstance(C, tuple) else (C,)
    hits = {c: 0.0 for c in grid}
    for fold in sorted({e.fold for e in examples}):
        held = [e for e in examples if e.fold == fold]
        d = design([e for e in examples if e.fold != fold], features, with_interaction)
        for c in grid:
            ranker = fit_design(d, c)
            if rankers is not None:
                (rankers.setdefault(c, {}) if isinstance(C, tuple) else rankers)[fold] = ranker
            hits[c] += hit_at_1(ranker, held) * len(held)
    out = {c: h / len(examples) for c, h in hits.items()}
    return out if isinstance(C, tuple) else out[C]


def save_folds(examples: list[Example], C: float, folder: Path, rankers: dict | None = None,
               decisions: dict | None = None) -> None:
    """One ranker (and answer decision) per organisation, trained without it, for ``assistant eval
    --fold-rankers`` (``rankers``: those ``leave_one_out`` fitted at ``C``, else fitted here; ``decisions``:
    those ``deciding.leave_one_out`` fitted). Folds are named as the gold files name them (the development
    corpus's organisations)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = {}
    for n, fold in enumerate(sorted({e.fold for e in examples} | set(decisions or {}))):
        ranker = (rankers or {}).get(fold) or fit([e for e in examples if e.fold != fold], C)
        name = f"fold-{n:02d}.json"
        extra = {"held_out": fold}
        if fold in (decisions or {}):
            extra["decision"] = decisions[fold].to_json()
        (folder / name).write_text(json.dumps(ranker.to_json(extra)), encoding="utf-8")
        table[fold.split(":", 1)[1]] = name if fold.startswith("devcorpus:") else table.get(fold.split(":", 1)[1], name)
    (folder / "folds.json").write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")


def choose_C(loo: dict[float, float], n: int) -> float:
    """The most regularised C whose leave-one-organisation-out hit@1 is within one question of the best:
    a difference smaller than that is noise, and the stronger penalty generalises no worse (docs/ranking.md;
    C=0.3 and C=1 once tied at 554 and 555 of 810; now C=1 leads by four and is chosen)."""
    best = max(loo.values())
    return min(C for C, v in loo.items() if v >= best - 1.0 / n - 1e-9)


def dense_only(examples: list[Example]) -> float:
    i = FEATURES.index("dense")
    return float(np.mean([e.y[int(np.argmax(e.X[:, i]))] if len(e.y) else 0.0 for e in examples]))


def development_examples(assistant_for, work: Path) -> list[Example]:
    """Build the development indexes (incrementally) under ``work`` and collect their examples (every
    question, answerable or not). ``assistant_for(corpus, index_dir)`` makes an Assistant; paths are
    relative to the repository."""
    examples: list[Example] = []
    for corpus, gold_path in SETS:
        assistant = assistant_for(corpus, work / corpus.name)
        assistant.build(corpus)
        with reader_scope(True):           # every document counts, internal ones too (the operator's measurement)
            examples += collect(assistant, load_gold([gold_path]), corpus.name)
    return examples


def train(assistant_for, work: Path, out: Path = WEIGHTS_PATH, ablation: bool = False, log=print,
          decision_out: Path | None = None) -> dict:
    """Build the development indexes (incrementally) under ``work``, collect, choose C on the folds,
    fit on everything and write the weights: the quote ranker's to ``out``, the answer decision's to
    ``decision_out`` (default: ``decision.json`` beside ``out``). ``assistant_for(corpus, index_dir)``
    makes an Assistant."""
    everything = development_examples(assistant_for, work)
    examples = [e for e in everything if e.answerable]
    n_pos = sum(bool(e.y.any()) for e in examples)
    log(f"{len(examples)} answerable questions, {n_pos} with the answer among the candidates "
        f"(the ceiling for hit@1), {sum(len(e.y) for e in examples)} candidates, "
        f"{len({e.fold for e in examples})} organisation folds")
    log(f"dense similarity alone: hit@1 {dense_only(examples):.3f}")
    fold_rankers: dict[float, dict] = {}
    loo = leave_one_out(examples, C_GRID, rankers=fold_rankers)
    for C, v in loo.items():
        log(f"C={C:<5} leave-one-organisation-out hit@1 {v:.3f}")
    best_C = choose_C(loo, len(examples))
    ranker = fit(examples, best_C)
    insample = hit_at_1(ranker, examples)
    log(f"chosen C={best_C}: in-sample hit@1 {insample:.3f}, leave-one-organisation-out {loo[best_C]:.3f}")
    report = {"C": best_C, "questions": len(examples), "ceiling": round(n_pos / len(examples), 4),
              "hit1_in_sample": round(insample, 4), "hit1_loo": round(loo[best_C], 4),
              "hit1_dense_only": round(dense_only(examples), 4)}
    if ablation:
        report["ablation"] = {}
        for group, names in GROUPS.items():
            kept = tuple(f for f in FEATURES if f not in names)
            v = leave_one_out(examples, best_C, kept)
            report["ablation"][group] = round(v, 4)
            log(f"without {group:28} LOO hit@1 {v:.3f} ({v - loo[best_C]:+.3f})")
        v = leave_one_out(examples, best_C, with_interaction=False)
        report["ablation"][INTERACTION_GROUP] = round(v, 4)
        log(f"without {INTERACTION_GROUP:28} LOO hit@1 {v:.3f} ({v - loo[best_C]:+.3f})")
    decision, report["decision"], fold_decisions = train_decision(everything, fold_rankers[best_C], ranker,
                                                                  ablation=ablation, log=log,
                                                                  plot=work / "decision_curve.png")
    save_folds(examples, best_C, work / "folds", fold_rankers[best_C], fold_decisions)
    weights = ranker.to_json({"trained_on": [str(g) for _, g in SETS], "C": best_C})
    out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    decision_out = decision_out or out.with_name("decision.json")
    decision_out.write_text(json.dumps(decision.to_json({"trained_on": [str(g) for _, g in SETS],
                                                         "C": report["decision"]["C"],
                                                         "budget": report["decision"]["budget"]}), indent=1) + "\n",
                            encoding="utf-8")
    log(f"wrote {out} and {decision_out}")
    return report
