"""Understand the question once: its terms, the words that decide the answer, the kind of answer
it wants, the organisations it names and its language. Retrieval, quote ranking, coverage and the
answer all read this one value instead of tokenising the question again.
"""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

from .coverage import content_words, is_english
from .orgs import fold
from .text_da import Analyzer

# Answer kinds, recognised from the question's own wording (Danish and English). The first rule
# that matches wins; "explain" is what is left.
_NUMBER_WORDS = r"(en|et|to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|two|three|four|five|six|seven|eight|nine|ten)"
_KINDS = (
    ("list", re.compile(rf"\b(hvilke|nævn|list|which)\s+({_NUMBER_WORDS}|\d+)\b|\bhvad er de\b|"
                        r"\b(name|list) the\b|\bhvilke\s+\w+(er|ne|r)\b", re.I)),
    ("contact", re.compile(r"\b(telefon\w*|tlf|e-?mail\w*|mailadresse\w*|phone|kontaktes|ringe? til|"
                           r"hvordan kontakter)\b", re.I)),
    ("date", re.compile(r"\b(hvornår|hvilken dato|hvilket år|fra hvilken dato|hvilket klokkeslæt|dato|"
                        r"when|what date|which year|what time|frist\w*|hvilket tidspunkt|hvilket tidsrum)\b", re.I)),
    ("number", re.compile(r"\b(hvor (mange|meget|længe|lang tid|hurtigt|ofte|stor|store|høj|højt|tit|dyr)|"
                          r"hvilket beløb|how (many|much|long|often|soon|fast|big|high)|antal\w*|beløb\w*)\b", re.I)),
    ("who", re.compile(r"\b(hvem|hvilken (enhed|afdeling|leder|person|chef|instans)|hvilket (udvalg|organ)|"
                       r"who|whom|whose|to whom)\b", re.I)),
    ("rule", re.compile(r"^\s*(må|skal|kan|bør|har|er det|gælder|accepterer|tillader|may|must|can|should|"
                        r"is it|am i|are|do|does|is)\b", re.I)),
)
_LIST_SIZE = re.compile(rf"\b{_NUMBER_WORDS}\b", re.I)
_SIZES = {w: n for n, ws in enumerate(("", "en et", "to two", "tre three", "fire four", "fem five", "seks six",
                                        "syv seven", "otte eight", "ni nine", "ti ten")) for w in ws.split()}


@dataclass(frozen=True)
class Question:
    text: str                          # the question as answered (prepared: trimmed, printable)
    terms: tuple[str, ...]             # analysed terms as BM25 sees them (lemmas and compound parts)
    focus: tuple[str, ...]             # terms that decide the answer: the terms minus the organisation's
    words: tuple[str, ...]             # content words as coverage sees them
    kind: str                          # number, date, contact, who, rule, list or explain
    list_size: int | None              # "Hvilke fire principper ..." -> 4
    organisations: tuple[str, ...]     # canonical organisations named in the question
    english: bool


def answer_kind(text: str) -> str:
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return "explain"


def list_size(text: str) -> int | None:
    m = re.search(rf"\b(hvilke|which|nævn|list)\s+({_NUMBER_WORDS}|\d+)\b", text, re.I)
    if not m:
        return None
    w = m.group(2).lower()
    return int(w) if w.isdigit() else _SIZES.get(w)


def named_organisations(text: str, aliases: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(canonical, alias as matched) for each organisation the text names, longest alias first.

    ``aliases`` is the index's registry (canonical name -> every alias). Matching is on folded
    whole words, so "ishøjs" or "i Ishøj" find Ishøj Kommune and "kl" does not match inside a word.
    """
    folded = f" {_words(text)} "
    found: dict[str, str] = {}
    names = sorted(((a, c) for c, al in aliases.items() for a in al | {c}), key=lambda t: -len(t[0]))
    for alias, canon in names:
        key = _words(alias)
        if key and f" {key} " in folded and canon not in found:
            found[canon] = alias
            folded = folded.replace(f" {key} ", " ")
    return list(found.items())


@lru_cache(maxsize=8192)
def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", fold(text)))


def analyse(text: str, analyzer: Analyzer, aliases: dict[str, set[str]] | None = None) -> Question:
    terms = tuple(analyzer.tokens(text))
    named = named_organisations(text, aliases or {})
    org_terms = {t for _, alias in named for t in analyzer.tokens(alias)}
    org_terms |= {t for canon, _ in named for t in analyzer.tokens(canon)}
    focus = tuple(t for t in dict.fromkeys(terms) if t not in org_terms)
    words = tuple(content_words(text))
    kind = answer_kind(text)
    return Question(text=text, terms=terms, focus=focus or tuple(dict.fromkeys(terms)), words=words,
                    kind=kind, list_size=list_size(text) if kind == "list" else None,
                    organisations=tuple(c for c, _ in named), english=is_english(list(words)))
