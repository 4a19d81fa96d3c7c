"""Why a quote was chosen, in plain Danish: matched words, meaning similarity, the organisation scope.

Computed on demand (a click in the chat, ``assistant ask --why``), not for every answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.language.danish import Analyzer

# How close in meaning, in words: multilingual-e5 cosines between a question and a passage lie
# between about 0.70 (unrelated) and 0.92 (the same thing said); the bands are the quartiles of the
# first quote's similarity on the development corpus, rounded (0.853 / 0.872 / 0.890 over 414 answered
# questions at the time; docs/decisions.md, "Answers").
BANDS = ((0.89, "meget tæt på"), (0.87, "tæt på"), (0.85, "nogenlunde tæt på"), (-1.0, "kun løst beslægtet med"))
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


@dataclass(frozen=True)
class Why:
    matched: tuple[str, ...]      # words of the quote that are (forms of) words of the question
    similarity: float             # cosine between the question and the quote (E5 query vs passage)
    scope: str                    # which organisation scope applied, in Danish
    rank: int | None = None       # the passage's place among the retrieved passages (1 = best)

    @property
    def band(self) -> str:
        return next(word for floor, word in BANDS if self.similarity >= floor)

    def lines(self) -> list[str]:
        out = []
        if self.matched:
            out.append("Fælles ord med spørgsmålet: " + ", ".join(f"«{w}»" for w in self.matched) + ".")
        else:
            out.append("Citatet deler ingen ord med spørgsmålet; det er valgt på betydningen.")
        out.append(f"Betydningen ligger {self.band} spørgsmålet (lighed {_da(self.similarity)}, "
                   "hvor 1 er samme betydning).")
        if self.rank:
            out.append(f"Afsnittet var nr. {self.rank} blandt de fundne afsnit.")
        out.append(self.scope)
        return out

    def to_json(self) -> dict:
        return {"matched_words": list(self.matched), "similarity": round(self.similarity, 4), "band": self.band,
                "rank": self.rank, "scope": self.scope, "text": " ".join(self.lines())}


def _da(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def matched_words(question: str, quote: str, analyzer: Analyzer) -> tuple[str, ...]:
    """Words of ``quote`` (as written) whose analysed forms (lemma, compound parts) occur in the question."""
    q_terms = set(analyzer.tokens(question))
    out: dict[str, None] = {}
    for w in _WORD.findall(quote):
        if set(analyzer.tokens(w)) & q_terms:
            out.setdefault(w.lower())
    return tuple(out)
