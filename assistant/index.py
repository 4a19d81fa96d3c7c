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
    v-.../spans.*.npy      vectors of the candidate quotes (see assistant/spanstore.py)

A build writes a new version into ``.tmp-*`` and then swaps the ``current``
symlink with an atomic rename, so a reader sees either the old or the new
version, never a half-written one, and an interrupted build leaves the previous
index serving. Unchanged documents (same content hash, same parameters) are
reused with their vectors, without embedding.
"""
from __future__ import annotations

import contextlib
import fcntl
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
from .chunk import chunk_document
from .clean import clean_text
from .config import Settings
from .coverage import Vocabulary
from .load import LoadError, read_document
from .meta import SIDECAR_SUFFIX, extract_metadata, read_sidecar, sidecar_path
from .spanstore import SpanStore, build_spans, save_spans
from .text_da import Analyzer
from .types import Chunk, Document, Skipped

SCHEMA_VERSION = 1
CURRENT = "current"


class IndexMismatch(RuntimeError):
    """The index on disk cannot be used with these settings; rebuild it."""


class MissingIndex(RuntimeError):
    pass


# ------------------------------------------------------------------ helpers

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


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


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

    @property
    def version(self) -> str:
        return self.path.name

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Word forms of the documents (text, titles, organisations): for abstention."""
        docs = self.documents.values()
        return Vocabulary([d.text for d in docs] + [f"{d.title} {d.organisation}" for d in docs])

    @cached_property
    def spans(self) -> SpanStore | None:
        """Stored vectors of the candidate quotes (memory-mapped), or None for an older index."""
        return SpanStore.load(self.path)

    @classmethod
    def load(cls, root: Path, model_id: str | None = None, settings: Settings | None = None) -> "Index":
        root = Path(root)
        version = resolve_current(root)
        if version is None:
            raise MissingIndex(f"No index in {root}. Build it with: assistant index --index {root}")
        try:
            manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexMismatch(f"The index in {root} is unreadable ({exc}). Rebuild it: assistant index") from exc
        problem = manifest_problem(manifest, model_id, settings)
        if problem:
            raise IndexMismatch(f"The index in {root} {problem}. Rebuild it: assistant index --index {root}")
        import bm25s
        import faiss

        documents = {}
        for row in _read_jsonl(version / "documents.jsonl"):
            row["page_starts"] = tuple(row.get("page_starts") or ())
            documents[row["id"]] = Document(**row)
        chunks = [Chunk.from_json(r) for r in _read_jsonl(version / "chunks.jsonl")]
        vectors = np.load(version / "vectors.npy", allow_pickle=False)
        if len(vectors) != len(chunks) or (len(chunks) and vectors.shape[1] != manifest["dim"]):
            raise IndexMismatch(f"The index in {root} is inconsistent (vectors vs chunks). Rebuild it: assistant index")
        fidx = faiss.read_index(str(version / "dense.faiss"))
        bm25 = bm25s.BM25.load(str(version / "bm25"), load_corpus=False, show_progress=False) if chunks else None
        analyzer = Analyzer(**manifest["analyzer"])
        pos = {faiss_id(c.id): i for i, c in enumerate(chunks)}
        return cls(version, manifest, documents, chunks, vectors, fidx, bm25, analyzer, pos)

    # -- search
    def dense_search(self, qvec: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        k = min(k, len(self.chunks))
        scores, ids = self.faiss_index.search(np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32), k)
        return [(self._pos_of_id[int(i)], float(s)) for s, i in zip(scores[0], ids[0]) if i != -1]

    def bm25_search(self, query: str, k: int) -> list[tuple[int, float]]:
        if self.bm25 is None:
            return []
        vocab = self.bm25.vocab_dict
        tokens = [t for t in self.analyzer.tokens(query) if t in vocab]
        if not tokens:
            return []
        scores = self.bm25.get_scores(tokens)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


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
    target = link.resolve()
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
        return "\n".join(lines)


def list_corpus(corpus: Path) -> tuple[list[Path], list[Skipped]]:
    """Files to index, sorted; symlinks that leave the corpus folder are refused."""
    corpus = Path(corpus)
    root = corpus.resolve()
    files, skipped = [], []
    for path in sorted(corpus.rglob("*")):
        rel = path.relative_to(corpus)
        if any(part.startswith(".") for part in rel.parts) or path.name.endswith(SIDECAR_SUFFIX):
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


def load_document(path: Path, corpus: Path) -> Document:
    raw = read_document(path)
    parts = [clean_text(p, dehyphenate=raw.paged) for p in raw.pages]
    text, page_starts = "", []
    for p in parts:
        if text:
            text += "\n\n"
        page_starts.append(len(text))
        text += p
    if not text.strip():
        raise LoadError("no text left after removing site navigation")
    meta = extract_metadata(text, path.stem)
    try:
        meta.update(read_sidecar(path))
    except ValueError as exc:
        raise LoadError(str(exc)) from exc
    return Document(id=path.stem, path=str(path.relative_to(corpus)), text=text,
                    page_starts=tuple(page_starts) if raw.paged else (), **meta)


@contextlib.contextmanager
def _build_lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"Another 'assistant index' is building {root}; wait for it to finish.")
        yield


def _previous(root: Path, model_id: str, params: dict) -> tuple[dict, dict, str | None]:
    """Reusable (document metadata by id, (chunks, vectors) by id) from the current index."""
    version = resolve_current(root)
    if version is None:
        return {}, {}, None
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}, "the previous index is unreadable"
    if manifest.get("schema_version") != SCHEMA_VERSION:
        return {}, {}, "the index schema changed"
    if manifest.get("model") != model_id:
        return manifest.get("documents", {}), {}, f"the embedding model changed ({manifest.get('model')} -> {model_id})"
    if manifest.get("chunking") != params["chunking"]:
        return manifest.get("documents", {}), {}, f"chunking parameters changed ({manifest.get('chunking')} -> {params['chunking']})"
    try:
        docs = {r["id"]: r for r in _read_jsonl(version / "documents.jsonl")}
        chunks = [Chunk.from_json(r) for r in _read_jsonl(version / "chunks.jsonl")]
        vectors = np.load(version / "vectors.npy", allow_pickle=False)
    except (OSError, ValueError) as exc:
        return manifest.get("documents", {}), {}, f"the previous index is unreadable ({exc})"
    by_doc: dict[str, tuple[list[Chunk], list[np.ndarray]]] = {}
    for c, v in zip(chunks, vectors):
        by_doc.setdefault(c.document, ([], []))
        by_doc[c.document][0].append(c)
        by_doc[c.document][1].append(v)
    reuse = {}
    for doc_id, info in manifest.get("documents", {}).items():
        if doc_id in docs:
            row = dict(docs[doc_id])
            row["page_starts"] = tuple(row.get("page_starts") or ())
            cs, vs = by_doc.get(doc_id, ([], []))
            reuse[doc_id] = (info["sha256"], Document(**row), cs, vs)
    return manifest.get("documents", {}), reuse, None


def build_index(corpus: Path, root: Path, embedder, settings: Settings, analyzer: Analyzer | None = None,
                progress: bool = True, after_embed: Callable[[], None] | None = None,
                log: Callable[[str], None] = lambda s: None) -> BuildSummary:
    """Build or incrementally update the index at ``root`` from the files in ``corpus``."""
    t0 = time.perf_counter()
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

        documents: list[Document] = []
        chunk_lists: list[list[Chunk]] = []
        vec_lists: list[np.ndarray | None] = []
        hashes: dict[str, str] = {}
        to_embed: list[tuple[int, Document, list[Chunk]]] = []
        seen_ids: dict[str, str] = {}
        for path in files:
            rel = str(path.relative_to(corpus))
            doc_id = path.stem
            if doc_id in seen_ids:
                summary.skipped.append(Skipped(rel, f"same document id '{doc_id}' as {seen_ids[doc_id]}; rename one"))
                continue
            try:
                digest = content_hash(path)
                prev = reuse.get(doc_id)
                if prev and prev[0] == digest and prev[1].path == rel:
                    doc, chunks, vecs = prev[1], prev[2], prev[3]
                    documents.append(doc)
                    chunk_lists.append(chunks)
                    vec_lists.append(np.stack(vecs) if vecs else np.zeros((0, 0), np.float32))
                    summary.unchanged.append(doc_id)
                else:
                    doc = load_document(path, corpus)
                    chunks = chunk_document(doc, settings.chunk_chars, settings.chunk_overlap)
                    if not chunks:
                        raise LoadError("no text to index")
                    to_embed.append((len(documents), doc, chunks))
                    documents.append(doc)
                    chunk_lists.append(chunks)
                    vec_lists.append(None)
                    (summary.changed if doc_id in old_docs else summary.added).append(doc_id)
            except LoadError as exc:
                summary.skipped.append(Skipped(rel, str(exc)))
                continue
            except (OSError, UnicodeError, ValueError) as exc:
                summary.skipped.append(Skipped(rel, f"{type(exc).__name__}: {exc}"))
                continue
            seen_ids[doc_id] = rel
            hashes[doc_id] = digest
        summary.removed = sorted(set(old_docs) - set(hashes))

        # embed what is new or changed
        texts = [passage_text(doc, c) for _, doc, chunks in to_embed for c in chunks]
        t_embed = time.perf_counter()
        vectors_new = _embed_with_progress(embedder, texts, progress)
        summary.embed_seconds = time.perf_counter() - t_embed
        summary.embedded = len(texts)
        pos = 0
        for i, _, chunks in to_embed:
            vec_lists[i] = vectors_new[pos:pos + len(chunks)]
            pos += len(chunks)
        spans = build_spans([c for cs in chunk_lists for c in cs], embedder,
                            previous_version)
        summary.spans, summary.spans_embedded = len(spans.keys), spans.embedded
        summary.spans_seconds = spans.seconds
        if after_embed is not None:
            after_embed()

        all_chunks = [c for cs in chunk_lists for c in cs]
        dim = vectors_new.shape[1] if len(texts) else _reused_dim(vec_lists) or embedder.dim
        nonempty = [v for v in vec_lists if v is not None and len(v)]
        vectors = np.concatenate(nonempty).astype(np.float32) if nonempty else np.zeros((0, dim), np.float32)
        summary.chunks = len(all_chunks)
        manifest = {
            "schema_version": SCHEMA_VERSION, "package_version": __version__,
            "model": embedder.model_id, "dim": dim, **params,
            "documents": {d.id: {"path": d.path, "sha256": hashes[d.id], "chunks": len(cs)}
                          for d, cs in zip(documents, chunk_lists)},
            "chunks": len(all_chunks), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        by_id = {d.id: d for d in documents}
        summary.version = _write_version(root, manifest, documents, all_chunks, vectors,
                                         [passage_text(by_id[c.document], c) for c in all_chunks],
                                         analyzer, settings, spans)
    summary.seconds = time.perf_counter() - t0
    return summary


def _reused_dim(vec_lists) -> int | None:
    """The dimension of reused vectors, so a build with nothing to embed never loads the model."""
    for v in vec_lists:
        if v is not None and v.ndim == 2 and v.shape[0]:
            return int(v.shape[1])
    return None


def _embed_with_progress(embedder, texts: list[str], progress: bool, batch: int = 32) -> np.ndarray:
    """Embed in batches of similar length (little padding), in the original order."""
    if not texts:
        return np.zeros((0, 0), np.float32)
    from tqdm import tqdm
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = []
    with tqdm(total=len(texts), desc="Embedding", unit="chunk", disable=not progress, leave=False) as bar:
        for i in range(0, len(order), batch):
            out.append(embedder.embed_passages([texts[j] for j in order[i:i + batch]]))
            bar.update(len(out[-1]))
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
                   spans=None) -> str:
    import bm25s
    import faiss

    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        _write_jsonl(tmp / "documents.jsonl", ({**d.meta(), "text": d.text} for d in documents))
        _write_jsonl(tmp / "chunks.jsonl", (c.to_json() for c in chunks))
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
        final = root / name
        os.rename(tmp, final)
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune_versions(root, keep={name})
    return name


def _prune_versions(root: Path, keep: set[str], keep_last: int = 2) -> None:
    """Remove old versions, keeping the newest ``keep_last`` (a server may still be loading one)."""
    versions = sorted((p for p in root.glob("v-*") if p.is_dir()), key=lambda p: p.name, reverse=True)
    for p in versions[keep_last:]:
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)
