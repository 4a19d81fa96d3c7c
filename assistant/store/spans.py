"""Vectors of candidate quotes, computed when the index is built and stored in its version.

Quote extraction compares the question with every sentence and bullet item of the top passages
(as E5 passages), and the abstention confidence compares it with the best of them (as E5
queries). Embedding those sentences when a question first brings them up made a user's first
questions slow (p95 several times p50), so the build embeds every candidate of every chunk in
both modes and stores them next to the chunk vectors::

    v-.../spans.keys.npy      uint64, sorted: a 64-bit BLAKE2b hash of each candidate's text
    v-.../spans.vectors.npy   float32 [n, 2, dim]: row i = (passage, query) vectors of key i

Vectors are keyed by the text alone, so the store is incremental like the chunks: a build
reuses every vector of the previous version (same model) and embeds only texts it has not seen.
At question time the arrays are memory-mapped; a text that is not in the store (a candidate rule
changed since the build) is embedded on first sight as before (``answer.assistant.SpanVectors``).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.ingest.sentences import candidate_spans
from assistant.store import files
from assistant.types import Chunk, Hit

KEYS = files.SPAN_KEYS              # "spans.keys.npy"
VECTORS = files.SPAN_VECTORS        # "spans.vectors.npy"


@lru_cache(maxsize=200_000)
def span_key(text: str) -> int:
    """A candidate text's key in the store (memoised: the same candidates come up question after question)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def chunk_span_texts(chunks: list[Chunk]) -> list[str]:
    """The distinct candidate-quote texts of these chunks, in first-seen order."""
    texts: dict[str, None] = {}
    for c in chunks:
        for s in candidate_spans(Hit(c, 0.0), 0):
            texts.setdefault(s.text)
    return list(texts)


class SpanStore:
    """Read side: vectors of stored candidate texts, by text."""

    def __init__(self, keys: np.ndarray, vectors: np.ndarray):
        self.keys, self.vectors = keys, vectors

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def load(cls, version: Path, dim: int | None = None, root: Path | None = None) -> "SpanStore | None":
        """The store of a version directory, checked (index_files.read_spans: IndexDamaged names the
        file and fault), or None when the version has no store (built before it existed)."""
        version = Path(version)
        found = files.read_spans(Path(root) if root is not None else version.parent, version, dim)
        return cls(*found) if found is not None else None

    def rows(self, texts: list[str]) -> np.ndarray:
        """Row of each text in ``vectors``, or -1 where it is not stored."""
        if not len(self.keys) or not texts:
            return np.full(len(texts), -1, dtype=np.int64)
        want = np.array([span_key(t) for t in texts], dtype=np.uint64)
        pos = np.minimum(np.searchsorted(self.keys, want), len(self.keys) - 1)
        return np.where(self.keys[pos] == want, pos, -1)

    def get(self, texts: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(passage, query) vectors of the stored texts among ``texts``."""
        rows = self.rows(texts)
        found = rows >= 0
        if not found.any():
            return {}
        block = np.asarray(self.vectors[rows[found]], dtype=np.float32)
        return {t: (v[0], v[1]) for t, v in zip((t for t, f in zip(texts, found) if f), block)}


@dataclass
class SpanBuild:
    keys: np.ndarray
    vectors: np.ndarray
    embedded: int        # texts embedded in this build (the rest were reused)
    seconds: float


def build_spans(chunks: list[Chunk], embedder, previous: Path | None, batch: int = 32) -> SpanBuild:
    """Vectors of every candidate text of ``chunks``: reused from ``previous`` (a version directory
    built with the same model) where stored there, embedded in both modes otherwise."""
    t0 = time.perf_counter()
    texts = chunk_span_texts(chunks)
    try:
        old = SpanStore.load(previous) if previous is not None else None
    except files.IndexDamaged:           # damaged store in the previous version: embed everything again
        old = None
    rows = old.rows(texts) if old is not None else np.full(len(texts), -1, dtype=np.int64)
    missing = [t for t, r in zip(texts, rows) if r < 0]
    fresh = _embed_both_sorted(embedder, missing, batch)
    dim = fresh.shape[2] if len(missing) else (old.vectors.shape[2] if old is not None and len(old) else 0)
    vectors = np.zeros((len(texts), 2, dim), dtype=np.float32)
    reused = rows >= 0
    if reused.any():
        vectors[reused] = old.vectors[rows[reused]]
    if missing:
        vectors[~reused] = fresh
    keys = np.array([span_key(t) for t in texts], dtype=np.uint64)
    keys, first = np.unique(keys, return_index=True)       # sorted; a hash collision keeps one text
    return SpanBuild(keys, vectors[first], len(missing), time.perf_counter() - t0)


def _embed_both_sorted(embedder, texts: list[str], batch: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, 2, 0), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = None
    for i in range(0, len(order), batch):
        rows = order[i:i + batch]
        p, q = embedder.embed_both([texts[j] for j in rows])
        if out is None:
            out = np.zeros((len(texts), 2, p.shape[1]), dtype=np.float32)
        out[rows, 0], out[rows, 1] = p, q
    return out


def save_spans(spans: SpanBuild, version: Path) -> None:
    np.save(Path(version) / KEYS, spans.keys, allow_pickle=False)
    np.save(Path(version) / VECTORS, spans.vectors, allow_pickle=False)
