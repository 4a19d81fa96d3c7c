"""Danish text analysis for the keyword (BM25) side.

Each step can be switched off, so the eval suite can measure what it adds:
lowercasing (always), stopwords (a Danish list that keeps negations),
lemmatisation (simplemma: "kodekset" -> "kodeks", "adfærdskodekset" ->
"adfærdskodeks"), and compound splitting ("adfærdskodeks" -> adfærd + kodeks,
"samarbejdskodeks" -> samarbejde + kodeks), indexing the whole word and its parts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NEGATIONS = frozenset({"ikke", "aldrig", "ingen", "intet", "ingenting", "hverken", "nej"})
_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_LINKS = ("s", "e", "")          # Danish linking letters in compounds (fuge-s, fuge-e)


def danish_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_DANISH
    return frozenset(w.lower() for w in STOPWORDS_DANISH) - NEGATIONS


@dataclass(frozen=True)
class Analyzer:
    stopwords: bool = True
    lemmas: bool = True
    compounds: bool = True
    language: str = "da"

    @property
    def name(self) -> str:
        steps = [s for s, on in (("stop", self.stopwords), ("lemma", self.lemmas),
                                 ("compound", self.compounds)) if on]
        return "+".join(steps) or "plain"

    def tokens(self, text: str) -> list[str]:
        stop = _stopwords() if self.stopwords else frozenset()
        out: list[str] = []
        for raw in _TOKEN.findall(text.lower()):
            for word in raw.split("-") if "-" in raw else (raw,):
                if not word or word in stop:
                    continue
                base = _lemma(word, self.language) if self.lemmas else word
                if base in stop:
                    continue
                out.append(base)
                if self.compounds:
                    out.extend(p for p in split_compound(base, self.lemmas) if p != base)
        return out


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return danish_stopwords()


def dictionary_lemma(word: str, lang: str = "da") -> str:
    """simplemma's lemma of ``word``, from its memory-frugal dictionary backend (``low_memory``: the
    front-coded stream decoded on demand instead of a Python dict). Same lemmas as the default backend
    (checked on 5 401 corpus and question words) for about 80 MB less in every process (docs/decisions.md,
    "Model and runtime"); its slower first lookup of a word (about 20 instead of 3 microseconds) is memoised."""
    import simplemma
    return simplemma.lemmatize(word, lang=lang, low_memory=True)


def dictionary_knows(word: str, lang: str = "da") -> bool:
    """Is ``word`` in simplemma's dictionary (the same memory-frugal backend as ``dictionary_lemma``)?"""
    import simplemma
    return simplemma.is_known(word, lang=lang, low_memory=True)


@lru_cache(maxsize=200_000)
def _lemma(word: str, lang: str = "da") -> str:
    if len(word) < 3 or word.isdigit():
        return word
    return dictionary_lemma(word, lang).lower()


@lru_cache(maxsize=200_000)
def _known(word: str) -> bool:
    return len(word) >= 3 and dictionary_knows(word)


@lru_cache(maxsize=200_000)
def split_compound(word: str, lemmatise_parts: bool = True) -> tuple[str, ...]:
    """Split a compound into known parts (left, right); () when it is not one.

    The right part (the head) must be a known word of at least 3 letters; the left part
    must be known, possibly after removing a linking 's'/'e' or restoring a final 'e'
    (samarbejd-s -> samarbejde). The split with the longest known head wins; the head
    may itself be split again (three-part compounds).
    """
    if len(word) < 7 or not word.isalpha():
        return ()
    for i in range(3, len(word) - 2):
        left, right = word[:i], word[i:]
        if len(right) < 3 or not _known(right) or right in _stopwords():
            continue
        left_word = _left_word(left)
        if left_word:
            head = _lemma(right) if lemmatise_parts else right
            parts = (left_word, head)
            more = split_compound(head, lemmatise_parts)
            return parts + more if more else parts
    return ()


def _left_word(left: str) -> str | None:
    candidates = [left]
    for link in _LINKS:
        if link and left.endswith(link) and len(left) > 3:
            candidates.append(left[: -len(link)])
    for c in list(candidates):
        if len(c) >= 4:
            candidates.append(c + "e")
    for c in candidates:
        if _known(c) and c not in _stopwords():
            return _lemma(c)
    return None
