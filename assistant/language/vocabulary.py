"""Term coverage: does the question ask about something the documents never mention?

Dense similarity alone cannot tell "what do the codes say about social media?"
from "how many holiday days do I get?": both land near the same passages with
similar scores. What separates them is that the second asks about a specific
thing ("feriedage") that no indexed document mentions in any form.

A question word counts as covered when the documents (or their titles and
organisations) contain it as written, as the same lemma, inflected (a long
shared prefix: "opdatere" / "opdateret"), misspelt by one or two letters
("ambasadører" / "ambassadører"), or as a compound whose parts all occur
("arbejdsmiljø" when "arbejde" and "miljø" do), or as a part of a compound in
the documents ("kodekset" is covered by "adfærdskodeks"). Words that are common in any
Danish text (word frequency from `wordfreq`, Zipf >= 5) are not evidence either
way and are ignored. English questions are recognised the same way (most words
more frequent in English than in Danish); for them coverage is not used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from assistant.language.danish import _TOKEN, _known, _lemma, _stopwords, split_compound

COMMON_ZIPF = 5.0          # words at least this frequent in Danish are too common to count
# Standard Danish abbreviations in documents, read as the words they stand for
ABBREVIATIONS = {"tlf": ("telefon", "telefonnummer"), "nr": ("nummer",), "fx": ("eksempel",),
                 "mht": ("hensyn",)}
_POSSESSIVE = re.compile(r"'s$")


@dataclass(frozen=True)
class Coverage:
    words: tuple[str, ...]      # the question's content words
    missing: tuple[str, ...]    # specific words the documents do not mention
    english: bool

    @property
    def kind(self) -> str:
        """english, missing (a specific word no document mentions) or plain: picks the threshold."""
        return "english" if self.english else ("missing" if self.missing else "plain")


@lru_cache(maxsize=100_000)
def _zipf(word: str, lang: str) -> float:
    from wordfreq import zipf_frequency
    return zipf_frequency(word, lang)


def content_words(text: str) -> list[str]:
    stop = _stopwords()
    out = []
    for raw in _TOKEN.findall(text.lower()):
        for w in raw.split("-"):
            w = _POSSESSIVE.sub("", w)
            if len(w) < 3 or w.isdigit() or w in stop or _lemma(w) in stop:
                continue
            out.append(w)
    return list(dict.fromkeys(out))


def is_english(words: list[str]) -> bool:
    if not words:
        return False
    return sum(_zipf(w, "en") > _zipf(w, "da") for w in words) > len(words) / 2


class Vocabulary:
    """Every word form of the indexed documents, with their lemmas, for coverage checks."""

    def __init__(self, texts: Iterable[str]):
        words: set[str] = set()
        for t in texts:
            words.update(w for raw in _TOKEN.findall(t.lower()) for w in raw.split("-") if w)
        for abbr, full in ABBREVIATIONS.items():
            if abbr in words:
                words.update(full)
        words |= {_lemma(w) for w in words}
        for w in list(words):
            parts = split_compound(w)
            # "adfærdskodeks" covers "kodeks", but "opgave" does not cover "gave": a head
            # counts only after a left part of four letters or more
            if parts:
                words.add(parts[0])
                if len(parts[0]) >= 4:
                    words.update(parts[1:])
        self.words = frozenset(words)
        self._list = sorted(self.words)
        self._by_prefix: dict[str, list[str]] = {}
        for w in self.words:
            if len(w) >= 4:
                self._by_prefix.setdefault(w[:4], []).append(w)

    def covers(self, word: str) -> bool:
        return self._covers(word, depth=0)

    def _covers(self, word: str, depth: int) -> bool:
        if word in self.words or _lemma(word) in self.words:
            return True
        if len(word) >= 4:
            need = max(4, len(word) - 2)          # inflections share all but the ending
            for v in self._by_prefix.get(word[:4], ()):
                if len(v) >= need and v[:need] == word[:need] and abs(len(v) - len(word)) <= 4:
                    return True
        if len(word) >= 5 and self._near(word):
            return True
        parts = split_compound(_lemma(word))
        return depth == 0 and bool(parts) and all(self._covers(p, depth + 1) for p in parts)

    def _near(self, word: str) -> bool:
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein
        k = 1 if len(word) < 9 else 2
        return process.extractOne(word, self._list, scorer=Levenshtein.distance, score_cutoff=k) is not None

    def check(self, question: str) -> Coverage:
        words = content_words(question)
        return self.check_words(tuple(words), is_english(words))

    def check_words(self, words: tuple[str, ...], english: bool) -> Coverage:
        """Coverage of a question's content words (``content_words``), already analysed."""
        if english:
            return Coverage(tuple(words), (), True)
        missing = tuple(w for w in words if _zipf(w, "da") < COMMON_ZIPF and not self.covers(w) and intelligible(w))
        return Coverage(tuple(words), missing, False)


@lru_cache(maxsize=100_000)
def intelligible(word: str) -> bool:
    """Can we tell what ``word`` means without the documents? It is in the Danish dictionary, has a word
    frequency in Danish or English, or is a compound of known words ("kilometertaksten"). A word that is
    none of these (a misspelling, "pasword"; a name newer than the word lists, "chatgpt") says nothing
    about whether the documents cover the question, so its absence from them is not evidence either way."""
    return (_known(word) or _zipf(word, "da") > 0 or _zipf(word, "en") > 0
            or bool(split_compound(_lemma(word))))
