"""Read .txt/.md/.html/.htm/.pdf/.docx files into RawDocuments (pages kept for PDFs).

Every failure is a LoadError whose message is the reason shown to the user;
the caller skips that file and indexes the rest.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from .types import RawDocument

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
MAX_BYTES = 100 * 1024 * 1024          # PDF and DOCX (may carry images)
MAX_TEXT_BYTES = 10 * 1024 * 1024      # plain text and HTML: about 5 000 pages, far beyond any policy


class LoadError(Exception):
    """A file that cannot be indexed; str(error) is the reason."""


def read_document(path: Path) -> RawDocument:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror}") from exc
    if size == 0:
        raise LoadError("empty file")
    limit = MAX_BYTES if suffix in (".pdf", ".docx") else MAX_TEXT_BYTES
    if size > limit:
        raise LoadError(f"file too large ({size // 2**20} MB > {limit // 2**20} MB for {suffix} files); "
                        "split it if it really is one document")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror}") from exc
    if suffix == ".pdf":
        return _read_pdf(path, data)
    if suffix == ".docx":
        return _read_docx(path, data)
    text = decode_text(data)
    if suffix in (".html", ".htm"):
        text = html_to_text(text)
    if not text.strip():
        raise LoadError("no text")
    return RawDocument(str(path), (text,))


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252/Latin-1 as older Danish exports are."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        nuls = data.count(b"\x00")
        if nuls > max(8, 0.01 * len(data)):     # a stray NUL or two is dropped; many mean binary
            raise LoadError("binary file (NUL bytes), not text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    text = text.replace("\x00", "")
    controls = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 20000):
        raise LoadError("binary file (control characters), not text")
    return text


def html_to_text(html: str) -> str:
    """Main content of a web page as Markdown-like text (headings kept as '#')."""
    import trafilatura

    text = trafilatura.extract(html, output_format="markdown", include_tables=True,
                               include_comments=False, favor_recall=True)
    if not text:
        from lxml import html as lxml_html
        try:
            text = lxml_html.fromstring(html).text_content()
        except Exception as exc:  # noqa: BLE001
            raise LoadError(f"unreadable HTML: {exc}") from exc
    return text


def _read_pdf(path: Path, data: bytes) -> RawDocument:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001
                raise LoadError(f"encrypted PDF ({exc})") from exc
            if not ok:
                raise LoadError("encrypted PDF (password required)")
        pages = tuple(page.extract_text() or "" for page in reader.pages)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds, PdfReadError among them
        raise LoadError(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
    if not any(p.strip() for p in pages):
        raise LoadError("PDF has no text layer (scanned image?); run OCR first")
    return RawDocument(str(path), pages, paged=True)


def _read_docx(path: Path, data: bytes) -> RawDocument:
    try:
        import docx
        doc = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"corrupt DOCX ({type(exc).__name__})") from exc
    lines = []
    for p in doc.paragraphs:
        style = (p.style.name or "").lower() if p.style is not None else ""
        text = p.text.strip()
        if not text:
            continue
        m = re.match(r"heading (\d)", style)
        if m or style == "title":
            lines += ["", "#" * (int(m.group(1)) if m else 1) + " " + text, ""]
        elif "list" in style:
            lines.append("• " + text)
        else:
            lines += [text, ""]
    text = "\n".join(lines)
    if not text.strip():
        raise LoadError("no text")
    return RawDocument(str(path), (text,))
