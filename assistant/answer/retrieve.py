"""Hybrid retrieval: dense (FAISS) and keyword (BM25) results fused by reciprocal rank."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from assistant.limits import FILTER_CHARS
from assistant.store.index import Index
from assistant.types import Hit

RRF_K = 60
MODES = ("hybrid", "dense", "bm25")


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


class FilterError(ValueError):
    """A filter value that is no name (too long, or not text): refused before any work."""


@dataclass(frozen=True)
class Filters:
    """Which documents an answer may quote: the user's choice of organisation and type, the
    organisation scope of the question, and visibility.

    ``organisation`` and ``doc_type`` are what a user typed (UI dropdown, ``--org``, ``--type``): a
    case-insensitive substring ("aalborg" matches "Aalborg Kommune"). ``Assistant.ask`` first resolves
    ``organisation`` through the index's aliases ("Borgerrepræsentationen", "KFR", "Ishøjs") into
    ``organisations``: canonical names matched exactly. ``exclude`` leaves organisations out
    (canonical names; "what do the others say").

    Internal documents (``Document.internal``) are in scope only with ``internal=True``, which the
    UI sets for logged-in staff and admins; ``Filters()`` and ``filters=None`` mean public documents
    only, so a caller that forgets the user gets the safe answer.
    """
    organisation: str | None = None
    doc_type: str | None = None
    organisations: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    internal: bool = False            # also internal documents (logged-in staff only)

    def __post_init__(self):
        for what, value in (("organisation", self.organisation), ("document type", self.doc_type)):
            if value is not None and (not isinstance(value, str) or len(value) > FILTER_CHARS):
                raise FilterError(f"the {what} filter must be a name of at most {FILTER_CHARS} characters")

    def __bool__(self) -> bool:
        """True when the scope is narrowed (organisation, type, exclusions); visibility is not a choice."""
        return bool(self.organisation or self.doc_type or self.organisations or self.exclude)

    def allows(self, doc) -> bool:
        if doc.internal and not self.internal:
            return False
        if self.organisations and doc.organisation not in self.organisations:
            return False
        if self.exclude and doc.organisation in self.exclude:
            return False
            return False
        if self.organisation and self.organisation.lower() not in doc.organisation.lower():
            return False
        if self.doc_type and self.doc_type.lower() not in doc.doc_type.lower():
            return False
        return True

    def restricts(self, index) -> bool:
        """True when some documents of ``index`` are out of scope (then retrieval filters)."""
        return bool(self) or (not self.internal and index.has_internal)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"retriever must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def retrieve(index: Index, question: str, qvec: np.ndarray | None, k: int = 10, mode: str = "hybrid",
             filters: Filters | None = None, depth: int = 50, rrf_k: int = RRF_K,
             timings: dict | None = None, terms: tuple[str, ...] | None = None) -> list[Hit]:
    """Fused ranking; ``terms`` are the question's analysed terms when already known (question.py);
    ``timings`` (when given) receives seconds per stage: dense, bm25, fusion."""
    check_mode(mode)
    filters = Filters() if filters is None else filters   # (Filters(internal=True) is falsy)
    clock = Stopwatch(timings)
    n = len(index.chunks)
    if n == 0:
        return []
    if filters.restricts(index):
        return _restricted(index, qvec, k, mode, filters, rrf_k, clock,
                           terms if terms is not None else question)
    depth = max(depth, k)
    # qvec is still used in bm25 mode: returned hits get their dense similarity (for extraction)
    dense = index.dense_search(qvec, depth) if mode != "bm25" and qvec is not None else []
    clock.lap("dense")
    sparse = index.bm25_search(terms if terms is not None else question, depth) if mode != "dense" else []
    clock.lap("bm25")
    dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
    dense_score = dict(dense)
    sparse_rank = {i: r for r, (i, _) in enumerate(sparse, start=1)}
    if mode == "dense":
        fused = {i: s for i, s in dense}
    elif mode == "bm25":
        fused = {i: s for i, s in sparse}
    else:
        fused = rrf([[i for i, _ in dense], [i for i, _ in sparse]], rrf_k)
    order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    if qvec is not None:   # dense similarity of every returned hit (used by extraction and abstention)
        missing = [i for i in order if i not in dense_score]
        if missing:
            sims = index.vectors[missing] @ qvec
            dense_score.update(zip(missing, map(float, sims)))
    hits = [Hit(index.chunks[i], float(fused[i]), dense_rank.get(i), sparse_rank.get(i), dense_score.get(i))
            for i in order]
    clock.lap("fusion")
    return hits


def _restricted(index: Index, qvec: np.ndarray | None, k: int, mode: str, filters: Filters, rrf_k: int,
                clock: "Stopwatch", query) -> list[Hit]:
    """``retrieve`` within ``filters``: both rankings exhaustive, then only the allowed chunks, so
    filtered-out chunks cannot crowd the list. The same ranks and fusion as the unrestricted path
    (reciprocal rank over each ranking's allowed chunks), in arrays: a scoped question runs this
    several times (answer/per_organisation.py), over every chunk of the index."""
    n = len(index.chunks)
    allowed = index.chunk_mask(filters)

    def kept(ranking):                       # a ranking's allowed chunks, in order: positions, scores
        pos, score = ranking
        keep = allowed[pos]
        return pos[keep], score[keep].astype(np.float64)

    none = np.zeros(0, np.int64), np.zeros(0)
    d_pos, d_score = kept(index.dense_ranking(qvec, n)) if mode != "bm25" and qvec is not None else none
    clock.lap("dense")
    s_pos, s_score = kept(index.bm25_ranking(query, n)) if mode != "dense" else none
    clock.lap("bm25")
    d_rank = np.zeros(n, np.int64)
    d_rank[d_pos] = np.arange(1, len(d_pos) + 1)
    s_rank = np.zeros(n, np.int64)
    s_rank[s_pos] = np.arange(1, len(s_pos) + 1)
    fused = np.zeros(n)
    if mode == "dense":
        fused[d_pos], cand = d_score, d_pos
    elif mode == "bm25":
        fused[s_pos], cand = s_score, s_pos
    else:   # as rrf(): the dense term first, then the keyword term (same float sums)
        fused[d_pos] += 1.0 / (rrf_k + d_rank[d_pos])
        fused[s_pos] += 1.0 / (rrf_k + s_rank[s_pos])
        cand = np.union1d(d_pos, s_pos)
    order = cand[np.lexsort((cand, -fused[cand]))][:k].tolist()
    dense_score = {i: float(d_score[d_rank[i] - 1]) for i in order if d_rank[i]}
    missing = [i for i in order if not d_rank[i]]
    if missing and qvec is not None:   # dense similarity of every returned hit (extraction, abstention)
        dense_score.update(zip(missing, map(float, index.vectors[missing] @ qvec)))
    hits = [Hit(index.chunks[i], float(fused[i]), int(d_rank[i]) or None, int(s_rank[i]) or None,
                dense_score.get(i)) for i in order]
    clock.lap("fusion")
    return hits


class Stopwatch:
    """Adds the seconds since the last lap to ``timings[name]``; does nothing without a dict."""

    def __init__(self, timings: dict | None):
        self.timings = timings
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[name] = self.timings.get(name, 0.0) + now - self.t
            self.t = now
