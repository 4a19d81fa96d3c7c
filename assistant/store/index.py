"""The index: a directory with a manifest, chunk store, FAISS and BM25 indexes.

Layout of an index root (``index/`` by default)::

    current -> v-20261122T203800-1a2b3c   symlink to the serving version
    v-.../manifest.json    schema, package version, model id and dimension,
                           chunking and analysis parameters, content hash per document
    v-.../documents.jsonl  cleaned text and metadata of each document
    v-.../chunks.jsonl     chunks with heading path, offsets and page
    v-.../vectors.npy      float32 embeddings, row i = chunk i
    v-.../dense.faiss      FAISS index (exact inner product, or HNSW), ids stable per chunk
    v-.../bm25/            bm25s index over analysed chunk text (JSON + .npy, no pickle)
    v-.../organisations.json  canonical organisation names and their aliases
    v-.../spans.*.npy      vectors of the candidate quotes (see assistant/store/spans.py)

A build writes a new version into ``.tmp-*`` and then swaps the ``current``
symlink with an atomic rename, so a reader sees either the old or the new
version, never a half-written one, and an interrupted build leaves the previous
index serving. Every build reads all files (boilerplate is learned across the
whole corpus), and a chunk whose embedded text is unchanged keeps its vector:
only new or changed passages are embedded.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Iterable

import numpy as np

from assistant.config import Settings
from assistant.ingest import organisations as orgs
from assistant.ingest.corpus import organisation_registry
from assistant.ingest.metadata import (
    sidecar_path,
)
from assistant.language.danish import Analyzer
from assistant.language.detect import language_of
from assistant.language.vocabulary import Vocabulary
from assistant.store import files
from assistant.store.spans import SpanStore
from assistant.types import Chunk, Document

SCHEMA_VERSION = 2


CURRENT = "current"


# Whether the reader of the question being answered may see internal documents. Assistant.ask
# sets it from Filters.internal, so that what reads ``Index.vocabulary`` (the coverage check
# behind "Ingen af dokumenterne nævner …") sees only the words of documents the reader may see.
_READER_INTERNAL: contextvars.ContextVar[bool] = contextvars.ContextVar("reader_internal", default=False)


@contextlib.contextmanager
def reader_scope(internal: bool):
    token = _READER_INTERNAL.set(bool(internal))
    try:
        yield
    finally:
        _READER_INTERNAL.reset(token)


class IndexMismatch(RuntimeError):
    """The index on disk cannot be used with these settings; rebuild it."""


class MissingIndex(RuntimeError):
    pass


IndexDamaged = files.IndexDamaged


class IndexWriteError(RuntimeError):
    """Writing a new version failed (e.g. disk full); the previous version is untouched."""


def document_from_row(row: dict) -> Document:
    """A Document from its documents.jsonl row (checked by index_files.read_documents)."""
    doc = Document(**{**row, "page_starts": tuple(row["page_starts"]), "org_aliases": tuple(row["org_aliases"])})
    # an index written before languages were detected: detected now (a few ms a document)
    return doc if "language" in row else replace(doc, language=language_of(doc.text))


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What is embedded and keyword-indexed for a chunk: its context, then its text."""
    path = " > ".join(chunk.headings)
    head = f"{doc.title} ({doc.organisation})" + (f" – {path}" if path else "")
    return f"{head}\n{chunk.text}"


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


@functools.lru_cache(maxsize=1)
def _single_threaded_search() -> None:
    """One question is one query vector: FAISS's OpenMP threads cost more than they save (measured
    with 1 041 chunks: 12 ms with two threads on a busy machine, 0.03 ms with one; docs/architecture.md)."""
    import faiss
    faiss.omp_set_num_threads(1)


def faiss_id(chunk_id: str) -> int:
    return int(chunk_id[:15], 16)


def content_hash(path: Path) -> str:
    h = hashlib.sha256(path.read_bytes())
    side = sidecar_path(path)
    if side.is_file():
        h.update(b"\x00sidecar\x00" + side.read_bytes())
    return h.hexdigest()


def expected_params(settings: Settings, analyzer: Analyzer) -> dict:
    return {"chunking": {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap},
            "analyzer": asdict(analyzer), "ann": settings.ann}


@dataclass
class Index:
    path: Path                      # the version directory
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object
    bm25: object
    analyzer: Analyzer
    _pos_of_id: dict[int, int] = field(default_factory=dict, repr=False)
    _organisations: dict[str, list[str]] | None = field(default=None, repr=False)   # organisations.json, checked
    # stored vectors of the candidate quotes (memory-mapped, checked at load), or None for an index without them
    spans: SpanStore | None = field(default=None, repr=False)
    _masks: dict = field(default_factory=dict, repr=False)    # Filters -> chunk mask (chunk_mask)

    @property
    def version(self) -> str:
        return self.path.name

    @cached_property
    def organisations(self) -> orgs.Registry:
        """Canonical organisation names of the indexed documents and every alias that names them."""
        if self._organisations is not None:
            return orgs.Registry.from_json(self._organisations)
        return organisation_registry(self.documents.values())

    @cached_property
    def has_internal(self) -> bool:
        return any(d.internal for d in self.documents.values())

    def visible_documents(self, internal: bool) -> dict[str, Document]:
        """The documents a reader may see: all with ``internal``, else the public ones."""
        return {k: d for k, d in self.documents.items() if internal or not d.internal}

    @property
    def vocabulary(self) -> Vocabulary:
        """Word forms of the documents the current reader may see (text, titles, organisations):
        for abstention. Internal documents' words count only inside ``reader_scope(True)``, so
        an anonymous reader cannot learn from "Ingen af dokumenterne nævner …" which words they hold."""
        if _READER_INTERNAL.get() or not self.has_internal:
            return self._vocabulary_all
        return self._vocabulary_public

    @staticmethod
    def _make_vocabulary(docs) -> Vocabulary:
        docs = list(docs)
        return Vocabulary([d.text for d in docs] + [f"{d.title} {d.organisation}" for d in docs])

    @cached_property
    def _vocabulary_all(self) -> Vocabulary:
        return self._make_vocabulary(self.documents.values())

    @cached_property
    def _vocabulary_public(self) -> Vocabulary:
        return self._make_vocabulary(self.visible_documents(internal=False).values())

    @classmethod
    def load(cls, root: Path, model_id: str | None = None, settings: Settings | None = None) -> "Index":
        """Load the ``current`` version; every file is checked first (IndexDamaged names what is wrong)."""
        root = Path(root)
        version = resolve_current(root)
        if version is None:
            raise MissingIndex(f"No index in {root}. Build it with: assistant index --index {root}")
        return cls.load_version(version, model_id, settings, root)

    @classmethod
    def load_version(cls, version: Path, model_id: str | None = None, settings: Settings | None = None,
                     root: Path | None = None) -> "Index":
        """One version directory, whether or not ``current`` points at it (checked the same way)."""
        version = Path(version)
        root = Path(root) if root is not None else version.parent
        manifest = files.read_manifest(root, version)
        problem = manifest_problem(manifest, model_id, settings)
        if problem:
            raise IndexMismatch(f"The index in {root} {problem}. Rebuild it: assistant index --index {root}")
        files.check_manifest(root, version, manifest)
        doc_rows = files.read_documents(root, version, manifest)
        documents = {r["id"]: document_from_row(r) for r in doc_rows}
        chunk_rows = files.read_chunks(root, version, manifest, {d.id: d.text for d in documents.values()})
        chunks = [Chunk.from_json(r) for r in chunk_rows]
        vectors = files.read_vectors(root, version, len(chunks), manifest["dim"])
        ids = np.array([faiss_id(c.id) for c in chunks], dtype=np.int64)
        fidx = files.read_faiss(root, version, ids, manifest["dim"])
        bm25 = files.read_bm25(root, version, len(chunks))
        try:
            analyzer = Analyzer(**manifest["analyzer"])
        except TypeError as exc:
            raise files.IndexDamaged(root, f"{version.name}/manifest.json: 'analyzer' has unknown settings") from exc
        pos = {int(i): n for n, i in enumerate(ids)}
        organisations = files.read_organisations(root, version, {d.organisation for d in documents.values()
                                                                 if d.organisation and d.organisation != orgs.UNKNOWN})
        spans = SpanStore.load(version, manifest["dim"], root)
        return cls(version, manifest, documents, chunks, vectors, fidx, bm25, analyzer, pos, organisations, spans)

    # -- search
    def dense_ranking(self, qvec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` chunks closest to ``qvec``: positions and inner products, best first (arrays)."""
        if not self.chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        k = min(k, len(self.chunks))
        _single_threaded_search()
        scores, ids = self.faiss_index.search(np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32), k)
        found = ids[0] != -1
        ids, scores = ids[0][found], scores[0][found]
        sorted_ids, positions = self._id_positions
        return positions[np.searchsorted(sorted_ids, ids)], scores

    def dense_search(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        pos, scores = self.dense_ranking(qvec, k)
        return list(zip(pos.tolist(), scores.astype(np.float64).tolist()))

    @cached_property
    def _id_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """FAISS ids sorted, and the chunk position of each (ids are hashes of the chunk ids)."""
        ids = np.fromiter(self._pos_of_id.keys(), np.int64, len(self._pos_of_id))
        pos = np.fromiter(self._pos_of_id.values(), np.int64, len(self._pos_of_id))
        order = np.argsort(ids)
        return ids[order], pos[order]

    def bm25_ranking(self, query: str | tuple[str, ...], k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over the chunks, the ``k`` best with a positive score: positions and scores, best first
        (arrays); ``query`` is text or its analysed terms (question.py)."""
        empty = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self.bm25 is None:
            return empty
        vocab = self.bm25.vocab_dict
        terms = self.analyzer.tokens(query) if isinstance(query, str) else query
        tokens = [t for t in terms if t in vocab]
        if not tokens:
            return empty
        scores = self.bm25.get_scores(tokens)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return top.astype(np.int64), scores[top]

    def bm25_search(self, query: str | tuple[str, ...], k: int) -> list[tuple[int, float]]:
        pos, scores = self.bm25_ranking(query, k)
        return list(zip(pos.tolist(), scores.astype(np.float64).tolist()))

    def chunk_mask(self, allows) -> np.ndarray:
        """Which chunks ``allows(document)`` lets through, as a boolean array over chunk positions;
        memoised per ``allows`` (a frozen ``Filters``), as one question asks for the same scope
        several times (answer/per_organisation.py) and the next questions for the same filters."""
        masks = self._masks
        mask = masks.get(allows)
        if mask is None:
            names, doc_of_chunk = self._chunk_documents
            ok = np.array([bool(allows.allows(self.documents[d])) for d in names] or [False], bool)
            mask = ok[doc_of_chunk] if len(doc_of_chunk) else np.zeros(0, bool)
            if len(masks) >= 64:
                with contextlib.suppress(StopIteration, RuntimeError, KeyError):   # another thread got there first
                    masks.pop(next(iter(masks)))
            masks[allows] = mask
        return mask

    @cached_property
    def _chunk_documents(self) -> tuple[list[str], np.ndarray]:
        """The document ids, and for each chunk the place of its document in that list."""
        names = list(self.documents)
        at = {d: i for i, d in enumerate(names)}
        return names, np.fromiter((at[c.document] for c in self.chunks), np.int64, len(self.chunks))


def manifest_problem(manifest: dict, model_id: str | None, settings: Settings | None) -> str | None:
    if manifest.get("schema_version") != SCHEMA_VERSION:
        return f"has schema version {manifest.get('schema_version')}, this program reads {SCHEMA_VERSION}"
    if model_id is not None and manifest.get("model") != model_id:
        return f"was built with model {manifest.get('model')!r}, not {model_id!r}"
    if settings is not None:
        wanted = expected_params(settings, Analyzer())["chunking"]
        if manifest.get("chunking") != wanted:
            return f"was built with chunking {manifest.get('chunking')}, settings ask for {wanted}"
    return None


def resolve_current(root: Path) -> Path | None:
    link = Path(root) / CURRENT
    if not link.is_symlink() and not link.is_dir():
        return None
    target = files.resolve(link)
    return target if (target / "manifest.json").is_file() else None
