"""Building an index version: embed what changed, write a new version directory, switch ``current``
atomically (see store/index.py for the layout)."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from assistant import __version__
from assistant.config import Settings
from assistant.ingest.chunk import chunk_document
from assistant.ingest.corpus import list_corpus, load_corpus, organisation_registry
from assistant.ingest.metadata import (
    CATALOGUE,
    SIDECAR_SUFFIX,
    catalogue_line,
)
from assistant.language.danish import Analyzer
from assistant.limits import ENV, limits
from assistant.store import files
from assistant.store.index import (
    CURRENT,
    SCHEMA_VERSION,
    IndexWriteError,
    MissingIndex,
    content_hash,
    document_from_row,
    expected_params,
    faiss_id,
    passage_text,
    resolve_current,
    write_json,
    write_jsonl,
)
from assistant.store.spans import build_spans, save_spans
from assistant.types import Chunk, Document, Skipped


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
        docs = {r["id"]: document_from_row(r) for r in files.read_documents(root, version, manifest)}
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
        write_jsonl(tmp / "documents.jsonl", ({**d.meta(), "text": d.text} for d in documents))
        write_jsonl(tmp / "chunks.jsonl", (c.to_json() for c in chunks))
        write_json(tmp / "organisations.json", organisation_registry(documents).to_json())
        np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
        faiss.write_index(_make_faiss(vectors, chunks, settings.ann, manifest["dim"]), str(tmp / "dense.faiss"))
        if spans is not None:
            save_spans(spans, tmp)
        if chunks:
            bm = bm25s.BM25()
            bm.index([analyzer.tokens(t) or ["∅"] for t in texts], show_progress=False)
            bm.save(str(tmp / "bm25"), show_progress=False)
        write_json(tmp / "manifest.json", manifest)   # written last: its presence marks a complete version
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
