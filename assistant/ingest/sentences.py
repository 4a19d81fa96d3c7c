"""Quotable pieces of a chunk: its sentences, bullet and numbered items, table rows, lists with their
lead-in, and sentence pairs. Cut once per chunk, at index time (the candidate-quote vectors in
store/spans.py) and at question time (answer/extract.py), from the cleaned text, so every piece is an
exact span of the document."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.types import Hit

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”»)]?\s+(?=[A-ZÆØÅ0-9\"'”‘“«§(])")
_LAST_WORD = re.compile(r"([^\s(]+)\.$")
_ITEM = re.compile(r"^(•\s|\d{1,2}[.)]\s)")
_TABLE_ROW = re.compile(r"\S \| \S")      # a table's row, its cells joined by ' | ' (load.py): an item of the table
# Danish abbreviations that are always followed by more of the sentence ("ca. 140", "kl. 12",
# "jf. § 4", "tlf. 33 ..."): a full stop after them does not end a sentence.
ABBREVIATIONS = frozenset("""ca kl nr pkt stk tlf jf jvf pr bl.a f.eks fx dvs vedr ang evt inkl ekskl iht
mht ift hhv mv. att afd adr e.g i.e vs etc. cf ref art kap""".replace(".", "").split())
_ANAPHOR = re.compile(r"^(det betyder|det vil sige|det gælder|det samme gælder|dette|denne|disse|derfor|dermed|"
                      r"således|herunder|heraf|her|så)\b", re.I)
MAX_LIST_CHARS = 700


@dataclass(frozen=True)
class Span:
    hit_rank: int     # 0-based rank of the hit it comes from
    start: int        # offsets in the document text
    end: int
    text: str
    form: str = "sentence"   # sentence, item, list (lead-in and its items), pair (a sentence with the one it leans on)


def sentences(line: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of one line; abbreviations and initials do not end one."""
    cuts = [0]
    for m in _SENTENCE_END.finditer(line):
        # the word before the full stop (an abbreviation is short: the last 80 characters hold it)
        before = line[max(0, m.start() - 80):m.start()].rstrip("\"'”») ")
        word = _LAST_WORD.search(before)
        if word:
            w = word.group(1).lower().replace(".", "")
            if w in ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
                continue
        cuts.append(m.end())
    cuts.append(len(line))
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if a < b]


def candidate_spans(hit: Hit, hit_rank: int) -> list[Span]:
    """The quotable pieces of a hit (``chunk_spans``; a passage's pieces are cut once and memoised,
    as the same passages come up question after question)."""
    return list(chunk_spans(hit.chunk, hit_rank))


@lru_cache(maxsize=20_000)
def chunk_spans(c, hit_rank: int) -> tuple[Span, ...]:
    """The quotable pieces of a chunk ``c`` found at ``hit_rank`` (``_pieces``, cut once per chunk
    whatever its rank)."""
    pieces = _pieces(c)
    if not hit_rank:
        return pieces
    return tuple(Span(hit_rank, s.start, s.end, s.text, s.form) for s in pieces)


@lru_cache(maxsize=20_000)
def _pieces(c) -> tuple[Span, ...]:
    """The quotable pieces of a chunk ``c`` (as found at rank 0): sentences of its paragraphs,
    bullet and numbered items and table rows whole (without the bullet glyph), each list or table with its lead-in as one
    quote (a lead-in ends in ':' and is not quoted alone; without one, three items or more), and a
    sentence that leans on the one before ("Derfor ...", "Det betyder ...") together with that one."""
    hit_rank = 0
    spans: list[Span] = []
    lines = []
    pos = 0
    for line in c.text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    lead: tuple[int, int] | None = None       # open list: (start, end) of its lead-in or first item
    has_lead = False                          # the open list has a lead-in line ending in ':'
    items: list[Span] = []

    def close_list():
        nonlocal lead, items, has_lead
        # a list is its lead-in and items, or three items or more without one ("Titel: ...",
        # "Opdateret: ..." are two labels, not a list)
        if lead is not None and items and (len(items) >= 3 or has_lead):
            a, b = lead[0], items[-1].end
            if b - a <= MAX_LIST_CHARS:
                spans.append(Span(hit_rank, a, b, c.text[a - c.start:b - c.start], "list"))
        lead, items, has_lead = None, [], False

    for line_start, line in lines:
        if not line.strip():
            continue
        m = _ITEM.match(line) or _TABLE_ROW.search(line)
        if m:
            a = m.end() if line.startswith("•") else 0
            seg = line[a:].strip()
            s = c.start + line_start + a + (len(line[a:]) - len(line[a:].lstrip()))
            if len(seg) >= 12:
                item = Span(hit_rank, s, s + len(seg), seg, "item")
                spans.append(item)
                if lead is None:
                    lead = (c.start + line_start, s + len(seg))
                items.append(item)
            continue
        close_list()
        previous: Span | None = None
        for a, b in sentences(line):
            seg = line[a:b]
            lead_ws = len(seg) - len(seg.lstrip())
            seg = seg.strip()
            s = c.start + line_start + a + lead_ws
            if seg.endswith(":"):
                lead, has_lead = (s, s + len(seg)), True
                continue
            if len(seg) < 12:
                continue
            span = Span(hit_rank, s, s + len(seg), seg)
            spans.append(span)
            if previous is not None and _ANAPHOR.match(seg):
                spans.append(Span(hit_rank, previous.start, span.end,
                                  c.text[previous.start - c.start:span.end - c.start], "pair"))
            previous = span
    close_list()
    return tuple(spans)
