"""Quote extraction: the sentences and bullet items inside the top hits that answer the question.

Candidates are scored by dense similarity to the question (same model),
lexical overlap with the question's analysed terms, and the rank of their
passage; up to three are chosen with MMR so near-duplicates are not repeated.
Every quote is an exact span of the cleaned document text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .text_da import Analyzer
from .types import Hit

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÆØÅ0-9\"'”‘“«])")
_ITEM = re.compile(r"^(•\s|\d{1,2}[.)]\s)")


@dataclass(frozen=True)
class Span:
    hit_rank: int     # 0-based rank of the hit it comes from
    start: int        # offsets in the document text
    end: int
    text: str


def candidate_spans(hit: Hit, hit_rank: int) -> list[Span]:
    """Bullet items whole, paragraphs split into sentences; lead-ins ending in ':' are skipped."""
    c = hit.chunk
    spans = []
    pos = 0
    for line in c.text.split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        m = _ITEM.match(line)
        if m:
            pieces = [(m.end() if line.startswith("•") else 0, len(line))]   # a bullet item whole, without its glyph
        else:
            cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(line)] + [len(line)]
            pieces = [(a, b) for a, b in zip(cuts, cuts[1:])]
        for a, b in pieces:
            seg = line[a:b]
            lead = len(seg) - len(seg.lstrip())
            seg = seg.strip()
            if len(seg) < 12 or seg.endswith(":"):
                continue
            s = c.start + line_start + a + lead
            spans.append(Span(hit_rank, s, s + len(seg), seg))
    return spans


@dataclass(frozen=True)
class Scored:
    span: Span
    hit: Hit
    score: float
    dense: float
    lexical: float


def score_spans(question: str, qvec: np.ndarray, hits: list[Hit], embed_passages, analyzer: Analyzer,
                w_dense: float = 1.0, w_lex: float = 0.15, w_rank: float = 0.02) -> tuple[list[Scored], np.ndarray]:
    spans, owners = [], []
    for r, h in enumerate(hits):
        for s in candidate_spans(h, r):
            spans.append(s)
            owners.append(h)
    if not spans:
        return [], np.zeros((0, len(qvec)), np.float32)
    vecs = embed_passages([s.text for s in spans])
    dense = vecs @ qvec
    q_terms = set(analyzer.tokens(question))
    out = []
    for s, h, d, in zip(spans, owners, dense):
        terms = set(analyzer.tokens(s.text))
        lex = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
        score = w_dense * float(d) + w_lex * lex - w_rank * s.hit_rank
        out.append(Scored(s, h, score, float(d), lex))
    return out, vecs


def select_quotes(scored: list[Scored], vecs: np.ndarray, max_quotes: int = 3, lam: float = 0.7,
                  dup_sim: float = 0.95, margin: float = 0.04) -> list[Scored]:
    """MMR selection: relevance minus redundancy; drops near-duplicates and weak extras."""
    if not scored:
        return []
    order = sorted(range(len(scored)), key=lambda i: -scored[i].score)
    best = scored[order[0]].score
    chosen: list[int] = []
    while len(chosen) < max_quotes:
        cand, cand_val = None, -1e9
        for i in order:
            if i in chosen or scored[i].score < best - margin:
                continue
            red = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
            if red >= dup_sim or any(scored[i].span.text == scored[j].span.text for j in chosen):
                continue
            val = lam * scored[i].score - (1 - lam) * red
            if val > cand_val:
                cand, cand_val = i, val
        if cand is None:
            break
        chosen.append(cand)
    return [scored[i] for i in chosen]
