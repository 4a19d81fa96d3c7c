"""The answer in Danish: verbatim quotes grouped by organisation and document, with citations."""
from __future__ import annotations

from assistant.answer.decision import WHAT
from assistant.answer.scope import genitive
from assistant.ingest.sentences import sentences
from assistant.language.detect import NAMES
from assistant.types import Document, Quote

NOT_FOUND = "Det kan jeg ikke finde et svar på i de dokumenter, jeg kender."
NOT_COVERED = (NOT_FOUND + " Jeg citerer kun fra kodekser og politikker, "
               "og ingen af dem ser ud til at dække spørgsmålet.")


def section_label(q: Quote) -> str:
    return q.heading or "Indledning"


def citation(q: Quote) -> str:
    parts = [q.organisation, q.title, section_label(q)]
    if q.page:
        parts.append(f"side {q.page}")
    if q.language != "da":                       # the quote stays verbatim, in its language: say which
        parts.append(f"på {NAMES.get(q.language, q.language)}")
    return " · ".join(parts)


def group_by_document(quotes) -> dict[tuple[str, str], list[Quote]]:
    """Quotes per (organisation, title), documents in order of their best quote."""
    groups: dict[tuple[str, str], list[Quote]] = {}
    for q in quotes:
        groups.setdefault((q.organisation, q.title), []).append(q)
    return groups


def agreement_line(groups: dict) -> str | None:
    return f"{len(groups)} dokumenter siger noget om det:" if len(groups) > 1 else None


def missing_line(missing) -> str | None:
    return ("Ingen af dokumenterne nævner: " + ", ".join(f"«{w}»" for w in missing) + ".") if missing else None


def quote_lines(q: Quote) -> list[str]:
    """A quote as a Markdown quote; a list quote keeps its lines."""
    return [f"> {ln}" for ln in q.text.split("\n") if ln.strip()]


def compose(quotes: list[Quote], notes: list[str]) -> str:
    lines = list(notes)
    groups = group_by_document(quotes)
    if agreed := agreement_line(groups):
        lines.append(agreed)
    for (org, title), qs in groups.items():
        lines.append(f"\n**{org} – {title}**")
        for q in qs:
            lines.extend(quote_lines(q))
            lines.append(f"— {citation(q)}")
    return "\n".join(lines).strip()


def compose_not_covered(related: list[Quote], notes: list[str], missing: tuple[str, ...] = ()) -> str:
    lines = list(notes) + [NOT_COVERED]
    if missing:
        lines.append(missing_line(missing))
    if related:
        lines.append(compose_related(related))
    return "\n".join(lines).strip()


def compose_no_direct_answer(missing_kind: str, closest: list[Quote], notes: list[str]) -> str:
    """ "Dokumenterne nævner ikke et beløb, …": the kind of detail asked for, and the closest candidates."""
    return "\n".join(list(notes) + [no_direct_answer_line(missing_kind), compose_related(closest)]).strip()


def compose_related(quotes: list[Quote]) -> str:
    """The closest passages or candidates, "Måske relateret", each with its citation."""
    lines = ["\nMåske relateret:"] if quotes else []
    for q in quotes:
        lines.append(f"- {q.text[:160]}{'…' if len(q.text) > 160 else ''} ({citation(q)})")
    return "\n".join(lines)


def no_direct_answer_line(missing_kind: str, whose: str = "Dokumenterne") -> str:
    return f"{whose} nævner ikke {WHAT.get(missing_kind, 'det, der spørges om')}, der svarer direkte på spørgsmålet."


CONTEXT_CHARS = 450      # a quote with the sentence before and after it, shown dimmed around it


def make_quote(doc: Document, heading: str, start: int, end: int, score: float,
               passage: tuple[int, int] | None = None) -> Quote:
    """The quote ``doc.text[start:end]``; with its ``passage`` (the chunk's offsets), also its context."""
    cstart, cend = in_context(doc.text, start, end, passage) if passage else (None, None)
    return Quote(document=doc.id, title=doc.title, organisation=doc.organisation, doc_type=doc.doc_type,
                 heading=heading, start=start, end=end, page=doc.page_at(start),
                 text=doc.text[start:end], score=round(float(score), 4), context_start=cstart, context_end=cend,
                 before=doc.text[cstart:start] if passage else "", after=doc.text[end:cend] if passage else "",
                 language=doc.language)


def in_context(text: str, start: int, end: int, passage: tuple[int, int], limit: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The offsets of ``text[start:end]`` with the sentence (or line: an item, a row) before and after it
    within ``passage``, as far as ``limit`` characters allow: both when they fit, else the one after (it
    usually goes on with the answer), else the one before, else the quote alone."""
    lo, hi = passage
    pieces = []
    offset = lo
    for line in text[lo:hi].split("\n"):
        pieces += [(offset + a, offset + b) for a, b in sentences(line) if line[a:b].strip()]
        offset += len(line) + 1
    before = max((p for p in pieces if p[1] <= start), default=None)
    after = min((p for p in pieces if p[0] >= end), default=None)
    options = [(before, after), (None, after), (before, None)]
    for b, a in options:
        s, e = (b[0] if b else start), (a[1] if a else end)
        while e > end and text[e - 1].isspace():       # the context ends and begins with words
            e -= 1
        while s < start and text[s].isspace():
            s += 1
        if (b or a) and e - s <= limit:
            return s, e
    return start, end


# ------------------------------------------------------------------ organisation scope (assistant/answer/per_organisation.py)

def not_mentioned(organisation: str, topic: str | None, missing: tuple[str, ...] = ()) -> str:
    """ "Ishøj Kommunes dokumenter nævner ikke sociale medier." (the topic when the question has one)."""
    whose = genitive(organisation)
    if topic:
        return f"{whose} dokumenter nævner ikke {topic}."
    if missing:
        return f"{whose} dokumenter nævner ikke " + ", ".join(f"«{w}»" for w in missing) + "."
    return f"{whose} dokumenter nævner det ikke."


def compose_not_in_scope(notes: list[str], understood: str | None, said: list[str], others: list[Quote],
                         related: list[Quote]) -> str:
    """The named organisations do not cover it: say so, then what other organisations say, labelled as theirs."""
    lines = list(notes) + ([understood] if understood else []) + said
    if others:
        lines.append("\nDet siger andre organisationer (ikke dem, du spurgte om):")
        lines.append(compose(others, []))
    else:
        lines.append("Det gør ingen af de andre dokumenter heller.")
        if related:
            lines.append("\nMåske relateret:")
            for q in related:
                lines.append(f"- {q.text[:160]}{'…' if len(q.text) > 160 else ''} ({citation(q)})")
    return "\n".join(lines).strip()


def compose_by_organisation(groups, notes: list[str], understood: str | None) -> str:
    """A comparison: one section per organisation, its quotes or that it does not mention it."""
    lines = list(notes) + ([understood] if understood else [])
    for g in groups:
        lines.append(f"\n**{g.organisation}**")
        if not g.quotes:
            lines.append(g.note)
        for q in g.quotes:
            lines.extend(quote_lines(q))
            lines.append(f"— {citation(q)}")
    return "\n".join(lines).strip()
