"""Render the development corpus from its sources (evals/devcorpus/src/*.md, see SPEC.md).

Usage:
    make devcorpus                                         # same as the next line, after `make install`
    .venv/bin/python evals/devcorpus_src/make_devcorpus.py     # validate, render, write expected/gold, verify
    .venv/bin/python evals/devcorpus_src/make_devcorpus.py --gold-only     # gold/*.jsonl -> gold.jsonl, then verify
    .venv/bin/python evals/devcorpus_src/make_devcorpus.py --verify-only   # only load the rendered files and
                                                           # report which gold texts the project's loader finds
    .venv/bin/python evals/devcorpus_src/make_devcorpus.py --root /tmp/dc  # sources in /tmp/dc/src and /tmp/dc/gold,
                                                           # outputs under /tmp/dc (for trying things out)

What it does (deterministic and idempotent; reruns give the same bytes, except that LibreOffice output
is only normalised as far as its metadata goes):
1. Removes previously generated outputs (everything under the root except src/, gold/, SPEC.md,
   check_src.py, make_devcorpus.py, README.md, AUDIT.md and dotfiles), then renders each src/<id>.md to
   <root>/<file> in its `format`: pdf-office (python-docx -> LibreOffice headless -> PDF), pdf-report
   (reportlab), docx (python-docx), html (a saved municipal web page) or txt (a scraped page).
2. Writes expected.jsonl: one row per document (sorted by id) with the metadata a careful person records
   and `chrome`, the page-furniture strings the generator injected that must never appear in an indexed
   chunk (strings that also occur in any source body are left out).
3. Writes gold.jsonl: gold/*.jsonl concatenated (files sorted, lines in order), plus "fold", the
   organisation used for leave-one-organisation-out evaluation.
4. Validates the sources and gold lines (check_src.py) and exits 1 on problems.
5. Verifies: loads every rendered file with assistant.ingest.corpus.load_document and prints, per document, how
   many of its gold texts are found in the cleaned text and which chrome strings survived cleaning.
   Misses caused by the project's ingestion (PDF hyphenation, two columns, DOCX tables, ...) are
   reported but do not change the exit status.

Requires: python-docx, reportlab, pypdf, pyyaml (all in the venv) and `soffice` (apt package
libreoffice-writer-nogui) for pdf-office documents.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True          # keep __pycache__ out of the generated corpus folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = REPO / "evals" / "devcorpus"      # rendered documents, expected.jsonl, gold.jsonl
sys.path.insert(0, str(HERE))
import check_src  # noqa: E402

KEEP = {"src", "gold", "SPEC.md", "AUDIT.md", "check_src.py", "make_devcorpus.py", "README.md"}
EXTENSIONS = {"pdf-office": ".pdf", "pdf-report": ".pdf", "docx": ".docx", "html": ".html", "txt": ".txt"}
FIXED_TIME = dt.datetime(2024, 1, 15, 9, 30, 0, tzinfo=dt.timezone.utc)
PDF_DATE = "D:20240115093000+01'00'"
MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december"]

# Fictional contact details per organisation (kind selects the web site's menu).
ORGS = {
    "Solbjerg Kommune": ("kommune", "solbjerg.dk", "Rådhustorvet 1", "4790 Solbjerg", "72 10 10 00"),
    "Havnsø Kommune": ("kommune", "havnsoe.dk", "Torvegade 12", "4583 Havnsø", "73 44 20 00"),
    "Solbjerg Forsyning A/S": ("forsyning", "solbjergforsyning.dk", "Værkvej 8", "4790 Solbjerg", "72 10 55 00"),
    "Egeskov Kommune": ("kommune", "egeskov.dk", "Rådhuspladsen 3", "5772 Egeskov", "74 12 30 00"),
    "Vesterå Kommune": ("kommune", "vesteraa.dk", "Åboulevarden 20", "7431 Vesterå", "75 60 60 00"),
    "Region Søhøjland": ("region", "soehoejland.dk", "Regionshuset, Skovvej 2", "8681 Søhøj", "78 20 00 00"),
    "Lindholt Kommune": ("kommune", "lindholt.dk", "Lindholt Allé 1", "9390 Lindholt", "76 30 30 00"),
    "Nørreby Kommune": ("kommune", "noerreby.dk", "Nørregade 40", "6231 Nørreby", "79 40 10 00"),
    "Fjordby Kommune": ("kommune", "fjordby.dk", "Havnegade 5", "7681 Fjordby", "77 50 50 00"),
    "Kommunernes Fællesråd": ("forening", "kfr.dk", "Fællesrådets Hus, Kanalvej 9", "1561 København V",
                              "70 22 44 00"),
    "Forvaltningsstyrelsen": ("styrelse", "forvaltningsstyrelsen.dk", "Slotsholmsgade 21", "1216 København K",
                              "70 33 12 00"),
    "Fjordby Havn A/S": ("havn", "fjordbyhavn.dk", "Kajgade 2", "7681 Fjordby", "77 50 80 00"),
}
MENUS = {
    "kommune": ["Borger", "Erhverv", "Politik", "Job", "Om kommunen"],
    "region": ["Sundhed", "Regional udvikling", "Politik", "Job", "Om regionen"],
    "forsyning": ["Privat", "Erhverv", "Drift og forsyning", "Job", "Om os"],
    "havn": ["Havnen", "Erhverv", "Sejlads og anløb", "Job", "Om havnen"],
    "forening": ["Politik og analyser", "Nyheder", "Kurser", "Job", "Om KFR"],
    "styrelse": ["Borgere", "Myndigheder", "Regler og vejledning", "Job", "Om styrelsen"],
    "neutral": ["Forside", "Politikker", "Nyheder", "Kontakt"],
}
SECTION = {"kommune": "Politik", "region": "Om regionen", "forsyning": "Om os", "havn": "Om havnen",
           "forening": "Om KFR", "styrelse": "Om styrelsen", "neutral": "Politik og demokrati"}
PERSONNEL = {"personalepolitik", "ledelsespolitik", "værdigrundlag", "personalehåndbog"}


# ----------------------------------------------------------------------------------------------- helpers

def h(doc_id: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{doc_id}/{salt}".encode()).digest()[:8], "big")


def pick(doc_id: str, salt: str, options):
    return options[h(doc_id, salt) % len(options)]


def collapse(text: str) -> str:
    return check_src.collapse(text)


def long_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day}. {MONTHS[d.month - 1]} {d.year}"


def cvr(org: str) -> str:
    return str(10000000 + h(org, "cvr") % 89999999)


def org_kind(meta: dict) -> str:
    if not meta["org_in_text"] or not meta["organisation"]:
        return "neutral"
    return ORGS.get(meta["organisation"], ("kommune",))[0]


def header_line(meta: dict) -> str:
    if meta["org_in_text"] and meta["organisation"]:
        return f"{meta['organisation']} · {meta['title']}"
    return meta["title"]


def parse_body(body: str) -> list[tuple]:
    """Blocks: ("h", level, text) ("p", text) ("ul", [text]) ("ol", [(number, text)]) ("table", [[cell]]).
    Splits exactly like check_src.units, so every unit is one rendered paragraph/item/cell."""
    blocks: list[tuple] = []
    para: list[str] = []

    def flush():
        if para:
            blocks.append(("p", " ".join(para)))
            para.clear()

    for line in body.splitlines():
        s = line.strip()
        block = (not s or s.startswith("#") or s.startswith("- ") or re.match(r"^\d+\.\s", s)
                 or s.startswith("|"))
        if block:
            flush()
        if not s:
            continue
        if s.startswith("#"):
            level = len(s) - len(s.lstrip("#"))
            blocks.append(("h", min(level, 3), s.lstrip("#").strip()))
        elif s.startswith("- "):
            if blocks and blocks[-1][0] == "ul":
                blocks[-1][1].append(s[2:].strip())
            else:
                blocks.append(("ul", [s[2:].strip()]))
        elif re.match(r"^\d+\.\s", s):
            m = re.match(r"^(\d+)\.\s+(.*)$", s)
            if blocks and blocks[-1][0] == "ol":
                blocks[-1][1].append((m.group(1), m.group(2).strip()))
            else:
                blocks.append(("ol", [(m.group(1), m.group(2).strip())]))
        elif s.startswith("|"):
            if re.match(r"^\|[\s\-:|]+\|$", s):
                continue
            cells = [c.strip() for c in s.strip("|").split("|")]
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1].append(cells)
            else:
                blocks.append(("table", [cells]))
        else:
            para.append(s)
    flush()
    return blocks


def with_title(blocks: list[tuple], title: str) -> list[tuple]:
    if any(b[0] == "h" and b[1] == 1 for b in blocks):
        return blocks
    return [("h", 1, title)] + blocks


def block_words(block: tuple) -> int:
    if block[0] in ("h", "p"):
        return len(block[-1].split())
    if block[0] == "ul":
        return sum(len(t.split()) for t in block[1])
    if block[0] == "ol":
        return sum(len(t.split()) for _, t in block[1])
    return sum(len(c.split()) for row in block[1] for c in row)


def toc_lines(blocks: list[tuple], first_page: int, words_per_page: int = 380) -> list[str]:
    """'1. Formål ........ 3' for every level-2 heading, with page numbers estimated from word counts."""
    lines, words = [], 0
    for b in blocks:
        if b[0] == "h" and b[1] == 2:
            page = first_page + words // words_per_page
            text = b[2]
            dots = max(6, 72 - len(text) - len(str(page)))
            lines.append(f"{text} {'.' * dots} {page}")
        words += block_words(b)
    return lines


class Chrome:
    """Page-furniture strings injected into one document (filtered against all bodies at the end)."""

    def __init__(self):
        self.items: list[tuple[str, bool]] = []

    def add(self, *strings: str, force: bool = False):
        for s in strings:
            s = s.strip()
            if s and s not in [i for i, _ in self.items]:
                self.items.append((s, force))

    def final(self, bodies: str) -> list[str]:
        out = []
        for s, force in self.items:
            c = collapse(s)
            if c in bodies:
                continue
            if not force and len(c.split()) < 2 and len(c) < 12:
                continue        # a lone short word ("Menu", "Del") also occurs inside body words
            out.append(s)
        return out


# ----------------------------------------------------------------------------------------------- DOCX

def _docx_numbering_restart(doc, paragraph, num_cache: dict, key):
    """Give each numbered list its own w:num (restart at 1) on top of the "List Number" style."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    numbering = doc.part.numbering_part.element
    if "abstract" not in num_cache:
        style = doc.styles["List Number"]
        num_id = style.element.pPr.numPr.numId.val
        for num in numbering.findall(qn("w:num")):
            if num.get(qn("w:numId")) == str(num_id):
                num_cache["abstract"] = num.find(qn("w:abstractNumId")).get(qn("w:val"))
        num_cache["next"] = max(int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))) + 1
    if key not in num_cache:
        new_id = num_cache["next"]
        num_cache["next"] += 1
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(new_id))
        absn = OxmlElement("w:abstractNumId")
        absn.set(qn("w:val"), num_cache["abstract"])
        num.append(absn)
        ov = OxmlElement("w:lvlOverride")
        ov.set(qn("w:ilvl"), "0")
        so = OxmlElement("w:startOverride")
        so.set(qn("w:val"), "1")
        ov.append(so)
        num.append(ov)
        numbering.append(num)
        num_cache[key] = new_id
    pPr = paragraph._p.get_or_add_pPr()
    numPr = OxmlElement("w:numPr")
    ilvl = OxmlElement("w:ilvl")
    ilvl.set(qn("w:val"), "0")
    numId = OxmlElement("w:numId")
    numId.set(qn("w:val"), str(num_cache[key]))
    numPr.append(ilvl)
    numPr.append(numId)
    pPr.append(numPr)


def _add_field(paragraph, instr: str, placeholder: str = "1"):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def fld(kind):
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    paragraph.add_run()._r.append(fld("begin"))
    instr_el = OxmlElement("w:instrText")
    instr_el.set(qn("xml:space"), "preserve")
    instr_el.text = f" {instr} "
    paragraph.add_run()._r.append(instr_el)
    paragraph.add_run()._r.append(fld("separate"))
    paragraph.add_run(placeholder)
    paragraph.add_run()._r.append(fld("end"))


def build_docx(meta: dict, blocks: list[tuple], *, office: bool, chrome: Chrome) -> bytes:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    features = set(meta["features"])
    doc = docx.Document()
    # Danish proofing language on the default style
    rpr = doc.styles["Normal"].element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "da-DK")
    rpr.append(lang)

    section = doc.sections[0]
    with_header = office or "running_header" in features
    with_footer = office or "page_footer_slash" in features or "running_header" in features
    cover = "cover" in features
    if cover and (with_header or with_footer):
        section.different_first_page_header_footer = True
    if with_header:
        hp = section.header.paragraphs[0]
        hp.text = header_line(meta)
        hp.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for r in hp.runs:
            r.font.size = Pt(8)
        if meta["org_in_text"] and meta["organisation"]:
            chrome.add(header_line(meta))
    if with_footer:
        fp = section.footer.paragraphs[0]
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fp.add_run("Side ")
        _add_field(fp, "PAGE")
        fp.add_run(" af ")
        _add_field(fp, "NUMPAGES")

    def page_break():
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    pages_before = 1
    if cover:
        for _ in range(6):
            doc.add_paragraph()
        t = doc.add_paragraph()
        run = t.add_run(meta["title"])
        run.bold = True
        run.font.size = Pt(26)
        if meta["org_in_text"] and meta["organisation"]:
            o = doc.add_paragraph()
            o.add_run(meta["organisation"]).font.size = Pt(14)
        if meta["date_phrase"]:
            doc.add_paragraph(meta["date_phrase"])
        page_break()
        pages_before += 1
    if "toc" in features:
        p = doc.add_paragraph()
        r = p.add_run("Indholdsfortegnelse")
        r.bold = True
        r.font.size = Pt(16)
        chrome.add("Indholdsfortegnelse")
        for line in toc_lines(blocks, pages_before + 1):
            doc.add_paragraph(line)
            chrome.add(line, force=True)
        page_break()

    num_cache: dict = {}
    for i, b in enumerate(blocks):
        kind = b[0]
        if kind == "h":
            doc.add_heading(b[2], level=b[1])
        elif kind == "p":
            doc.add_paragraph(b[1])
        elif kind == "ul":
            for t in b[1]:
                doc.add_paragraph(t, style="List Bullet")
        elif kind == "ol":
            for _, t in b[1]:
                p = doc.add_paragraph(t, style="List Number")
                _docx_numbering_restart(doc, p, num_cache, i)
        elif kind == "table":
            rows = b[1]
            ncols = max(len(r) for r in rows)
            table = doc.add_table(rows=len(rows), cols=ncols)
            table.style = doc.styles["Table Grid"]
            for ri, row in enumerate(rows):
                for ci in range(ncols):
                    cell = table.cell(ri, ci)
                    cell.text = row[ci] if ci < len(row) else ""
                    if ri == 0:
                        for r in cell.paragraphs[0].runs:
                            r.bold = True
            doc.add_paragraph()

    props = meta["props"]
    cp = doc.core_properties
    cp.title = str(props.get("title", ""))
    cp.author = str(props.get("author", ""))
    cp.last_modified_by = str(props.get("author", ""))
    cp.comments = ""
    cp.subject = ""
    cp.keywords = ""
    cp.category = ""
    cp.revision = 1
    cp.created = FIXED_TIME.replace(tzinfo=None)
    cp.modified = FIXED_TIME.replace(tzinfo=None)
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Rewrite the package with fixed member timestamps so reruns give identical bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 15, 9, 30, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def office_to_pdf(jobs: list[tuple[bytes, Path, dict]]) -> list[str]:
    """Convert DOCX bytes to PDFs with one LibreOffice run; returns problems."""
    if not jobs:
        return []
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return ["soffice not found: install libreoffice-writer-nogui to render pdf-office documents"]
    problems = []
    with tempfile.TemporaryDirectory(prefix="devcorpus-lo-") as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        (tmp / "out").mkdir()
        names = []
        for data, target, meta in jobs:
            name = f"{meta['id']}.docx"
            (tmp / "in" / name).write_bytes(data)
            names.append(str(tmp / "in" / name))
        profile = (tmp / "profile").as_uri()
        cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(tmp / "out"), *names]
        env = dict(os.environ, HOME=str(tmp), SAL_USE_VCLPLUGIN="svp")
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
        except subprocess.TimeoutExpired:
            return ["LibreOffice conversion timed out"]
        for data, target, meta in jobs:
            pdf = tmp / "out" / f"{meta['id']}.pdf"
            if not pdf.exists():
                problems.append(f"{meta['id']}: LibreOffice produced no PDF ({res.stderr.strip()[-300:]})")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(normalise_pdf(pdf.read_bytes(), meta))
    return problems


def normalise_pdf(data: bytes, meta: dict) -> bytes:
    """Fixed dates and ID in a LibreOffice PDF (title/author come from the DOCX core properties)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject, NameObject, TextStringObject

    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter(clone_from=reader)
    info = {"/Producer": "LibreOffice 7.4", "/Creator": "Writer", "/CreationDate": PDF_DATE, "/ModDate": PDF_DATE}
    props = meta["props"]
    if props.get("title"):
        info["/Title"] = str(props["title"])
    if props.get("author"):
        info["/Author"] = str(props["author"])
    writer.metadata = None
    writer.add_metadata({k: TextStringObject(v) for k, v in info.items()})
    fid = ByteStringObject(hashlib.md5(meta["id"].encode()).digest())
    writer._ID = ArrayObject([fid, fid])
    writer._root_object.pop(NameObject("/Metadata"), None)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------- reportlab

_VOWELS = set("aeiouyæøåéAEIOUYÆØÅÉ")


def _split_points(word: str) -> list[int]:
    """Plausible Danish hyphenation points: before the last consonant in front of a vowel ("sek-re-tær",
    "ud-vik-ling"); an s-cluster after a double s goes along ("arbejds-stedet"); no break in front of an
    s after a consonant or inside an s-cluster after a consonant ("dags-orden", "forskellighed": joint
    and onset cannot be told apart); at least 3 letters either side."""
    low = word.lower()
    pts = set()
    for k in range(1, len(low) - 1):
        if low[k] in _VOWELS or low[k + 1] not in _VOWELS:
            continue
        j = k
        if k >= 2 and low[k - 1] == "s" and low[k] in "tkp":
            if low[k - 2] != "s":
                continue
            j = k - 1
        if low[j] == "s" and low[j - 1] not in _VOWELS and low[j - 1] != "s":
            continue
        pts.add(j)
    return sorted(k for k in pts if 3 <= k <= len(word) - 3)


def hyphenated_lines(text: str, width: float, font: str, size: float) -> tuple[list[str], int]:
    """Greedy line fill that breaks long ordinary words with a hyphen at the line end."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    def w(s):
        return stringWidth(s, font, size)

    lines, cur, breaks = [], "", 0
    words = text.split()
    i = 0
    while i < len(words):
        word = words[i]
        cand = f"{cur} {word}" if cur else word
        if w(cand) <= width:
            cur = cand
            i += 1
            continue
        m = re.match(r"^([A-Za-zÆØÅæøåéÉ]+)([.,;:!?)]*)$", word)
        done = False
        if cur and m and len(m.group(1)) >= 9:
            core, tail = m.group(1), m.group(2)
            for k in reversed(_split_points(core)):
                head = f"{cur} {core[:k]}-"
                if w(head) <= width and core[k].islower():
                    lines.append(head)
                    words[i] = core[k:] + tail
                    cur = ""
                    breaks += 1
                    done = True
                    break
        if done:
            continue
        if not cur:             # a single word wider than the line: let it overflow
            lines.append(word)
            i += 1
            continue
        lines.append(cur)
        cur = ""
    if cur:
        lines.append(cur)
    return lines, breaks


def _report_fonts(blocks: list[tuple], meta: dict) -> tuple[str, str, str]:
    """Helvetica (WinAnsi covers æøå, „“, –, §, €); DejaVu Sans when the text needs more, and for the bullet
    glyph (Helvetica's bullet comes out of pypdf as a control character)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    have = (dejavu / "DejaVuSans.ttf").exists() and (dejavu / "DejaVuSans-Bold.ttf").exists()
    if have and "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(dejavu / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(dejavu / "DejaVuSans-Bold.ttf")))
    text = json.dumps(blocks, ensure_ascii=False) + meta["title"] + meta["organisation"] + meta["date_phrase"]
    try:
        text.encode("cp1252")
        winansi = True
    except UnicodeEncodeError:
        winansi = False
    if winansi or not have:
        return "Helvetica", "Helvetica-Bold", "DejaVuSans" if have else "Helvetica"
    return "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans"


def _table_widths(rows, ncols: int, total: float, font: str, bold: str) -> tuple[list[float], float]:
    """Column widths where every column's longest word fits (so no word is split inside a cell),
    the rest shared by text length; the font shrinks when even that does not fit."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pad = 13
    for size in (9, 8.5, 8, 7.5, 7, 6.5, 6):
        need, length = [], []
        for c in range(ncols):
            cells = [(r[c] if c < len(r) else "", bold if ri == 0 else font) for ri, r in enumerate(rows)]
            need.append(max(stringWidth(w, f, size) for t, f in cells for w in (t.split() or [""])) + pad)
            length.append(max(1, max(stringWidth(t, f, size) for t, f in cells)))
        if sum(need) <= total:
            spare = total - sum(need)
            extra = [max(0.0, ln - nd) for ln, nd in zip(length, need)]
            scale = min(1.0, spare / sum(extra)) if sum(extra) else 0.0
            widths = [nd + ex * scale for nd, ex in zip(need, extra)]
            rest = total - sum(widths)
            return [w + rest / ncols for w in widths], size
    return [total / ncols] * ncols, 6


def build_report_pdf(meta: dict, blocks: list[tuple], chrome: Chrome) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import (
        BaseDocTemplate,
        Frame,
        NextPageTemplate,
        PageBreak,
        PageTemplate,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    features = set(meta["features"])
    doc_id = meta["id"]
    slash = "page_footer_slash" in features
    cover = "cover" in features
    running = "running_header" in features
    head_text = header_line(meta)
    accent = pick(doc_id, "accent", [colors.HexColor("#00558c"), colors.HexColor("#2e6b3a"),
                                       colors.HexColor("#7a1f3d"), colors.HexColor("#4a4a4a")])

    class FurnitureCanvas(rl_canvas.Canvas):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                n = self._pageNumber
                if not (cover and n == 1):
                    self.setFont(font, 8)
                    self.setFillColor(colors.black)
                    label = f"{n}/{total}" if slash else f"Side {n} af {total}"
                    self.drawCentredString(A4[0] / 2, 12 * mm, label)
                    if running:
                        self.drawRightString(A4[0] - 20 * mm, A4[1] - 12 * mm, head_text)
                        self.setStrokeColor(accent)
                        self.line(20 * mm, A4[1] - 14 * mm, A4[0] - 20 * mm, A4[1] - 14 * mm)
                super().showPage()
            super().save()

    font, bold, bullet_font = _report_fonts(blocks, meta)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=13.5, spaceAfter=6,
                          alignment=TA_LEFT)
    styles = {
        1: ParagraphStyle("h1", fontName=bold, fontSize=18, leading=22, spaceAfter=10,
                          textColor=accent),
        2: ParagraphStyle("h2", fontName=bold, fontSize=13, leading=16, spaceBefore=10,
                          spaceAfter=5, textColor=accent),
        3: ParagraphStyle("h3", fontName=bold, fontSize=11, leading=14, spaceBefore=6,
                          spaceAfter=4),
    }
    item = ParagraphStyle("item", parent=body, leftIndent=14, bulletIndent=3, spaceAfter=3,
                          bulletFontName=bullet_font)
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=11.5, spaceAfter=0)
    cellb = ParagraphStyle("cellb", parent=cell, fontName=bold)

    margin = 20 * mm
    width = A4[0] - 2 * margin
    height = A4[1] - 2 * margin - 6 * mm
    gap = 8 * mm
    one = Frame(margin, margin, width, height, id="one")
    col_w = (width - gap) / 2
    left = Frame(margin, margin, col_w, height, id="left")
    right = Frame(margin + col_w + gap, margin, col_w, height, id="right")

    kwargs = dict(pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin,
                  invariant=1, title="", author="", subject="", creator="", keywords="")
    props = meta["props"]
    if props.get("title"):
        kwargs["title"] = str(props["title"])
    if props.get("author"):
        kwargs["author"] = str(props["author"])
    buf = io.BytesIO()
    doc = BaseDocTemplate(buf, **kwargs)
    doc.addPageTemplates([PageTemplate(id="one", frames=[one]), PageTemplate(id="two", frames=[left, right])])

    def esc(s):
        return html.escape(s, quote=False)

    story = []
    if cover:
        story.append(Spacer(1, 70 * mm))
        story.append(Paragraph(esc(meta["title"]), ParagraphStyle("ct", fontName=bold, fontSize=26,
                                                                   leading=31, textColor=accent)))
        story.append(Spacer(1, 10 * mm))
        if meta["org_in_text"] and meta["organisation"]:
            story.append(Paragraph(esc(meta["organisation"]), ParagraphStyle("co", fontName=font,
                                                                             fontSize=14, leading=18)))
        if meta["date_phrase"]:
            story.append(Paragraph(esc(meta["date_phrase"]), ParagraphStyle("cd", fontName=font,
                                                                            fontSize=11, leading=14)))
        story.append(PageBreak())

    # which level-2 sections go on the two-column page
    h2 = [i for i, b in enumerate(blocks) if b[0] == "h" and b[1] == 2]
    two_start = two_end = -1
    if "two_column" in features and len(h2) >= 2:
        two_start = h2[len(h2) // 2 - 1] if len(h2) > 2 else h2[0]
        words = 0
        for i in range(two_start, len(blocks)):
            if blocks[i][0] == "table":      # tables stay full width (narrow cells would split words)
                j = i
                while j > two_start and not (blocks[j][0] == "h" and blocks[j][1] <= 2):
                    j -= 1
                two_end = j if j > two_start else i
                break
            words += block_words(blocks[i])
            if words >= 520 and i + 1 < len(blocks) and blocks[i + 1][0] == "h" and blocks[i + 1][1] <= 2:
                two_end = i + 1
                break
        else:
            two_end = len(blocks)

    # which paragraphs get manual hyphenation
    hyph = set()
    if "hyphenate" in features:
        cands = [i for i, b in enumerate(blocks) if b[0] == "p" and len(b[1].split()) >= 20]
        hyph = set(cands[::2][:8])

    for i, b in enumerate(blocks):
        if i == two_start:
            story += [NextPageTemplate("two"), PageBreak()]
        if i == two_end:
            story += [NextPageTemplate("one"), PageBreak()]
        kind = b[0]
        frame_w = col_w if two_start <= i < two_end else width
        if kind == "h":
            story.append(Paragraph(esc(b[2]), styles[b[1]]))
        elif kind == "p":
            if i in hyph:
                lines, breaks = hyphenated_lines(b[1], frame_w - 16, font, 10)
                if breaks:
                    story.append(Paragraph("<br/>".join(esc(ln) for ln in lines), body))
                    continue
            story.append(Paragraph(esc(b[1]), body))
        elif kind == "ul":
            for t in b[1]:
                story.append(Paragraph(esc(t), item, bulletText="•"))
        elif kind == "ol":
            for n, t in b[1]:
                story.append(Paragraph(esc(t), item, bulletText=f"{n}."))
        elif kind == "table":
            rows = b[1]
            ncols = max(len(r) for r in rows)
            widths, size = _table_widths(rows, ncols, frame_w, font, bold)
            cs = ParagraphStyle(f"cell{size}", parent=cell, fontSize=size, leading=size * 1.25)
            csb = ParagraphStyle(f"cellb{size}", parent=cs, fontName=bold)
            data = [[Paragraph(esc(r[c]) if c < len(r) else "", csb if ri == 0 else cs) for c in range(ncols)]
                    for ri, r in enumerate(rows)]
            t = Table(data, colWidths=widths, repeatRows=1)
            t.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))
            story += [Spacer(1, 3), t, Spacer(1, 8)]
    doc.build(story, canvasmaker=FurnitureCanvas)
    data = buf.getvalue()

    from pypdf import PdfReader
    total = len(PdfReader(io.BytesIO(data)).pages)
    for n in range(1, total + 1):
        if cover and n == 1:
            continue
        chrome.add(f"{n}/{total}" if slash else f"Side {n} af {total}", force=True)
    if running and meta["org_in_text"] and meta["organisation"]:
        chrome.add(head_text)
    return data


# ----------------------------------------------------------------------------------------------- HTML

def render_html(meta: dict, blocks: list[tuple], chrome: Chrome) -> str:
    doc_id = meta["id"]
    e = lambda s: html.escape(s, quote=False)  # noqa: E731
    a = lambda s: html.escape(s, quote=True)   # noqa: E731
    kind = org_kind(meta)
    org = meta["organisation"] if kind != "neutral" else ""
    info = ORGS.get(org)
    props = meta["props"]
    title = meta["title"]
    if org:
        domain = info[1]
        site = pick(doc_id, "site", [org, org, domain.capitalize()])
    else:
        domain = ""
        site = pick(doc_id, "site", ["Politikker og retningslinjer", "Medarbejderportalen", "Politisk portal"])
    page_title = str(props["title"]) if props.get("title") else pick(doc_id, "tsep", [f"{title} | {site}",
                                                                                      f"{title} - {site}"])
    site_name = str(props.get("site_name", site))

    skip = pick(doc_id, "skip", ["Gå til hovedindhold", "Spring til hovedindhold (tryk på Enter)",
                                 "Gå til hovedindhold", "Spring til indhold"])
    cookie_text, accept, reject = pick(doc_id, "cookie", [
        ("Vi bruger cookies til at forbedre din oplevelse af hjemmesiden og til at lave anonym statistik. "
         "Du kan til enhver tid trække dit samtykke tilbage.", "Accepter alle", "Kun nødvendige"),
        ("Vi bruger cookies for at hjemmesiden fungerer optimalt og for at lave statistik over besøg. "
         "Læs mere i vores cookiepolitik.", "Accepter alle", "Kun nødvendige"),
        ("Denne hjemmeside bruger cookies. Nogle er nødvendige, andre bruges til statistik og til at "
         "forbedre indholdet.", "Tillad alle cookies", "Afvis alle"),
    ])
    menu = MENUS[kind]
    sub = "Personale og arbejdsmiljø" if meta["doc_type"] in PERSONNEL else pick(
        doc_id, "sub", ["Politikker og strategier", "Kodekser og retningslinjer", "Politikker og planer"])
    sep = pick(doc_id, "crumbsep", [" > ", " › ", " / "])
    crumbs = ["Forside", SECTION[kind], sub, title]
    crumb_line = sep.join(crumbs)
    share = pick(doc_id, "share", [["Del på Facebook", "Del på LinkedIn", "Print siden"],
                                   ["Del på Facebook", "Del på LinkedIn", "Del på X", "Print siden"],
                                   ["Del på LinkedIn", "Send som e-mail", "Udskriv siden"]])
    chrome.add(skip, cookie_text, accept, reject, crumb_line, " ".join(menu), *share)

    out = ['<!DOCTYPE html>', '<html lang="da">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(page_title)}</title>",
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<meta property="og:site_name" content="{a(site_name)}">',
           f'<meta property="og:title" content="{a(title)}">',
           '<meta property="og:type" content="article">']
    if props.get("author"):
        out.append(f'<meta name="author" content="{a(str(props["author"]))}">')
    if org:
        out.append(f'<link rel="canonical" href="https://www.{domain}/{SECTION[kind].lower().replace(" ", "-")}/'
                   f'{doc_id}">')
    out += ['<link rel="stylesheet" href="/assets/css/main.min.css">',
            '<script src="/assets/js/consent.js" defer></script>', "</head>", "<body>",
            '<div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="Cookies">',
            f"  <p>{e(cookie_text)}</p>",
            f'  <button class="btn btn-primary" type="button">{e(accept)}</button>',
            f'  <button class="btn btn-secondary" type="button">{e(reject)}</button>', "</div>",
            f'<a class="skip-link" href="#main-content">{e(skip)}</a>',
            '<header class="site-header">',
            f'  <a class="logo" href="/"><span class="visually-hidden">{e(site)}</span></a>',
            '  <nav class="main-nav" aria-label="Hovedmenu"><ul>']
    for m in menu:
        out.append(f'    <li><a href="/{a(m.lower().replace(" ", "-"))}">{e(m)}</a></li>')
    out += ["  </ul></nav>",
            '  <form class="search" role="search"><input type="search" placeholder="Søg"><button>Søg</button></form>',
            "</header>",
            f'<nav class="breadcrumb" aria-label="Brødkrumme"><p>{e(crumb_line)}</p></nav>',
            '<main id="main-content">', '<article class="content">']
    blocks = with_title(blocks, title)
    for b in blocks:
        kind_b = b[0]
        if kind_b == "h":
            out.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
        elif kind_b == "p":
            out.append(f"<p>{e(b[1])}</p>")
        elif kind_b == "ul":
            out.append("<ul>" + "".join(f"<li>{e(t)}</li>" for t in b[1]) + "</ul>")
        elif kind_b == "ol":
            out.append("<ol>" + "".join(f"<li>{e(t)}</li>" for _, t in b[1]) + "</ol>")
        elif kind_b == "table":
            rows = b[1]
            out.append("<table>")
            out.append("<thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in rows[0]) + "</tr></thead>")
            out.append("<tbody>")
            for r in rows[1:]:
                out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>")
            out.append("</tbody></table>")
    if meta["date"] and not collapse(meta["date_phrase"]).startswith("sidst opdateret"):
        out.append(f'<p class="last-updated">Sidst opdateret {long_date(meta["date"])}</p>')
    out.append("</article>")
    out.append('<div class="share-tools">' + "".join(
        f'<a class="share" href="#">{e(s)}</a>' for s in share) + "</div>")
    out.append("</main>")
    out.append('<footer class="site-footer">')
    if org:
        addr = f"{org} · {info[2]} · {info[3]}"
        contact = f"Tlf. {info[4]} · post@{domain}"
        cvr_line = f"CVR-nr. {cvr(org)}"
        out += [f"  <p>{e(addr)}</p>", f"  <p>{e(contact)}</p>", f"  <p>{e(cvr_line)}</p>"]
        chrome.add(addr, contact, cvr_line)
    links = ["Tilgængelighedserklæring", "Privatlivspolitik", "Cookiepolitik"]
    out.append('  <ul class="footer-links">' + "".join(f'<li><a href="#">{e(x)}</a></li>' for x in links) + "</ul>")
    chrome.add(*links)
    out += ["</footer>", "</body>", "</html>", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------- TXT

def render_txt(meta: dict, blocks: list[tuple], chrome: Chrome) -> str:
    doc_id = meta["id"]
    kind = org_kind(meta)
    org = meta["organisation"] if kind != "neutral" else ""
    info = ORGS.get(org)
    title = meta["title"]
    bullet = pick(doc_id, "bullet", ["• ", "- ", "• "])
    top: list[str] = []
    if h(doc_id, "fragment") % 3 == 0 and blocks and blocks[0][0] == "h":   # unless the source itself
        # already starts mid-sentence
        top.append(pick(doc_id, "fragtext", [
            "ter og læs mere om, hvordan vi behandler dine personoplysninger.",
            "og find svar på de spørgsmål, vi oftest får om selvbetjening.",
            "gen er åben for alle borgere i tidsrummet fra kl. 10 til 14.",
        ]))
    top += pick(doc_id, "skip", [["Skip to main content", "Gå til indhold"], ["Gå til indhold"],
                                 ["Spring til indhold", "Skip to content"], ["Skip til hoved indholdet"],
                                 ["Skip to main content"]])
    top += pick(doc_id, "menu", [["Menu", "Søg"], ["Søg", "Menu", "Luk"], ["Menu"], ["Søg på siden"]])
    if h(doc_id, "cookie") % 2 == 0:
        top.append(pick(doc_id, "cookietext", [
            "Vi bruger cookies til at forbedre din oplevelse og til statistik. Accepter alle Kun nødvendige",
            "Denne hjemmeside bruger cookies til statistik. Læs mere om cookies",
            "Vi bruger cookies for at hjemmesiden fungerer optimalt.",
        ]))
    sub = "Personale" if meta["doc_type"] in PERSONNEL else pick(doc_id, "sub", ["Politikker", "Retningslinjer"])
    crumb = pick(doc_id, "crumb", [f"Forside / {SECTION[kind]} / {sub} / {title}",
                                   f"Du er her: Forside › {SECTION[kind]} › {sub}",
                                   f"Hjem > {SECTION[kind]} > {sub}"])
    top.append(crumb)
    bottom = pick(doc_id, "bottom", [["Til top", "Del", "Print"], ["Del", "Print", "Save this PDF as:", "Download"],
                                     ["Save this PDF as:", "Til top"], ["Print", "Download", "Kontakt os"],
                                     ["Til toppen", "Del på Facebook", "Del på LinkedIn"]])
    bottom = list(bottom)
    if org:
        footer = pick(doc_id, "footer", [
            f"{org} · {info[2]} · {info[3]} · Tlf. {info[4]} · CVR-nr. {cvr(org)}",
            f"© {org} | {info[2]}, {info[3]} | post@{info[1]}",
            f"{info[2]}, {info[3]} · Telefon {info[4]} · EAN og CVR-nr. {cvr(org)}",
        ])
    else:
        footer = pick(doc_id, "footer", ["Tilgængelighedserklæring · Privatlivspolitik · Cookiepolitik",
                                         "Privatlivspolitik | Tilgængelighed | Kontakt"])
    bottom.append(footer)
    if h(doc_id, "tail") % 3 == 0:
        bottom.append(pick(doc_id, "tailtext", [
            "Læs også: Retningslinjer for brug af sociale medier for ansatte i",
            "Relaterede sider: Politikker og strategier, Dagsordener og referater, Nyheder og pres",
            "Nyheder: Ny digital selvbetjeningsløsning til ansøgning om",
        ]))
    chrome.add(*top, *bottom)

    body: list[str] = []
    blocks = with_title(blocks, title) if h(doc_id, "h1") % 2 else blocks
    for b in blocks:
        if b[0] == "h":
            body += ["", b[2], ""]
        elif b[0] == "p":
            body += [b[1], ""]
        elif b[0] == "ul":
            body += [bullet + t for t in b[1]] + [""]
        elif b[0] == "ol":
            body += [f"{n}. {t}" for n, t in b[1]] + [""]
        elif b[0] == "table":
            body += ["\t".join(r) for r in b[1]] + [""]
    text = "\n".join(top) + "\n\n" + "\n".join(body).strip() + "\n\n" + "\n".join(bottom) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


# ----------------------------------------------------------------------------------------------- main

def load_sources(root: Path) -> tuple[list[tuple[dict, str]], list[str]]:
    docs, problems = [], []
    for path in sorted((root / "src").glob("*.md")):
        try:
            meta, body = check_src.read_source(path)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{path.name}: {exc}")
            continue
        missing = [k for k in check_src.REQUIRED if k not in meta]
        if missing:
            problems.append(f"{path.name}: missing fields {missing}")
            continue
        for k in ("id", "file", "format", "organisation", "title", "doc_type", "date_phrase"):
            meta[k] = "" if meta[k] is None else str(meta[k])
        d = meta["date"]
        meta["date"] = d.isoformat() if isinstance(d, (dt.date, dt.datetime)) else ("" if d is None else str(d))
        if meta["date"]:
            try:
                dt.date.fromisoformat(meta["date"])
            except ValueError:
                problems.append(f"{path.name}: date {meta['date']!r} is not an ISO date")
                meta["date"] = ""
        meta["org_in_text"] = bool(meta["org_in_text"])
        meta["features"] = [str(f) for f in (meta.get("features") or [])]
        meta["props"] = dict(meta.get("props") or {})
        rel = Path(meta["file"])
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] in KEEP \
                or rel.name in ("expected.jsonl", "gold.jsonl") or rel.parts[0].startswith("."):
            problems.append(f"{path.name}: unsafe output path {meta['file']!r}")
            continue
        if meta["format"] in EXTENSIONS and rel.suffix.lower() != EXTENSIONS[meta["format"]]:
            problems.append(f"{path.name}: format {meta['format']} wants a {EXTENSIONS[meta['format']]} file, "
                            f"not {meta['file']!r}")
            continue
        if meta["format"] not in EXTENSIONS:
            problems.append(f"{path.name}: unknown format {meta['format']!r}")
            continue
        docs.append((meta, body))
    files = [m["file"].lower() for m, _ in docs]
    for f in sorted({f for f in files if files.count(f) > 1}):
        problems.append(f"two documents render to {f}")
    return docs, problems


def clean_outputs(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for child in sorted(root.iterdir()):
        if child.name in KEEP or child.name.startswith("."):
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def read_gold(root: Path) -> tuple[list[dict], list[str]]:
    rows, problems = [], []
    for gf in sorted((root / "gold").glob("*.jsonl")):
        for n, line in enumerate(gf.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    problems.append(f"{gf.name}:{n}: not JSON ({exc})")
    return rows, problems


def fold_of(g: dict, doc_org: dict) -> str:
    if g.get("organisations"):
        return g["organisations"][0]
    for r in g.get("relevant") or []:
        org = doc_org.get(r.get("document"))
        if org is not None:
            return org
    return ""


def render(root: Path) -> tuple[list[str], list[dict]]:
    docs, problems = load_sources(root)
    clean_outputs(OUT)
    all_bodies = " \n ".join(collapse(b) + " " + collapse(m["title"]) for m, b in docs)
    expected, office_jobs = [], []
    for meta, body in docs:
        blocks = parse_body(body)
        chrome = Chrome()
        target = OUT / meta["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        fmt = meta["format"]
        try:
            if fmt == "pdf-office":
                office_jobs.append((build_docx(meta, blocks, office=True, chrome=chrome), target, meta))
            elif fmt == "docx":
                target.write_bytes(build_docx(meta, blocks, office=False, chrome=chrome))
            elif fmt == "pdf-report":
                target.write_bytes(build_report_pdf(meta, blocks, chrome))
            elif fmt == "html":
                target.write_text(render_html(meta, blocks, chrome), encoding="utf-8")
            elif fmt == "txt":
                target.write_text(render_txt(meta, blocks, chrome), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{meta['id']}: rendering failed: {type(exc).__name__}: {exc}")
            continue
        expected.append((meta, chrome))
    problems += office_to_pdf(office_jobs)
    # page footers of LibreOffice PDFs are only known after conversion
    from pypdf import PdfReader
    for meta, chrome in expected:
        if meta["format"] == "pdf-office" and (OUT / meta["file"]).exists():
            total = len(PdfReader(OUT / meta["file"]).pages)
            first = 2 if "cover" in meta["features"] else 1
            chrome.add(*(f"Side {n} af {total}" for n in range(first, total + 1)), force=True)
    rows = []
    for meta, chrome in sorted(expected, key=lambda x: x[0]["id"]):
        rows.append({k: meta[k] for k in ("id", "file", "format", "organisation", "title", "doc_type", "date",
                                          "date_phrase")} | {"chrome": chrome.final(all_bodies)})
    with open(OUT / "expected.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return problems + write_gold(root, docs), rows


def write_gold(root: Path, docs: list[tuple[dict, str]]) -> list[str]:
    gold, problems = read_gold(root)
    doc_org = {m["id"]: m["organisation"] for m, _ in docs}
    with open(OUT / "gold.jsonl", "w", encoding="utf-8") as f:
        for g in gold:
            g["fold"] = fold_of(g, doc_org)
            f.write(json.dumps(g, ensure_ascii=False) + "\n")
    return problems


def validate(root: Path) -> int:
    check_src.HERE = root
    return check_src.main([])


def verify(root: Path) -> None:
    sys.path.insert(0, str(REPO))
    from assistant.evaluation.evaluate import collapse as eval_collapse
    from assistant.ingest.corpus import load_document

    exp_path, gold_path = OUT / "expected.jsonl", OUT / "gold.jsonl"
    if not exp_path.exists() or not gold_path.exists():
        sys.exit(f"verify: {exp_path} or {gold_path} missing; run without --verify-only first")
    expected = [json.loads(x) for x in exp_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    wanted: dict[str, list[tuple[str, str]]] = {}
    for line in gold_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            g = json.loads(line)
            for r in g.get("relevant") or []:
                wanted.setdefault(r["document"], []).append((g["id"], r["text"]))
    tot_found = tot = tot_chrome = 0
    print("\nverify (assistant.ingest.corpus.load_document):")
    for row in expected:
        path = OUT / row["file"]
        texts = wanted.get(row["id"], [])
        try:
            doc = load_document(path, OUT)
        except Exception as exc:  # noqa: BLE001
            print(f"  {row['id']:<48} {row['format']:<10} LOAD FAILED: {exc}")
            tot += len(texts)
            continue
        text = eval_collapse(doc.text)
        missing = [(gid, t) for gid, t in texts if eval_collapse(t) not in text]
        leaked = [c for c in row["chrome"] if eval_collapse(c) in text]
        found = len(texts) - len(missing)
        tot_found += found
        tot += len(texts)
        tot_chrome += len(leaked)
        print(f"  {row['id']:<48} {row['format']:<10} found {found}/{len(texts)}"
              f"   chrome left {len(leaked)}/{len(row['chrome'])}")
        for gid, t in missing:
            print(f"      missing {gid}: {t!r}")
        for c in leaked:
            print(f"      chrome: {c!r}")
    print(f"total: found {tot_found}/{tot} gold texts; {tot_chrome} chrome strings left in "
          f"{len(expected)} documents")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verify-only", action="store_true", help="only verify the rendered files")
    ap.add_argument("--gold-only", action="store_true",
                    help="validate and rewrite gold.jsonl from gold/*.jsonl without rendering the documents")
    ap.add_argument("--root", type=Path, default=HERE, help="folder with src/ and gold/ (default: this folder)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if not (root / "src").is_dir():
        sys.exit(f"{root / 'src'} not found")
    if args.verify_only:
        verify(root)
        return 0
    if args.gold_only:
        docs, problems = load_sources(root)
        problems += write_gold(root, docs)
        status = validate(root)
        verify(root)
        for p in problems:
            print(f"problem: {p}")
        return 1 if status or problems else 0
    problems, rows = render(root)
    print(f"rendered {len(rows)} documents into {OUT}")
    for p in problems:
        print(f"render problem: {p}")
    print("check_src:")
    status = validate(root)
    verify(root)
    if status or problems:
        print(f"\nFAILED: {len(problems)} rendering problems, check_src status {status} (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
