"""A corpus folder read into documents: the files to index, each read, freed of page furniture and
cleaned with the boilerplate learned across all of them, with its metadata."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from assistant.ingest import organisations as orgs
from assistant.ingest.clean import clean_text, learn_boilerplate, strip_page_furniture
from assistant.ingest.load import LoadError, read_document
from assistant.ingest.metadata import (
    CATALOGUE,
    SIDECAR_SUFFIX,
    Meta,
    MetadataError,
    read_catalogue,
    read_sidecar,
    resolve,
)
from assistant.language.detect import language_of
from assistant.types import Document, RawDocument, Skipped

DATA_SUFFIXES = (".json", ".jsonl", ".csv")   # metadata and fixtures next to the documents, not documents


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
                   org_aliases=meta.aliases, visibility=meta.visibility, language=language_of(text))
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
