"""Heading-aware chunking with exact character offsets.

A document is read as a sequence of units (headings, bullet items and
paragraphs), each a span of the cleaned text. Units are grouped by section
and packed into chunks of at most ``max_chars`` characters; a unit is never
split unless it alone is longer than that (then it is split at sentence
ends). Every chunk is a contiguous span: ``document.text[start:end]``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.ingest.metadata import MONTH_RE
from assistant.limits import limits
from assistant.types import Chunk, Document

_BULLET_RE = re.compile(r"^(•\s|\d{1,2}[.)]\s)")
_ADDRESS_RE = re.compile(r"\b\d{4}\s+[A-ZÆØÅ][a-zæøå]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÆØÅ0-9\"'”‘“])")
# A full date (day, month, year): a line stating one is an adoption or update statement
# ("Vedtaget af Byrådet den 20. juni 2022", "Sidst opdateret 12. februar 2024"), never a heading.
_FULL_DATE = re.compile(rf"\b\d{{1,2}}\.\s*({MONTH_RE})\s+(19|20)\d\d\b|\b\d{{1,2}}[./-]\d{{1,2}}[./-](19|20)\d\d\b|"
                        r"\b(19|20)\d\d-\d\d-\d\d\b", re.I)
CONTACT_HEADINGS = {"kontakt", "kontakt os", "kontaktoplysninger"}


@dataclass(frozen=True)
class Unit:
    kind: str          # "heading" | "item" | "para"
    start: int
    end: int
    level: int = 0     # headings only
    marked: bool = False   # a heading marked as one in the source ("#" from HTML and DOCX headings)


def _lines(text: str):
    pos = 0
    for line in text.split("\n"):
        yield pos, pos + len(line), line
        pos += len(line) + 1


def _heading_candidate(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 80 or _BULLET_RE.match(s) or s.endswith((".", ":", ";", ",", "!", "?", "…")):
        return False
    if ": " in s or len(s.split()) > 10 or _ADDRESS_RE.search(s) or _FULL_DATE.search(s):
        return False
    digits = sum(c.isdigit() for c in s)
    if digits > 0.4 * len(s.replace(" ", "")):
        return False
    return s[0].isupper() or s[0].isdigit()


def split_units(text: str) -> list[Unit]:
    """Headings, bullet items and paragraphs of a cleaned document, in order."""
    blocks: list[list[tuple[int, int, str]]] = []   # lines grouped by blank lines
    current: list[tuple[int, int, str]] = []
    for start, end, line in _lines(text):
        if line.strip():
            current.append((start, end, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)

    # A document whose headings are marked ("#": HTML and DOCX headings) marks all of them; an unmarked
    # short line there is a line of text (a cover line, "Solbjerg Kommune, HR-afdelingen"), not a heading.
    marked = sum(b[0][2].lstrip().startswith("#") for b in blocks) > 1
    raw: list[Unit] = []
    for block in blocks:
        first = block[0][2].strip()
        if first.startswith("#"):
            level = len(first) - len(first.lstrip("#"))
            raw.append(Unit("heading", block[0][0], block[0][1], level, marked=True))
            block = block[1:]
        elif marked and block[0][0] > 0:
            pass                                       # (the first line is still the title)
        elif len(block) == 1 and _heading_candidate(first):
            raw.append(Unit("heading", block[0][0], block[0][1], 0))
            continue
        elif len(block) > 1 and _heading_candidate(first) and len(block[1][2]) >= 60 \
                and not _BULLET_RE.match(block[1][2]):
            raw.append(Unit("heading", block[0][0], block[0][1], 0))   # heading glued to its paragraph
            block = block[1:]
        para: list[tuple[int, int, str]] = []
        for start, end, line in block:
            if _BULLET_RE.match(line):
                if para:
                    raw.append(Unit("para", para[0][0], para[-1][1]))
                    para = []
                raw.append(Unit("item", start, end))
            else:
                para.append((start, end, line))
        if para:
            raw.append(Unit("para", para[0][0], para[-1][1]))
    return _headings_head_something(_resolve_heading_runs(text, raw))


def _headings_head_something(units: list[Unit]) -> list[Unit]:
    """An unmarked heading with nothing under it (the next unit is a heading of its level or above,
    or the document ends) is a line of text: a cover or closing line, kept as a paragraph so that it
    is indexed and quotable rather than lost between sections."""
    out = list(units)
    for i in range(len(out) - 1, -1, -1):
        u = out[i]
        if u.kind != "heading" or u.marked or u.start == 0:      # (the title is the first line)
            continue
        nxt = out[i + 1] if i + 1 < len(out) else None
        if nxt is None or (nxt.kind == "heading" and nxt.level <= u.level):
            out[i] = Unit("para", u.start, u.end)
    return out


def _resolve_heading_runs(text: str, units: list[Unit]) -> list[Unit]:
    """Plain-text headings have no level. Two in a row: parent and child. Three or more
    single lines in a row: a heading followed by a list of short lines. Inside a contact
    section, short lines are contact details, not headings."""
    out: list[Unit] = []
    i = 0
    in_contact = False
    while i < len(units):
        u = units[i]
        if u.kind != "heading" or u.level > 0:
            in_contact = u.kind == "heading" and _plain(text, u).lower() in CONTACT_HEADINGS or (in_contact and u.kind != "heading")
            out.append(u)
            i += 1
            continue
        if in_contact:
            out.append(Unit("para", u.start, u.end))
            i += 1
            continue
        j = i
        while j < len(units) and units[j].kind == "heading" and units[j].level == 0:
            j += 1
        run = units[i:j]
        if len(run) == 1:
            out.append(Unit("heading", u.start, u.end, 1))
        elif len(run) == 2 and _plain(text, run[0]).lower() not in CONTACT_HEADINGS:
            out.append(Unit("heading", run[0].start, run[0].end, 1))
            out.append(Unit("heading", run[1].start, run[1].end, 2))
        else:
            out.append(Unit("heading", run[0].start, run[0].end, 1))
            out.extend(Unit("para", r.start, r.end) for r in run[1:])
        in_contact = _plain(text, run[0]).lower() in CONTACT_HEADINGS
        i = j
    return out


def _plain(text: str, u: Unit) -> str:
    return text[u.start:u.end].strip().lstrip("#").strip()


def _split_long(text: str, u: Unit, max_chars: int) -> list[Unit]:
    if u.end - u.start <= max_chars:
        return [u]
    pieces, start = [], u.start
    cuts = [u.start + m.start() for m in _SENTENCE_END.finditer(text[u.start:u.end])]
    last_cut = u.start
    for cut in cuts + [u.end]:
        if cut - start > max_chars and last_cut > start:
            pieces.append(Unit(u.kind, start, last_cut))
            start = last_cut
            while start < u.end and text[start].isspace():
                start += 1
        last_cut = cut
    pieces.append(Unit(u.kind, start, u.end))
    out = []
    for p in pieces:   # a single sentence longer than max_chars: cut at spaces
        while p.end - p.start > max_chars:
            cut = text.rfind(" ", p.start, p.start + max_chars)
            cut = cut if cut > p.start else p.start + max_chars
            out.append(Unit(p.kind, p.start, cut))
            p = Unit(p.kind, cut + (text[cut] == " "), p.end)
        out.append(p)
    return out


def chunk_id(document: str, start: int, end: int, text: str) -> str:
    return hashlib.sha1(f"{document}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()[:16]


def chunk_document(doc: Document, max_chars: int = 900, overlap: int = 0) -> list[Chunk]:
    text = doc.text
    units = split_units(text)
    # the document's title line (its first line, a heading) is not part of the section path
    if units and units[0].kind == "heading" and units[0].start == 0:
        units = units[1:]
    heading_chars = limits().heading_chars
    path: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[Unit]]] = []
    for u in units:
        if u.kind == "heading":
            path = [(lvl, h) for lvl, h in path if lvl < u.level] + [(u.level, _plain(text, u)[:heading_chars])]
            sections.append((tuple(h for _, h in path), []))
        else:
            if not sections:
                sections.append(((), []))
            sections[-1][1].extend(_split_long(text, u, max_chars))
    chunks: list[Chunk] = []
    for headings, body in sections:
        i = 0
        while i < len(body):
            j = i + 1
            while j < len(body) and body[j].end - body[i].start <= max_chars:
                j += 1
            start, end = body[i].start, body[j - 1].end
            piece = text[start:end]
            chunks.append(Chunk(chunk_id(doc.id, start, end, piece), doc.id, start, end, piece,
                                headings, doc.page_at(start)))
            i = j - overlap if overlap and j - overlap > i else j
    return chunks
