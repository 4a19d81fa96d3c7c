"""Hostile documents, written fast and without third-party writers (so their structure is exact)."""
import zipfile
from pathlib import Path

GIB = 1024 ** 3

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
                 'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/'
                 'xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
PARA = "<w:p><w:r><w:t>Vi taler pænt til hinanden.</w:t></w:r></w:p>"


def _docx_head(z: zipfile.ZipFile) -> None:
    z.writestr("[Content_Types].xml", CONTENT_TYPES)
    z.writestr("_rels/.rels", RELS)


def docx_zip_bomb(path: Path, unpacked: int = 1 * GIB) -> None:
    """A small DOCX whose document.xml unpacks to ``unpacked`` bytes of valid paragraphs."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        _docx_head(z)
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>'.encode())
            block = (PARA * (2**20 // len(PARA.encode()))).encode()
            for _ in range(unpacked // len(block)):
                f.write(block)
            f.write(b"</w:body></w:document>")


def docx_big_part(path: Path, size: int = 2 * GIB) -> None:
    """A valid small document plus one ``size``-byte part (an 'image' of zeros)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        _docx_head(z)
        z.writestr("word/document.xml", f'<w:document xmlns:w="{W}"><w:body>{PARA}</w:body></w:document>')
        with z.open("word/media/image1.png", "w", force_zip64=True) as f:
            zeros = bytes(64 * 2**20)
            for _ in range(size // len(zeros)):
                f.write(zeros)


def docx_many_parts(path: Path, parts: int = 20_000) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        _docx_head(z)
        z.writestr("word/document.xml", f'<w:document xmlns:w="{W}"><w:body>{PARA}</w:body></w:document>')
        for i in range(parts):
            z.writestr(f"word/x/{i}.xml", "<a/>")


def pdf_many_pages(path: Path, pages: int = 100_000, declared: int | None = None, text: str = "Side") -> None:
    """A PDF with ``pages`` pages sharing one content stream; ``declared`` is the /Count it claims."""
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
            3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objs[4] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    objs[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, declared if declared is not None else pages)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
    for i in range(pages):
        objs[5 + i] = page
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for n in sorted(objs):
        offsets[n] = len(out)
        out += b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
    xref = len(out)
    size = max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for n in range(1, size):
        out += b"%010d 00000 n \n" % offsets[n]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    Path(path).write_bytes(bytes(out))


def one_line_text(path: Path, size: int = int(9.9 * 2**20)) -> None:
    sentence = "Vi taler pænt til hinanden og hjælper hinanden i hverdagen. "
    Path(path).write_text(sentence * (size // len(sentence.encode())), encoding="utf-8")


def long_heading_text(path: Path, size: int = 5 * 2**20) -> None:
    """A Markdown heading line of ``size`` characters over an ordinary paragraph."""
    Path(path).write_text("Overskrift\n\n# " + "Lang overskrift " * (size // 16) + "\n\n"
                          "Vi hilser på hinanden om morgenen.\n", encoding="utf-8")


def deep_html(path: Path, depth: int = 100_000) -> None:
    Path(path).write_text("<html><body>" + "<div>" * depth + "<p>Vi hjælper altid hinanden med opgaverne.</p>"
                          + "</div>" * depth + "</body></html>", encoding="utf-8")


# name: (file name, writer, text the refusal must contain or None when the file may be indexed, env)
CASES = {
    "docx-zip-bomb": ("bombe.docx", docx_zip_bomb, "ASSISTANT_DOCX_UNZIPPED_BYTES", {}),
    "docx-2gib-part": ("stor-del.docx", docx_big_part, "ASSISTANT_DOCX_UNZIPPED_BYTES", {}),
    "docx-20000-parts": ("mange-dele.docx", docx_many_parts, "ASSISTANT_DOCX_PARTS", {}),
    "pdf-100000-pages": ("sider.pdf", pdf_many_pages, "ASSISTANT_PDF_PAGES", {}),
    "pdf-lying-page-count": ("loegn.pdf", lambda p: pdf_many_pages(p, declared=1), "ASSISTANT_PDF_PAGES", {}),
    "pdf-slow": ("langsom.pdf", lambda p: pdf_many_pages(p, 1500, text="Vi hjaelper hinanden"),
                 "ASSISTANT_PDF_SECONDS", {"ASSISTANT_PDF_SECONDS": "0.2"}),
    "one-line-9.9MB-text": ("en-linje.txt", one_line_text, "ASSISTANT_CHUNKS_PER_DOCUMENT", {}),
    "5MB-heading-line": ("overskrift.md", long_heading_text, None, {}),
    "100000-nested-html-tags": ("dyb.html", deep_html, None, {}),
}
