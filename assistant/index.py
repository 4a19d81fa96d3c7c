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
    v-.../spans.*.npy      vectors of the candidate quotes (see assistant/spanstore.py)

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
import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from functools import cached_property
from typing import Callable, Iterable

import numpy as np

from . import __version__
from . import index_files as files
from .chunk import chunk_document
from .clean import clean_text, learn_boilerplate, strip_page_furniture
from .config import Settings
from .coverage import Vocabulary
from .limits import ENV, limits
from .load import LoadError, read_document
from . import orgs
from .meta import (CATALOGUE, SIDECAR_SUFFIX, Meta, MetadataError, catalogue_line, read_catalogue, read_sidecar,
                   resolve, sidecar_path)
from .spanstore import SpanStore, build_spans, save_spans
from .types import RawDocument
from .text_da import Analyzer
from .types import Chunk, Document, Skipped

SCHEMA_VERSION = 2
DATA_SUFFIXES = (".json", ".jsonl", ".csv")   # metadata and fixtures next to the documents, not documents
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


# ------------------------------------------------------------------ helpers

def _document(row: dict) -> Document:
    """A Document from its documents.jsonl row (checked by index_files.read_documents)."""
    return Document(**{**row, "page_starts": tuple(row["page_starts"]), "org_aliases": tuple(row["org_aliases"])})


def passage_text(doc: Document, chunk: Chunk) -> str:
    """What is embedded and keyword-indexed for a chunk: its context, then its text."""
    path = " > ".join(chunk.headings)
    head = f"{doc.title} ({doc.organisation})" + (f" – {path}" if path else "")
    return f"{head}\n{chunk.text}"


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


@functools.lru_cache(maxsize=1)
def _single_threaded_search() -> None:
    """One question is one query vector: FAISS's OpenMP threads cost more than they save (measured
    with 1 041 chunks: 12 ms with two threads on a busy machine, 0.03 ms with one; README, "Speed")."""
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


# ------------------------------------------------------------------ loaded index

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
        documents = {r["id"]: _document(r) for r in doc_rows}
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
        several times (scoped.py) and the next questions for the same filters."""
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


# ------------------------------------------------------------------ build

@dataclass
class BuildSummary:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0                # chunks embedded in this build
    seconds: float = 0.0
    embed_seconds: float = 0.0
    spans: int = 0                   # candidate quotes with stored vectors
    spans_embedded: int = 0          # of which embedded in this build (the rest reused)
    spans_seconds: float = 0.0
    full_rebuild: str | None = None  # why everything was re-embedded
    version: str = ""
    unknown: list[dict] = field(default_factory=list)   # documents with unknown metadata and the fix

    def to_json(self) -> dict:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        return d

    def text(self) -> str:
        lines = []
        if self.full_rebuild:
            lines.append(f"Full rebuild: {self.full_rebuild}.")
        lines.append(f"added {len(self.added)}, changed {len(self.changed)}, removed {len(self.removed)}, "
                     f"unchanged {len(self.unchanged)}; {self.chunks} chunks ({self.embedded} embedded), "
                     f"{self.spans} candidate quotes ({self.spans_embedded} embedded) in {self.seconds:.1f} s")
        for s in self.skipped:
            lines.append(f"skipped {s.path}: {s.reason}")
        if self.unknown:
            lines.append(f"{len(self.unknown)} document(s) with unknown metadata; add the line to "
                         f"{CATALOGUE} in the corpus folder (or a <file>{SIDECAR_SUFFIX} sidecar):")
            for u in self.unknown:
                lines.append(f"  {u['path']}: unknown {', '.join(u['fields'])}\n    {u['fix']}")
        return "\n".join(lines)


def list_corpus(corpus: Path) -> tuple[list[Path], list[Skipped]]:
    """Files to index, sorted; symlinks that leave the corpus folder are refused."""
    corpus = Path(corpus)
    root = corpus.resolve()
    files, skipped = [], []
    for path in sorted(corpus.rglob("*")):
        rel = path.relative_to(corpus)
        if any(part.startswith(".") for part in rel.parts) or path.name.endswith(SIDECAR_SUFFIX) \
                or str(rel) == CATALOGUE or path.suffix.lower() in DATA_SUFFIXES:
            continue
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                skipped.append(Skipped(str(rel), "symlink points outside the corpus folder"))
                continue
        if path.is_dir():
            continue
        if not path.is_file():
            skipped.append(Skipped(str(rel), "not a regular file"))
            continue
        files.append(path)
    return files, skipped


@dataclass(frozen=True)
class SourceFile:
    """A file read and freed of page furniture, before corpus-wide cleaning."""
    path: Path
    raw: RawDocument
    pages: tuple[str, ...]
    furniture: str


def prepare(path: Path) -> SourceFile:
    raw = read_document(path)
    pages, furniture = strip_page_furniture(list(raw.pages)) if raw.paged else (list(raw.pages), [])
    return SourceFile(path, raw, tuple(pages), "\n".join(dict.fromkeys(furniture)))


def make_document(prep: SourceFile, corpus: Path, boilerplate: frozenset[str] = frozenset(),
                  catalogue: dict | None = None) -> tuple[Document, Meta]:
    parts = [clean_text(p, dehyphenate=prep.raw.paged, boilerplate=boilerplate) for p in prep.pages]
    text, page_starts = "", []
    for p in parts:
        if text:
            text += "\n\n"
        page_starts.append(len(text))
        text += p
    if not text.strip():
        raise LoadError("no text left after removing site navigation")
    rel = prep.path.relative_to(corpus)
    try:
        sidecar = read_sidecar(prep.path, corpus)
    except MetadataError as exc:
        raise LoadError(str(exc)) from exc
    props = dict(prep.raw.props)
    meta = resolve(text, rel, sidecar=sidecar, catalogue=(catalogue or {}).get(rel.as_posix(), {}),
                   props=props, furniture=prep.furniture)
    doc = Document(id=prep.path.stem, path=str(rel), text=text, title=meta.title,
                   organisation=meta.organisation, doc_type=meta.doc_type, date=meta.date,
                   page_starts=tuple(page_starts) if prep.raw.paged else (), date_phrase=meta.date_phrase,
                   org_aliases=meta.aliases, visibility=meta.visibility)
    return doc, meta


def load_corpus(corpus: Path, files: list[Path] | None = None, on_file: Callable[[int, int], None] | None = None
                ) -> tuple[list[tuple[Document, Meta]], list[Skipped]]:
    """Every readable document of the corpus, cleaned with the boilerplate learned across all of them.
    ``on_file(done, total)`` is called after each file is read."""
    corpus = Path(corpus)
    skipped: list[Skipped] = []
    if files is None:
        files, skipped = list_corpus(corpus)
    catalogue = read_catalogue(corpus)
    prepared: list[SourceFile] = []
    for n, path in enumerate(files, start=1):
        rel = str(path.relative_to(corpus))
        try:
            prepared.append(prepare(path))
        except LoadError as exc:
            skipped.append(Skipped(rel, str(exc)))
        except (OSError, UnicodeError, ValueError) as exc:
            skipped.append(Skipped(rel, f"{type(exc).__name__}: {exc}"))
        if on_file is not None:
            on_file(n, len(files))
    boilerplate = learn_boilerplate(["\n".join(p.pages) for p in prepared])
    out = []
    for prep in prepared:
        try:
            out.append(make_document(prep, corpus, boilerplate, catalogue))
        except LoadError as exc:
            skipped.append(Skipped(str(prep.path.relative_to(corpus)), str(exc)))
    return out, skipped


def load_document(path: Path, corpus: Path) -> Document:
    """One document on its own (no corpus-wide boilerplate evidence): for tests and tools."""
    return make_document(prepare(path), Path(corpus), catalogue=read_catalogue(corpus))[0]


def organisation_registry(documents: Iterable[Document]) -> orgs.Registry:
    reg = orgs.Registry()
    for d in documents:
        reg.add(d.organisation, d.org_aliases)
    return reg


@contextlib.contextmanager
def _build_lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"Another 'assistant index' is building {root}; wait for it to finish.")
        yield


def _vector_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _previous(root: Path, model_id: str, params: dict) -> tuple[dict, dict, str | None]:
    """(documents of the current index by id, vector by embedded-text hash, why nothing can be reused).

    A damaged current version is not reused at all: everything is rebuilt beside it.
    """
    try:
        version = resolve_current(root)
        if version is None:
            return {}, {}, None
        manifest = files.read_manifest(root, version)
        if manifest.get("schema_version") != SCHEMA_VERSION:
            old_docs = manifest.get("documents") if isinstance(manifest.get("documents"), dict) else {}
            return old_docs, {}, "the index schema changed"
        files.check_manifest(root, version, manifest)
        if manifest["model"] != model_id:
            return manifest["documents"], {}, f"the embedding model changed ({manifest['model']} -> {model_id})"
        if manifest["chunking"] != params["chunking"]:
            return manifest["documents"], {}, f"chunking parameters changed ({manifest['chunking']} -> {params['chunking']})"
        docs = {r["id"]: _document(r) for r in files.read_documents(root, version, manifest)}
        chunks = [Chunk.from_json(r) for r in files.read_chunks(root, version, manifest,
                                                                   {i: d.text for i, d in docs.items()})]
        vectors = files.read_vectors(root, version, len(chunks), manifest["dim"])
    except files.IndexDamaged as exc:
        return {}, {}, f"the current index is damaged ({exc.what}); building a fresh one beside it"
    reuse = {_vector_key(passage_text(docs[c.document], c)): v for c, v in zip(chunks, vectors)}
    return manifest["documents"], reuse, None


def build_index(corpus: Path, root: Path, embedder, settings: Settings, analyzer: Analyzer | None = None,
                progress: bool = True, after_embed: Callable[[], None] | None = None,
                log: Callable[[str], None] = lambda s: None, switch: bool = True,
                on_progress: Callable[[str, int, int], None] | None = None) -> BuildSummary:
    """Build or incrementally update the index at ``root`` from the files in ``corpus``.

    With ``switch=False`` the new version is written but ``current`` is left alone: the caller
    can evaluate it (``Index.load_version``) and then switch with ``switch_version``.
    ``on_progress(stage, done, total)`` reports "read" (files), "embed" (chunks) and "write".
    """
    t0 = time.perf_counter()
    report = on_progress or (lambda stage, done, total: None)
    corpus, root = Path(corpus), Path(root)
    if not corpus.is_dir():
        raise FileNotFoundError(f"Corpus folder {corpus} does not exist")
    analyzer = analyzer or Analyzer()
    params = expected_params(settings, analyzer)
    summary = BuildSummary()
    with _build_lock(root):
        for stale in root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        old_docs, reuse, full = _previous(root, embedder.model_id, params)
        previous_version = resolve_current(root) if not full else None
        summary.full_rebuild = full
        if full:
            log(f"Full rebuild: {full}.")
        files, summary.skipped = list_corpus(corpus)
        seen_ids: dict[str, str] = {}
        unique = []
        for path in files:
            rel = str(path.relative_to(corpus))
            if path.stem in seen_ids:
                summary.skipped.append(Skipped(rel, f"same document id '{path.stem}' as {seen_ids[path.stem]}; rename one"))
                continue
            seen_ids[path.stem] = rel
            unique.append(path)
        report("read", 0, len(unique))
        loaded, skipped = load_corpus(corpus, unique, on_file=lambda done, total: report("read", done, total))
        summary.skipped += skipped

        documents: list[Document] = []
        chunk_lists: list[list[Chunk]] = []
        hashes: dict[str, str] = {}
        unknown: dict[str, list[str]] = {}         # metadata fields no source gave, per document
        texts: list[str] = []                      # what is embedded for every chunk, in order
        rows: list[np.ndarray | None] = []         # its vector when an unchanged text can reuse one
        for doc, meta in loaded:
            chunks = chunk_document(doc, settings.chunk_chars, settings.chunk_overlap)
            if not chunks:
                summary.skipped.append(Skipped(doc.path, "no text to index"))
                continue
            if len(chunks) > (cap := limits().chunks_per_document):
                summary.skipped.append(Skipped(doc.path, f"{len(chunks)} chunks, more than {cap} per document "
                                                         f"({ENV['chunks_per_document']}); split it if it really is one document"))
                continue
            try:
                digest = content_hash(corpus / doc.path)
            except OSError as exc:            # removed or made unreadable while the build ran
                summary.skipped.append(Skipped(doc.path, f"cannot read: {exc.strerror or exc}"))
                continue
            doc_texts = [passage_text(doc, c) for c in chunks]
            reused = [reuse.get(_vector_key(t)) for t in doc_texts]
            if doc.id not in old_docs:
                summary.added.append(doc.id)
            elif any(v is None for v in reused) or old_docs[doc.id].get("sha256") != digest:
                summary.changed.append(doc.id)
            else:
                summary.unchanged.append(doc.id)
            unknown[doc.id] = meta.unknown()
            if meta.unknown():
                summary.unknown.append({"path": doc.path, "fields": meta.unknown(),
                                        "fix": catalogue_line(doc.path.replace(os.sep, "/"), meta)})
            documents.append(doc)
            chunk_lists.append(chunks)
            texts += doc_texts
            rows += reused
            hashes[doc.id] = digest
        summary.removed = sorted(set(old_docs) - set(hashes))

        # embed what is new or changed
        missing = [i for i, v in enumerate(rows) if v is None]
        t_embed = time.perf_counter()
        vectors_new = _embed_with_progress(embedder, [texts[i] for i in missing], progress,
                                           on_batch=lambda done, total: report("embed", done, total))
        summary.embed_seconds = time.perf_counter() - t_embed
        summary.embedded = len(missing)
        for i, v in zip(missing, vectors_new):
            rows[i] = v
        spans = build_spans([c for cs in chunk_lists for c in cs], embedder, previous_version)
        summary.spans, summary.spans_embedded = len(spans.keys), spans.embedded
        summary.spans_seconds = spans.seconds
        if after_embed is not None:
            after_embed()

        all_chunks = [c for cs in chunk_lists for c in cs]
        dim = len(rows[0]) if rows else embedder.dim     # nothing to embed never loads the model
        vectors = np.stack(rows).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
        summary.chunks = len(all_chunks)
        report("write", 0, 1)
        manifest = {
            "schema_version": SCHEMA_VERSION, "package_version": __version__,
            "model": embedder.model_id, "dim": dim, **params,
            "documents": {d.id: {"path": d.path, "sha256": hashes[d.id], "chunks": len(cs),
                                 **({"unknown": unknown[d.id]} if unknown[d.id] else {})}
                          for d, cs in zip(documents, chunk_lists)},
            "chunks": len(all_chunks), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            summary.version = _write_version(root, manifest, documents, all_chunks, vectors, texts,
                                             analyzer, settings, spans, switch)
        except OSError as exc:        # full disk, quota, read-only folder: the previous index is untouched
            raise IndexWriteError(f"Could not write the new index version in {root}: "
                                  f"{exc.strerror or exc}. The previous index is unchanged and still "
                                  "served; free space and run assistant index again.") from exc
        report("write", 1, 1)
    summary.seconds = time.perf_counter() - t0
    return summary


def _embed_with_progress(embedder, texts: list[str], progress: bool, batch: int = 32,
                         on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Embed in batches of similar length (little padding), in the original order."""
    if on_batch is not None:
        on_batch(0, len(texts))
    if not texts:
        return np.zeros((0, 0), np.float32)
    from tqdm import tqdm
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = []
    with tqdm(total=len(texts), desc="Embedding", unit="chunk", disable=not progress, leave=False) as bar:
        for i in range(0, len(order), batch):
            out.append(embedder.embed_passages([texts[j] for j in order[i:i + batch]]))
            bar.update(len(out[-1]))
            if on_batch is not None:
                on_batch(min(i + batch, len(texts)), len(texts))
    sorted_vecs = np.concatenate(out).astype(np.float32)
    vecs = np.empty_like(sorted_vecs)
    vecs[order] = sorted_vecs
    return vecs


def _make_faiss(vectors: np.ndarray, chunks: list[Chunk], ann: str, dim: int):
    import faiss
    base = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT) if ann == "hnsw" else faiss.IndexFlatIP(dim)
    if ann == "hnsw":
        base.hnsw.efSearch = 128
        base.hnsw.efConstruction = 80
    idx = faiss.IndexIDMap2(base)
    if len(chunks):
        idx.add_with_ids(vectors, np.array([faiss_id(c.id) for c in chunks], dtype=np.int64))
    return idx


def _write_version(root: Path, manifest: dict, documents: list[Document], chunks: list[Chunk],
                   vectors: np.ndarray, texts: list[str], analyzer: Analyzer, settings: Settings,
                   spans=None, switch: bool = True) -> str:
    import bm25s
    import faiss

    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        _write_jsonl(tmp / "documents.jsonl", ({**d.meta(), "text": d.text} for d in documents))
        _write_jsonl(tmp / "chunks.jsonl", (c.to_json() for c in chunks))
        _write_json(tmp / "organisations.json", organisation_registry(documents).to_json())
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        faiss.write_index(_make_faiss(vectors, chunks, settings.ann, manifest["dim"]), str(tmp / "dense.faiss"))
        if spans is not None:
            save_spans(spans, tmp)
        if chunks:
            bm = bm25s.BM25()
            bm.index([analyzer.tokens(t) or ["∅"] for t in texts], show_progress=False)
            bm.save(str(tmp / "bm25"), show_progress=False)
        _write_json(tmp / "manifest.json", manifest)   # written last: its presence marks a complete version
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
        os.rename(tmp, root / name)
        if switch:
            _switch(root, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        current = resolve_current(root)
    except files.IndexDamaged:            # e.g. a symlink loop left by damage: keep only the new version
        current = None
    _prune_versions(root, keep={name} | ({current.name} if current is not None else set()))
    return name


def _switch(root: Path, name: str) -> None:
    """Point ``current`` at version ``name`` with one atomic rename (and make it durable)."""
    link_tmp = root / f".tmp-link-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(name, link_tmp)
    os.replace(link_tmp, root / CURRENT)       # the atomic switch
    dirfd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def switch_version(root: Path, name: str) -> None:
    """Make the complete version ``name`` (built with ``switch=False``) the serving one."""
    root = Path(root)
    if "/" in name or name.startswith(".") or not (root / name / "manifest.json").is_file():
        raise MissingIndex(f"No complete index version {name!r} in {root}")
    with _build_lock(root):
        _switch(root, name)
        _prune_versions(root, keep={name})


def _prune_versions(root: Path, keep: set[str], keep_last: int = 2) -> None:
    """Remove old versions, keeping the newest ``keep_last`` (a server may still be loading one)."""
    versions = sorted((p for p in root.glob("v-*") if p.is_dir()), key=lambda p: p.name, reverse=True)
    for p in versions[keep_last:]:
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
