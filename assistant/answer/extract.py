"""Quote extraction: the sentences, items and lists inside the top hits that answer the question.

Candidates are cut from the top passages (``candidate_spans``), described by features and
scored by the learned ranker (rank.py); up to three are chosen with MMR so near-duplicates and
overlapping pieces are not repeated, and a chosen sentence takes along its neighbour in the same line
when the ranker finds that one nearly as likely. Every quote is an exact span of the cleaned document text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from assistant.answer.rank import features, terms_of
from assistant.ingest.sentences import Span, chunk_spans
from assistant.language.danish import Analyzer
from assistant.types import Hit

# Quote candidates come from the first QUOTE_PASSAGES passages retrieval returns. Leave-one-organisation-out
# hit@1 of the ranker alone by the number of passages on the development corpus (481 questions): 3 0.676,
# 4 0.680, 5 0.701, 6 0.711, 8 0.713, 10 0.721; end to end 4: 0.683, 6: 0.709, 10: 0.718. Six keeps most of
# the gain at a third of ten's cost on the warm path (extraction +0.13 ms against +0.38 ms over four in
# the bench; docs/ranking.md). The abstention confidence still reads the candidates of the first
# CONFIDENCE_PASSAGES, the pool its thresholds were calibrated on (answer.assistant.Assistant.confidence).
QUOTE_PASSAGES = 6
CONFIDENCE_PASSAGES = 4


class Scored(NamedTuple):
    """One candidate with its scores (a named tuple, not a dataclass: a question makes a hundred or
    more of them on the warm path, and a tuple is built three times faster)."""
    span: Span
    hit: Hit
    score: float      # the ranker's log-odds that this candidate holds the answer
    dense: float      # asymmetric similarity to the question (E5 query vs passage)
    sym: float        # symmetric similarity (both embedded as queries)
    similarity: float = 0.0   # meaning plus word overlap, the pre-ranker score: picks the candidates
                              # the abstention confidence looks at, so retraining the ranker does not
                              # move the calibrated thresholds


@dataclass(frozen=True)
class Candidates:
    """One question's candidate quotes with what the ranker saw."""
    scored: list[Scored]
    vectors: np.ndarray        # passage vectors, for redundancy between chosen quotes
    X: np.ndarray              # feature matrix (rank.FEATURES)


def gather(question, qvec: np.ndarray, hits: list[Hit], span_vectors, documents: dict, analyzer: Analyzer,
           ranker=None, store=None) -> Candidates:
    """Candidate quotes of the top hits, with their features and (given a ranker) their scores.
    Their vectors come from the index's store (computed at build time) or ``span_vectors``."""
    spans, owners = [], []
    for r, h in enumerate(hits):
        for s in chunk_spans(h.chunk, r):
            spans.append(s)
            owners.append(h)
    if not spans:
        return Candidates([], np.zeros((0, len(qvec)), np.float32), np.zeros((0, 0), np.float32))
    texts = [s.text for s in spans]
    vecs, qvecs = span_vectors.both(texts, store)
    dense = vecs @ qvec
    sym = qvecs @ qvec
    X = features(question, spans, hits, dense, sym, documents, analyzer)
    scores = ranker.score(X, qvec, vecs) if ranker is not None else dense
    q_terms = set(question.terms)
    # word overlap feeds only ``similarity``, which only the abstention confidence reads, and it reads
    # the candidates of the first CONFIDENCE_PASSAGES passages
    overlap = [len(q_terms & terms_of(analyzer, s.text)) / len(q_terms)
               if q_terms and s.hit_rank < CONFIDENCE_PASSAGES else 0.0 for s in spans]
    scored = [Scored(s, h, float(sc), float(d), float(y), float(d) + 0.15 * o - 0.02 * s.hit_rank)
              for s, h, sc, d, y, o in zip(spans, owners, scores, dense, sym, overlap)]
    return Candidates(scored, vecs, X)


def _next_to(a: Scored, b: Scored) -> bool:
    """Does ``b`` follow ``a`` directly, in the same line of the same passage (only spaces between)?"""
    c = a.hit.chunk
    if b.hit.chunk.id != c.id or b.span.start < a.span.end:
        return False
    gap = c.text[a.span.end - c.start:b.span.start - c.start]
    return len(gap) <= 3 and not gap.strip() and "\n" not in gap


def _joined(a: Scored, b: Scored) -> Scored:
    """``a`` and ``b`` (which follows it directly) as one quote, scored as the better of the two."""
    first, last = (a, b) if a.span.start < b.span.start else (b, a)
    c = first.hit.chunk
    span = Span(first.span.hit_rank, first.span.start, last.span.end,
                c.text[first.span.start - c.start:last.span.end - c.start], "pair")
    best = a if a.score >= b.score else b
    return best._replace(span=span, hit=first.hit)


def select_quotes(scored: list[Scored], vecs: np.ndarray, max_quotes: int = 3, lam: float = 0.7,
                  dup_sim: float = 0.95, margin: float = 3.0, join: bool = True) -> list[Scored]:
    """The best candidate, then up to ``max_quotes - 1`` more whose score is within ``margin``
    (log-odds) of it, by MMR (relevance minus redundancy); a candidate overlapping one already
    chosen (a sentence inside a chosen list) or nearly identical to one is not repeated.

    The margin 3.0 (a further quote is at least about 1/20 as likely to hold the answer as the
    first) was chosen on the development folds' held-out scores: quote hit@shown 0.732 / 0.755 /
    0.759 / 0.775 / 0.786 at margins 1.5 / 2 / 2.5 / 3 / unbounded, with 1.64 / 1.87 / 2.05 /
    2.21 / 3.00 quotes per answer; quote hit@1 does not move.

    With ``join``, a chosen sentence takes along the sentence just before or after it in the same
    line when that one is within the margin too (the likelier of the two): when the ranker is torn
    between neighbours, often a condition and its consequence, they are quoted as the one passage
    they are, not as two quotes or one half (docs/ranking.md, measures what it costs)."""
    if not scored:
        return []
    order = sorted(range(len(scored)), key=lambda i: -scored[i].score)
    best = scored[order[0]].score
    order = [i for i in order if scored[i].score >= best - margin]
    chosen: list[int] = []
    quotes: list[Scored] = []

    def overlaps(a: Scored, b: Scored) -> bool:
        return (a.hit.chunk.document == b.hit.chunk.document and a.span.start < b.span.end
                and b.span.start < a.span.end) or a.span.text == b.span.text

    while len(chosen) < max_quotes:
        cand, cand_val = None, -1e9
        for i in order:
            if i in chosen:
                continue
            red = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
            if red >= dup_sim or any(overlaps(scored[i], q) for q in quotes):
                continue
            val = lam * scored[i].score - (1 - lam) * red
            if val > cand_val:
                cand, cand_val = i, val
        if cand is None:
            break
        chosen.append(cand)
        quote = scored[cand]
        if join and quote.span.form == "sentence":
            mates = [scored[j] for j in order if j != cand and scored[j].span.form == "sentence"
                     and (_next_to(quote, scored[j]) or _next_to(scored[j], quote))
                     and not any(overlaps(scored[j], q) for q in quotes)]
            if mates:
                quote = _joined(quote, max(mates, key=lambda m: m.score))
        quotes.append(quote)
    return quotes
