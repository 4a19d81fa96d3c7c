"""Read .txt/.md/.html/.htm/.pdf/.docx files into RawDocuments (pages kept for PDFs).

Every failure is a LoadError whose message is the reason shown to the user;
the caller skips that file and indexes the rest.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest.clean import TOC_LINE, join_hyphenated
from assistant.limits import ENV, limits
from assistant.types import RawDocument

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


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
    binary = suffix in (".pdf", ".docx")
    limit = limits().binary_bytes if binary else limits().text_bytes
    if size > limit:
        raise LoadError(f"file too large ({size // 2**20} MB > {limit // 2**20} MB for {suffix} files, "
                        f"{ENV['binary_bytes' if binary else 'text_bytes']}); split it if it really is one document")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror}") from exc
    if suffix == ".pdf":
        return _read_pdf(path, data)
    if suffix == ".docx":
        return _read_docx(path, data)
    text = decode_text(data)
    props: dict = {}
    if suffix in (".html", ".htm"):
        props = html_properties(text)
        text = html_to_text(text)
    if not text.strip():
        raise LoadError("no text")
    return RawDocument(str(path), (text,), props=tuple(sorted(props.items())))


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


def html_properties(html: str) -> dict:
    """The page's own metadata: <title>, og:*, author, dcterms.* (the <h1> arrives as the text's first heading)."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.fromstring(html)
    except Exception:  # noqa: BLE001 - an unparsable page simply has no metadata
        return {}
    props = {}
    title = root.findtext(".//title")
    if title:
        props["title"] = " ".join(title.split())
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        value = " ".join((meta.get("content") or "").split())
        if value and key in ("og:site_name", "og:title", "author", "publisher", "dcterms.title",
                             "dcterms.publisher", "dcterms.creator", "dcterms.modified", "dcterms.issued",
                             "dc.title", "dc.publisher"):
            props[key.replace("dc.", "dcterms.") if key.startswith("dc.") else key] = value
    return props


def html_to_text(html: str) -> str:
    """Main content of a web page as plain text: headings as '#' lines, list items as bullets,
    table rows with their cells separated by ' | '. Text is text: no Markdown escapes, entities decoded."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(html, output_format="xml", include_tables=True, include_comments=False,
                              favor_recall=True)
    if not xml:
        from lxml import html as lxml_html
        try:
            return lxml_html.fromstring(html).text_content()
        except Exception as exc:  # noqa: BLE001
            raise LoadError(f"unreadable HTML: {exc}") from exc
    root = etree.fromstring(xml.encode("utf-8"), parser=etree.XMLParser(recover=True, huge_tree=False))
    main = root.find("main")
    lines: list[str] = []

    def text_of(el) -> str:
        return " ".join("".join(el.itertext()).split())

    def walk(el):
        for child in el:
            tag = child.tag
            if tag == "head":
                rend = child.get("rend") or ""
                level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
                lines.extend(["", "#" * level + " " + text_of(child), ""])
            elif tag == "list":
                for item in child.iter("item"):
                    t = text_of(item)
                    if t:
                        lines.append("• " + t)
                lines.append("")
            elif tag == "table":
                for row in child.iter("row"):
                    cells = [text_of(c) for c in row.iter("cell")]
                    if any(cells):
                        lines.extend([" | ".join(c for c in cells if c), ""])
            elif tag in ("p", "quote", "code"):
                t = text_of(child)
                if t:
                    lines.extend([t, ""])
            elif tag in ("div", "section", "main"):
                walk(child)
            else:
                t = text_of(child)
                if t:
                    lines.extend([t, ""])

    walk(main if main is not None else root)
    return "\n".join(lines)


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
        pages = _pdf_pages(reader, data)
        props = pdf_properties(reader)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds, PdfReadError among them
        raise LoadError(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
    if not any(p.strip() for p in pages):
        raise LoadError("PDF has no text layer (scanned image?); run OCR first")
    return RawDocument(str(path), pages, paged=True, props=tuple(sorted(props.items())))


def pdf_properties(reader) -> dict:
    """Document info and XMP title/author of a PDF (values only, junk is judged in ingest/metadata.py)."""
    props = {}
    try:
        info = reader.metadata or {}
        for key, name in (("/Title", "title"), ("/Author", "author")):
            value = info.get(key)
            if value and str(value).strip():
                props[name] = " ".join(str(value).split())
    except Exception:  # noqa: BLE001 - broken info dictionaries are common; metadata is optional
        pass
    try:
        xmp = reader.xmp_metadata
        if xmp is not None:
            if xmp.dc_title and not props.get("title"):
                props["title"] = " ".join(next(iter(xmp.dc_title.values()), "").split())
            if xmp.dc_creator and not props.get("author"):
                props["author"] = " ".join(" ".join(xmp.dc_creator).split())
    except Exception:  # noqa: BLE001
        pass
    return props


def _pdf_pages(reader, data: bytes = b"") -> tuple[str, ...]:
    """Text per page, within the page-count and time limits (the count is read before the page tree)."""
    import time
    lim = limits()
    count = _count_pages(reader.trailer["/Root"]["/Pages"], lim.pdf_pages)
    if count > lim.pdf_pages:
        raise LoadError(f"PDF has more than {lim.pdf_pages} pages ({ENV['pdf_pages']}); split it if it really is one document")
    deadline = time.monotonic() + lim.pdf_seconds
    grids = _TableGrids(data)
    pages = []
    try:
        for n, page in enumerate(reader.pages):
            if time.monotonic() > deadline:
                raise LoadError(f"PDF text extraction took longer than {lim.pdf_seconds:g} s "
                                f"(stopped at page {len(pages) + 1}, {ENV['pdf_seconds']})")
            pages.append(_PdfPage.read(page, grids.of_page(n, page)))
    finally:
        grids.close()
    return mark_pdf_headings(pages)


# -- PDF tables, row by row. pypdf reads a table cell by cell, each cell's lines one under the other, so
# the rows of an office PDF's table ran together into one paragraph ("... kursus Ja Del den med kollegerne
# En flaske vin ..."). The table's grid comes from its ruling lines, found by pdfplumber (pdfminer's
# layout); the text stays pypdf's: each piece of text goes to the cell its position falls in, and the table
# becomes one line per row, its cells separated by ' | ', as HTML and Word tables are read.
Cell = tuple[float, float, float, float]        # x0, y0, x1, y1 in the page's PDF coordinates (y up)
_DRAWS_LINES = re.compile(rb"\s(?:l|re)\s")    # a path segment or rectangle: a page that may have ruled tables
_MAX_GRID_STREAM = 2_000_000                    # bytes of page content beyond which tables are not looked for


class _TableGrids:
    """The ruled tables of a PDF's pages (rows of cells, at least two rows and two columns each), found
    by pdfplumber on the pages that draw lines; none when it cannot read the file (pypdf's text stays)."""

    def __init__(self, data: bytes):
        self.data, self._pdf = data, None

    def of_page(self, n: int, page) -> tuple[tuple[tuple[Cell, ...], ...], ...]:
        try:
            content = page.get_contents()
            stream = content.get_data() if content is not None else b""
            if not self.data or len(stream) > _MAX_GRID_STREAM or not _DRAWS_LINES.search(stream):
                return ()
            if self._pdf is None:
                import pdfplumber
                self._pdf = pdfplumber.open(io.BytesIO(self.data))
            plumbed = self._pdf.pages[n]
            top = float(page.mediabox.top)
            tables = []
            for table in plumbed.find_tables():
                rows = tuple(tuple((c[0], top - c[3], c[2], top - c[1]) for c in row.cells if c is not None)
                             for row in table.rows)
                rows = tuple(r for r in rows if r)
                if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                    tables.append(rows)
            return tuple(tables)
        except Exception:  # noqa: BLE001 - tables are an improvement; pypdf's text is the fallback
            return ()

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def _table_rows(parts: list[tuple], tables) -> list[tuple]:
    """``parts`` (pypdf's pieces of a page: text, size, bold, x, y) with each table's pieces replaced by one
    piece holding its rows, a paragraph each: its cells' text joined by ' | '. A table whose span of
    pieces holds text outside its cells is left as it was."""
    def locate(x: float, y: float):
        for t, rows in enumerate(tables):
            for r, row in enumerate(rows):
                for c, (x0, y0, x1, y1) in enumerate(row):
                    if x0 - 1 <= x <= x1 + 1 and y0 - 1 <= y <= y1 + 1:
                        return t, r, c
        return None

    where = [locate(p[3], p[4]) if p[0].strip() else None for p in parts]
    out, i = [], 0
    while i < len(parts):
        t = where[i][0] if where[i] is not None else None
        last = max((j for j, w in enumerate(where) if w is not None and w[0] == t), default=i) if t is not None else i
        span = range(i, last + 1)
        if t is None or any(parts[j][0].strip() and (where[j] is None or where[j][0] != t) for j in span):
            out.append(parts[i])
            i += 1
            continue
        cells: dict[tuple[int, int], str] = {}
        current = where[i][1:]
        for j in span:
            if where[j] is not None:
                current = where[j][1:]
            cells[current] = cells.get(current, "") + parts[j][0]
        rows = []
        for r in sorted({rc[0] for rc in cells}):
            texts = [" ".join(join_hyphenated(cells[rc]).split()) for rc in sorted(cells) if rc[0] == r]
            rows.append(" | ".join(x for x in texts if x))
        out.append(("\n\n" + "\n\n".join(x for x in rows if x) + "\n\n", 0.0, False, 0.0, 0.0))
        i = last + 1
    return out


# -- PDF headings from the type: an office PDF has no heading tags, but its headings are set larger
# (or bold at the body size) than the running text; numbering alone does not tell a heading
# ("2. Vores fem løfter") from a numbered rule ("2. Vi overholder vores tavshedspligt.").
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_NUMBERED = re.compile(r"^\d{1,2}(\.\d{1,2})*[.)]?\s")      # "2.", "3.1 ": a numbered heading starts anew


@dataclass(frozen=True)
class _PdfLine:
    text: str
    size: float         # the type size of most of its characters (points, after the text matrices)
    bold: bool          # all of its characters in a bold face


@dataclass(frozen=True)
class _PdfPage:
    text: str                       # pypdf's text of the page, as extracted
    lines: tuple[_PdfLine, ...]     # the same text's lines (``text.split("\n")``) with their type

    @classmethod
    def read(cls, page, tables=()) -> "_PdfPage":
        """The page's text and its lines' type; the pieces inside ``tables`` (``_TableGrids``) as one line
        per row (a row line has no type: it is never a heading)."""
        parts: list[tuple[str, float, bool, float, float]] = []

        def visit(text, cm, tm, font, size):
            scale = (abs(tm[0] * tm[3] - tm[1] * tm[2]) * abs(cm[0] * cm[3] - cm[1] * cm[2])) ** 0.5
            name = str((font or {}).get("/BaseFont", "")) if hasattr(font, "get") else ""
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            parts.append((text, float(size or 0) * (scale or 1.0), bool(_BOLD.search(name)), x, y))

        text = page.extract_text(visitor_text=visit) or ""
        if "".join(p[0] for p in parts) != text:           # (pypdf builds the text from the same parts)
            return cls(text, tuple(_PdfLine(ln, 0.0, False) for ln in text.split("\n")))
        if tables:
            parts = _table_rows(parts, tables)
            text = "".join(p[0] for p in parts)
        texts = text.split("\n")
        types: list[tuple[float, bool]] = []               # (size, bold) of each line, in order
        sizes: dict[float, int] = {}                       # characters per size on the current line
        bolds: list[bool] = []
        for t, size, bold, _, _ in parts:
            for n, piece in enumerate(t.split("\n")):
                if n:                                      # a line ends inside this part
                    types.append(_type_of(sizes, bolds))
                    sizes, bolds = {}, []
                if piece.strip():
                    sizes[round(size, 1)] = sizes.get(round(size, 1), 0) + len(piece.strip())
                    bolds.append(bold)
        types.append(_type_of(sizes, bolds))
        return cls(text, tuple(_PdfLine(ln, size, bold) for ln, (size, bold) in zip(texts, types)))


def _type_of(sizes: dict[float, int], bolds: list[bool]) -> tuple[float, bool]:
    """A line's type: the size most of its characters have, and whether all of its runs are bold."""
    return (max(sizes, key=sizes.get) if sizes else 0.0), bool(bolds) and all(bolds)


def mark_pdf_headings(pages: list[_PdfPage]) -> tuple[str, ...]:
    """Each page's text with its heading lines marked as the other formats mark them ("## …", on a line
    of their own): lines set larger than the body text (the size most characters have), or bold at the
    body size, that are short and do not end a sentence. Larger type is a higher level; a heading
    wrapped over two lines is joined. Pages without type information stay as extracted."""
    weight: dict[float, int] = {}
    for page in pages:
        for ln in page.lines:
            k = len(ln.text.strip())
            if k and ln.size:
                weight[ln.size] = weight.get(ln.size, 0) + k
    if not weight:
        return tuple(p.text for p in pages)
    body = max(weight, key=weight.get)

    def heading(ln: _PdfLine) -> bool:
        s = ln.text.strip()
        if not s or len(s) > 100 or len(s.split()) > 14 or s.endswith((".", ",", ";", ":", "!")) \
                or TOC_LINE.search(s) or not (s[0].isalnum() or s[0] in "§\"«"):
            return False
        return ln.size >= 1.12 * body or (ln.bold and ln.size >= 0.98 * body)

    larger = sorted({ln.size for p in pages for ln in p.lines if heading(ln) and ln.size >= 1.12 * body},
                    reverse=True)

    def level(ln: _PdfLine) -> int:
        return min(1 + sum(1 for x in larger if x > ln.size + 0.05), 4)

    out = []
    for page in pages:
        if not any(ln.size for ln in page.lines):
            out.append(page.text)
            continue
        lines: list[str] = []
        prev: _PdfLine | None = None
        for ln in page.lines:
            if heading(ln):
                mark = "#" * level(ln)
                if prev is not None and heading(prev) and abs(prev.size - ln.size) < 0.05 and lines \
                        and lines[-1].startswith(mark + " ") and not _NUMBERED.match(ln.text.strip()):
                    lines[-1] += " " + ln.text.strip()            # a heading wrapped over two lines
                else:
                    lines += ["", f"{mark} {ln.text.strip()}"]
            else:
                if prev is not None and heading(prev):
                    lines.append("")
                lines.append(ln.text)
            prev = ln
        out.append("\n".join(lines))
    return tuple(out)


def _count_pages(root, cap: int) -> int:
    """Pages in the page tree, counted without loading it all: stops once past ``cap``.

    The declared /Count may lie, and pypdf resolves the whole tree before it can count
    (14 s for 100 000 pages), so the tree is walked here, each node once.
    """
    try:
        declared = int(root.get_object()["/Count"])
    except (KeyError, TypeError, ValueError):
        declared = 0
    if declared > cap:
        return declared
    count, stack, seen = 0, [root], set()
    while stack and count <= cap:
        ref = stack.pop()
        key = (getattr(ref, "idnum", None), getattr(ref, "generation", None)) if hasattr(ref, "idnum") else id(ref)
        if key in seen:
            continue
        seen.add(key)
        node = ref.get_object()
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None:
            count += 1
        else:
            stack.extend(reversed(list(kids.get_object())))
    return count


def _check_docx_zip(data: bytes) -> None:
    """Refuse zip bombs before unpacking: part count and declared sizes (reads never exceed them)."""
    import zipfile
    lim = limits()
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise LoadError(f"corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    if len(infos) > lim.docx_parts:
        raise LoadError(f"DOCX has {len(infos)} parts, more than {lim.docx_parts} ({ENV['docx_parts']})")
    total = sum(i.file_size for i in infos)
    if total > lim.docx_unzipped_bytes:
        raise LoadError(f"DOCX unpacks to {total // 2**20} MB, more than {lim.docx_unzipped_bytes // 2**20} MB "
                        f"({ENV['docx_unzipped_bytes']})")


def _read_docx(path: Path, data: bytes) -> RawDocument:
    _check_docx_zip(data)
    try:
        import docx
        doc = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise LoadError(f"corrupt DOCX ({type(exc).__name__})") from exc
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines = []
    for block in doc.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "tbl":
            for row in Table(block, doc).rows:
                cells = []
                for cell in row.cells:
                    t = " ".join(cell.text.split())
                    if t and (not cells or cells[-1] != t):      # merged cells repeat their text
                        cells.append(t)
                if cells:
                    lines += [" | ".join(cells), ""]
            continue
        if tag != "p":
            continue
        p = Paragraph(block, doc)
        style = (p.style.name or "").lower() if p.style is not None else ""
        text = p.text.strip()
        if not text:
            continue
        m = re.match(r"heading (\d)", style)
        if m or style == "title":
            lines += ["", "#" * (int(m.group(1)) if m else 1) + " " + text, ""]
        elif "list" in style:
            lines.append(("• " if "number" not in style else "") + text)
        else:
            lines += [text, ""]
    text = "\n".join(lines)
    if not text.strip():
        raise LoadError("no text")
    props = {}
    core = doc.core_properties
    for name in ("title", "author"):
        value = getattr(core, name, None)
        if value and str(value).strip():
            props[name] = " ".join(str(value).split())
    return RawDocument(str(path), (text,), props=tuple(sorted(props.items())))
