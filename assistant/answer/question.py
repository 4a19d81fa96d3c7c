"""Understand the question once: its organisation scope (whose documents, which type, compared or
not, a follow-up resolved: ``scope.py``), its terms, the words that decide the answer, the kind of
answer it wants and its language. Retrieval, quote ranking, coverage, the organisation scope's
answers and the answer text all read this one value instead of reading the question again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from assistant.answer.scope import Scope
from assistant.language.danish import Analyzer
from assistant.language.vocabulary import content_words, is_english

# Answer kinds, recognised from the question's own wording (Danish and English). A list or contact
# question is that whatever else it asks; otherwise the interrogative that comes first decides between a
# date, a number and a person or unit ("Who pays … when …" asks who); then a question that opens with a
# verb asks yes or no, i.e. for a rule; "explain" is what is left.
_NUMBER_WORDS = r"(en|et|to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|two|three|four|five|six|seven|eight|nine|ten)"
_FIRST = (
    # several things: "hvilke" (the plural interrogative) with any noun, "which"/"what" with a plural or a
    # kind of things, a plural after "hvad er" ("hovedreglerne", "advarselstegnene", "kommunens
    # grundregler"), and what something must contain
    ("list", re.compile(rf"\b(hvilke|nævn|list|which)\s+({_NUMBER_WORDS}|\d+)\b|\bhvad er de\b|"
                        r"\b(name|list) the\b|\bhvilke\s+\w+|\b(which|what)\s+(kinds?|types?|sorts?|groups?)\b|"
                        r"\bwhich\s+(\w+\s+){0,2}\w{3,}s\s+(of|do|does|are|were|have|can|may|must|should|did)\b|"
                        r"\bhvad er\b.*\b\w{3,}(erne|ene)\b|\bhvad er\b.*\w{3,}s\s+\w+er\b|"
                        r"\b(indeholde|omfatte|include|contain)\b", re.I)),
    ("contact", re.compile(r"\b(telefon\w*|tlf|e-?mail\w*|mailadresse\w*|phone|kontaktes|ringe? til|"
                           r"hvordan kontakter|hvilket nummer|adresse\w*|address|hvor ligger)\b", re.I)),
)
_INTERROGATIVES = (
    ("date", re.compile(r"\b(hvornår|hvilken dato|hvilket år|fra hvilken dato|hvilket klokkeslæt|dato|"
                        r"when|what date|which year|what time|frist\w*|hvilket tidspunkt|hvilket tidsrum)\b", re.I)),
    ("number", re.compile(r"\b(hvor (mange|meget|længe|langt?|hurtigt|ofte|stor|store|høj|højt|tit|dyr)|"
                          r"hvilket beløb|hvilken \w*grænse|how (many|much|long|often|soon|fast|big|high)|"
                          r"antal\w*|beløb\w*)\b", re.I)),
    ("who", re.compile(r"\b(hvem|hvilken (enhed|afdeling|leder|person|chef|instans)|hvilket (udvalg|organ)|"
                       r"who|whom|whose|to whom)\b", re.I)),
)
# a yes/no question: a modal first, or a verb in the present tense ("Betaler", "Får", "Er") before its subject
_RULE = re.compile(r"^\s*((må|skal|kan|bør|har|er det|gælder|accepterer|tillader|may|must|can|should|"
                   r"is it|am i|are|do|does|is)\b|(\w+er|får|går|er|gør|ser|tager)\s+(jeg|man|du|der|vi|de|"
                   r"alle|min|mit|mine|[A-ZÆØÅ]\w+)\b)", re.I)
# The quantity a number question asks for, when its wording says ("hvor lang tid" wants a duration,
# "hvor dyr" an amount, "hvor ofte" a frequency); the quote ranker's ``unit_match`` looks for it.
_UNITS = (
    ("frequency", re.compile(r"\b(hvor (ofte|tit)|how often|hvor mange gange)\b", re.I)),
    ("duration", re.compile(r"\b(hvor (lang tid|længe|hurtigt|lang)|inden for hvor|how (long|soon|fast|quickly)|"
                            r"hvor mange (dage|uger|måneder|timer))\b", re.I)),
    ("amount", re.compile(r"\b(hvor (dyr|meget|stor|store|høj|højt)|beløb\w*|how much|how expensive|værdi\w*|"
                          r"koste?r?)\b", re.I)),
)
# The form of a contact answer the question names (a phone number, an e-mail address, a postal address),
# and a question that asks what a word or principle means, whose answer defines it ("Meddelerfrihed
# betyder, at …"); ``unit_match`` looks for these too.
_CONTACT_UNITS = (
    ("phone", re.compile(r"\b(telefon\w*|tlf|ringe?r?|nummer\w*|phone|call)\b", re.I)),
    ("email", re.compile(r"\b(e-?mail\w*|mailadresse\w*|mail|skrive til|write to)\b", re.I)),
    ("address", re.compile(r"\b(adresse\w*|address|hvor ligger|where is)\b", re.I)),
)
_DEFINITION = re.compile(r"^\s*(hvad (betyder|menes|forstås|dækker|indebærer)|hvad vil det sige|hvad går .* ud på|"
                         r"what (does|do) .* mean|what is meant|hvad er (en |et )?[\w-]+\s*\??\s*$|"
                         r"what is (an? )?[\w-]+\s*\??\s*$)", re.I)
_LIST_SIZE = re.compile(rf"\b{_NUMBER_WORDS}\b", re.I)
_SIZES = {w: n for n, ws in enumerate(("", "en et", "to two", "tre three", "fire four", "fem five", "seks six",
                                        "syv seven", "otte eight", "ni nine", "ti ten")) for w in ws.split()}


@dataclass(frozen=True)
class Question:
    text: str                          # the question as answered (prepared; a follow-up resolved)
    terms: tuple[str, ...]             # analysed terms as BM25 sees them (lemmas and compound parts)
    focus: tuple[str, ...]             # terms that decide the answer: the terms minus the organisation's
    words: tuple[str, ...]             # content words as coverage sees them
    kind: str                          # number, date, contact, who, rule, list or explain
    list_size: int | None              # "Hvilke fire principper ..." -> 4
    unit: str | None                   # the answer's form, when the wording names one: a duration, amount or
                                       # frequency ("hvor længe"), phone, email or address, or a definition
    english: bool
    scope: Scope                       # organisations named, document type, comparison, follow-up (scope.py)
    notes: tuple[str, ...] = ()        # said before the answer ("Spørgsmålet var meget langt …")
    topic: "Question | None" = None    # the same question without the organisations' names: what passages
                                       # are compared with when it names some (None: ``text`` itself)

    @property
    def organisations(self) -> tuple[str, ...]:
        """Canonical organisations the question names (or the organisation filter gives)."""
        return self.scope.organisations

    @property
    def about(self) -> "Question":
        """What passages are compared with: the topic when the question names organisations, else itself."""
        return self.topic or self


def answer_kind(text: str) -> str:
    for kind, pattern in _FIRST:
        if pattern.search(text):
            return kind
    found = [(m.start(), n, kind) for n, (kind, pattern) in enumerate(_INTERROGATIVES)
             if (m := pattern.search(text))]
    if found:
        return min(found)[2]
    return "rule" if _RULE.search(text) else "explain"


def quantity_unit(text: str) -> str | None:
    return next((unit for unit, pattern in _UNITS if pattern.search(text)), None)


def answer_unit(text: str, kind: str) -> str | None:
    """The form the answer must take when the wording names one: a quantity (``quantity_unit``), for a
    contact question a phone number, e-mail or address, and for a question about meaning a definition."""
    if kind == "contact":
        return next((unit for unit, pattern in _CONTACT_UNITS if pattern.search(text)), None)
    if kind == "explain" and _DEFINITION.search(text):
        return "definition"
    return quantity_unit(text)


def list_size(text: str) -> int | None:
    m = re.search(rf"\b(hvilke|which|nævn|list)\s+({_NUMBER_WORDS}|\d+)\b", text, re.I)
    if not m:
        return None
    w = m.group(2).lower()
    return int(w) if w.isdigit() else _SIZES.get(w)


def analyse(text: str, analyzer: Analyzer, scope: Scope | None = None, notes: tuple[str, ...] = ()) -> Question:
    """The question ``scope.text`` (a follow-up resolved; ``text`` without a scope) analysed once, with
    the scope ``ScopeReader.read`` made of it. Its organisations' names, as written, are kept out of the
    focus terms; when it names organisations or is a follow-up, ``topic`` is the question without the
    names (``Scope.query``), analysed too."""
    scope = scope or Scope(text, text)
    question = _analysed(scope.text, analyzer, scope, notes, scope.org_mentions)
    if scope.scoped or scope.follow_up:
        query = scope.query or scope.text
        # the topic keeps a named council's word ("byrådet"); like the names, it stays out of the focus
        # terms (with it as focus, 1 of the 43 development comparisons lost its right first quote)
        question = replace(question, topic=_analysed(query, analyzer, scope, notes, scope.org_mentions)
                           if query != scope.text else None)
    return question


def _analysed(text: str, analyzer: Analyzer, scope: Scope, notes: tuple[str, ...], names) -> Question:
    terms = tuple(analyzer.tokens(text))
    org_terms = {t for m in names for t in analyzer.tokens(m.text)}
    org_terms |= {t for m in names for t in analyzer.tokens(m.value)}
    focus = tuple(t for t in dict.fromkeys(terms) if t not in org_terms)
    words = tuple(content_words(text))
    kind = answer_kind(text)
    return Question(text=text, terms=terms, focus=focus or tuple(dict.fromkeys(terms)), words=words,
                    kind=kind, list_size=list_size(text) if kind == "list" else None, unit=answer_unit(text, kind),
                    english=is_english(list(words)), scope=scope, notes=notes)
