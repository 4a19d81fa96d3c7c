"""Documents added, replaced, deleted and described from the administration page.

An upload is checked by its content, not its name: a PDF starts with ``%PDF-``, a DOCX is
a ZIP holding ``word/document.xml``, HTML and text must decode as text (HTML with a tag
that HTML documents have). The client's file name only has to agree with what the content
is; it never becomes a path. The file is stored in the corpus folder under a generated name
(``dok-<10 hex digits>.<type>``), written to a hidden temporary file first and renamed into
place, and read once with the indexer's own reader so that an unreadable file (a scanned
PDF without text, an encrypted one) is refused at once with the reason. Metadata edits are
written to the document's sidecar ``<stem>.meta.json``, which wins over every other source.

Every message here is Danish: it is shown on the page.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.corpus import list_corpus
from assistant.ingest.load import LoadError, decode_text
from assistant.ingest.metadata import (
    MAX_FIELD_CHARS,
    SIDECAR_SUFFIX,
    VISIBILITIES,
    MetadataError,
    check_visibility,
    normalise_date,
    sidecar_path,
)
from assistant.limits import ENV, limits

MB = 1024 * 1024
KINDS = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "txt": ".txt"}
NAMES = {"pdf": "PDF", "docx": "Word (DOCX)", "html": "HTML", "txt": "tekst"}
# what the client's file name may end in for each kind of content
CLAIMS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "txt", ".md": "txt"}
_HTML = re.compile(rb"<(!doctype\s+html|html|head|body|p|div|h[1-6]|article|main|title)\b", re.I)
GENERATED = re.compile(r"^dok-[0-9a-f]{10}$")
EDITABLE = ("organisation", "title", "doc_type", "date", "visibility")


class UploadError(ValueError):
    """Why a file or a form was refused, in Danish, for the page."""


def upload_limit() -> int:
    """Largest document the administration page takes (``ASSISTANT_DOCUMENT_UPLOAD_BYTES``, limits.py)."""
    return limits().document_upload_bytes


def sniff(data: bytes) -> str | None:
    """The kind of document ``data`` is, judged by its content alone; None when none of ours."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        return "docx" if "word/document.xml" in names and "[Content_Types].xml" in names else None
    try:
        decode_text(data)
    except LoadError:
        return None
    return "html" if _HTML.search(data[:65536]) else "txt"


def check_upload(filename: str, data: bytes, limit: int | None = None) -> str:
    """The kind of an uploaded file, or UploadError saying what is wrong with it."""
    limit = upload_limit() if limit is None else limit
    if not data:
        raise UploadError("Filen er tom.")
    if len(data) > limit:
        raise UploadError(f"Filen er for stor ({len(data) / MB:.1f} MB); grænsen er {limit / MB:.0f} MB.")
    suffix = Path((filename or "").replace("\\", "/")).suffix.lower()
    claimed = CLAIMS.get(suffix)
    if claimed is None:
        raise UploadError(f"Filtypen »{suffix or 'uden endelse'}« understøttes ikke; upload PDF, DOCX, HTML eller TXT.")
    kind = sniff(data)
    if kind is None:
        raise UploadError(f"Filen hedder {suffix}, men indholdet er hverken PDF, DOCX, HTML eller tekst.")
    if kind != claimed and not (claimed == "txt" and kind == "html"):
        raise UploadError(f"Filen hedder {suffix}, men indholdet er {NAMES[kind]}; kontrollér at det er den rigtige fil.")
    return "txt" if claimed == "txt" else kind


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".upload-{secrets.token_hex(6)}.tmp")   # hidden: the indexer skips it
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


PROBE_STARTUP_SECONDS = 15.0     # the probe process's own start (Python and the readers' imports)


def _readable(data: bytes, kind: str, corpus: Path) -> None:
    """Read the file with the indexer's reader (from a hidden temporary file) before accepting it, in a
    process of its own (ingest/probe.py) that is killed past the PDF time limit: a file slow within one
    page cannot hold the server."""
    probe = corpus / f".probe-{secrets.token_hex(6)}{KINDS[kind]}"
    seconds = limits().pdf_seconds
    try:
        probe.write_bytes(data)
        try:
            done = subprocess.run([sys.executable, "-m", "assistant.ingest.probe", str(probe)], capture_output=True,
                                  text=True, timeout=seconds + PROBE_STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            raise UploadError(f"Dokumentet kan ikke læses (det tog over {seconds:g} s; "
                              f"{ENV['pdf_seconds']}).") from None
        if done.returncode != 0:
            reason = (done.stderr or "").strip().splitlines()[-1:] or ["ukendt fejl"]
            raise UploadError(f"Dokumentet kan ikke læses ({reason[0][:300]}).")
    finally:
        probe.unlink(missing_ok=True)


def store_new(corpus: Path, data: bytes, kind: str) -> Path:
    """A new document in the corpus folder under a generated name; returns its path."""
    corpus = Path(corpus)
    _readable(data, kind, corpus)
    while True:
        path = corpus / f"dok-{secrets.token_hex(5)}{KINDS[kind]}"
        if not any(corpus.glob(path.stem + ".*")):
            break
    _write_atomic(path, data)
    return path


def replace(path: Path, data: bytes, kind: str, corpus: Path) -> Path:
    """A new version of the document at ``path``: same name (same id and sidecar), new content
    and, when the type changed, the new type's ending."""
    _readable(data, kind, Path(corpus))
    new = path.with_suffix(KINDS[kind])
    _write_atomic(new, data)
    if new != path:
        path.unlink(missing_ok=True)
    return new


def delete(path: Path) -> None:
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)


def read_fields(path: Path) -> dict:
    side = sidecar_path(path)
    try:
        data = json.loads(side.read_text(encoding="utf-8")) if side.is_file() else {}
    except (OSError, ValueError):
        data = {}
    return data if isinstance(data, dict) else {}


def clean_fields(form: dict) -> dict:
    """Validated metadata from the form (empty fields left out), or UploadError in Danish."""
    out = {}
    for key in EDITABLE:
        value = " ".join(str(form.get(key) or "").split())
        if not value:
            continue
        if len(value) > MAX_FIELD_CHARS:
            raise UploadError(f"Feltet {key} er længere end {MAX_FIELD_CHARS} tegn.")
        if key == "date":
            iso = normalise_date(value)
            if not iso:
                raise UploadError(f"Datoen »{value}« kan ikke læses; skriv fx 2021-03-14, 2021-03 eller 2021.")
            value = iso
        if key == "visibility":
            try:
                value = check_visibility(value, "visibility")
            except MetadataError:
                raise UploadError(f"Synlighed skal være {' eller '.join(VISIBILITIES)}.") from None
        out[key] = value
    return out


def write_fields(path: Path, fields: dict) -> dict:
    """Merge ``fields`` into the document's sidecar (atomically); returns what changed."""
    old = read_fields(path)
    new = {**old, **fields}
    changed = {k: v for k, v in fields.items() if old.get(k) != v}
    if changed:
        side = sidecar_path(path)
        _write_atomic(side, (json.dumps(new, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return changed


@dataclass(frozen=True)
class CorpusFile:
    id: str
    path: Path          # absolute
    rel: str            # relative to the corpus folder

    @property
    def generated(self) -> bool:
        return bool(GENERATED.match(self.id))


def corpus_files(corpus: Path) -> dict[str, CorpusFile]:
    """The corpus' documents by id (file stem), as the indexer lists them."""
    corpus = Path(corpus)
    files, _ = list_corpus(corpus)
    out: dict[str, CorpusFile] = {}
    for p in files:
        if p.stem not in out and not p.name.endswith(SIDECAR_SUFFIX):
            out[p.stem] = CorpusFile(p.stem, p, p.relative_to(corpus).as_posix())
    return out
