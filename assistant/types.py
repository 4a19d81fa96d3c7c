"""What flows between the pipeline steps: small frozen dataclasses."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RawDocument:
    """Text as read from a file, before cleaning: one string per page (one page for non-PDFs)."""
    path: str
    pages: tuple[str, ...]
    paged: bool = False           # True for formats with real pages (PDF)
    props: tuple[tuple[str, str], ...] = ()   # the file's own metadata (HTML <title>, PDF info, DOCX core)


@dataclass(frozen=True)
class Document:
    """A cleaned document. Offsets of chunks and quotes point into ``text``."""
    id: str                       # file stem, e.g. "aalborg-byraad-adfaerdskodeks"
    path: str                     # source path relative to the corpus folder
    text: str
    title: str
    organisation: str
    doc_type: str
    date: str | None                    # ISO 8601 (2019-03-12, 2018-08, 2019) or a period (2018/2021)
    page_starts: tuple[int, ...] = ()   # PDFs: offset where page i+1 begins in ``text``
    date_phrase: str | None = None      # the words the date was read from ("Opdateret: August 2018")
    org_aliases: tuple[str, ...] = ()   # abbreviations the document defines for its organisation ("KFR")
    visibility: str = "offentlig"       # "offentlig" (everyone) or "intern" (logged-in staff only)
    language: str = "da"                # ISO 639-1, detected from the text (language/detect.py)

    @property
    def internal(self) -> bool:
        return self.visibility != "offentlig"   # anything but public is treated as internal

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))   # pages whose start is <= offset

    def meta(self) -> dict:
        d = asdict(self)
        d.pop("text")
        d["page_starts"] = list(self.page_starts)
        d["org_aliases"] = list(self.org_aliases)
        return d


@dataclass(frozen=True)
class Chunk:
    id: str                       # stable: derived from document id, offsets and text
    document: str                 # Document.id
    start: int                    # Document.text[start:end] == text
    end: int
    text: str
    headings: tuple[str, ...]     # section path, outermost first
    page: int | None = None

    @property
    def heading(self) -> str:
        return self.headings[-1] if self.headings else ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["headings"] = list(self.headings)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Chunk":
        return cls(**{**d, "headings": tuple(d["headings"])})


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks it had on each side."""
    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None


@dataclass(frozen=True)
class Quote:
    document: str
    title: str
    organisation: str
    doc_type: str
    heading: str
    start: int
    end: int
    page: int | None
    text: str
    score: float
    # the quote in its paragraph, as shown and not cited: the sentence before and after it in the same
    # passage (``before`` = text[context_start:start], ``after`` = text[end:context_end]); None: not computed
    context_start: int | None = None
    context_end: int | None = None
    before: str = ""
    after: str = ""
    language: str = "da"                # its document's language (cited when not Danish)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OrgAnswer:
    """One organisation's part of a scoped or compared answer: its best quotes, or that it does not mention it."""
    organisation: str
    quotes: tuple[Quote, ...] = ()
    note: str = ""                    # in Danish, e.g. "Havnsø Kommunes dokumenter nævner det ikke."

    @property
    def mentions(self) -> bool:
        return bool(self.quotes)

    def to_json(self) -> dict:
        return {"organisation": self.organisation, "mentions": self.mentions, "note": self.note,
                "quotes": [q.to_json() for q in self.quotes]}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str                     # the answer in Danish, quotes and citations included
    abstained: bool
    quotes: tuple[Quote, ...] = ()
    related: tuple[Quote, ...] = ()   # when abstaining: closest passages, "possibly related"
    notes: tuple[str, ...] = ()       # e.g. "the question was truncated"
    confidence: float = 0.0           # best candidate quote's symmetric similarity; compared with the abstain rule
    hits: tuple[Hit, ...] = field(default=(), repr=False, compare=False)
    missing_terms: tuple[str, ...] = ()   # question words no document mentions
    english: bool = False
    # organisation scope (assistant/answer/scope.py, assistant/answer/per_organisation.py); empty for an unscoped question
    understood: str | None = None         # "Jeg har forstået: »…« – kun dokumenter fra Aarhus Kommune."
    by_organisation: tuple[OrgAnswer, ...] = ()   # per organisation: comparisons, and the named organisation
    not_in_scope: tuple[str, ...] = ()    # named organisations whose documents do not cover the question
    others: tuple[Quote, ...] = ()        # then: what other organisations say, labelled as theirs
    scope: object = field(default=None, repr=False, compare=False)   # the Scope that was answered
    verdict: object = field(default=None, compare=False)   # the answer decision (answer/decision.py Verdict)

    @property
    def compared(self) -> bool:
        return bool(self.scope is not None and getattr(self.scope, "compare", False))

    def to_json(self) -> dict:
        out = {"question": self.question, "answer": self.text, "abstained": self.abstained,
               "quotes": [q.to_json() for q in self.quotes],
               "related": [q.to_json() for q in self.related], "notes": list(self.notes),
               "confidence": round(self.confidence, 4), "missing_terms": list(self.missing_terms)}
        if self.verdict is not None:
            out["decision"] = self.verdict.to_json()
        if self.scope is not None:
            out["understood"] = self.understood
            out["scope"] = self.scope.to_json()
            out["by_organisation"] = [g.to_json() for g in self.by_organisation]
            out["not_in_scope"] = list(self.not_in_scope)
            out["others"] = [q.to_json() for q in self.others]
        return out


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
