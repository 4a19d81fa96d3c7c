"""The answer decision: answer, or say that the documents do not answer the question.

``AbstainRule`` holds the calibrated similarity thresholds; ``Assistant.confidence`` measures the
best candidate and ``Coverage`` (language/vocabulary.py) tells which kind of question it is.
"""
from __future__ import annotations

from dataclasses import dataclass

from assistant.language.vocabulary import Coverage


@dataclass(frozen=True)
class AbstainRule:
    """Abstain when the answer's confidence is below the threshold for the question's kind.

    Confidence is the best candidate quote's symmetric similarity to the question (see
    ``Assistant.confidence``). A question with a specific word that no document mentions ("feriedage") needs a
    higher similarity to be answered than one whose words all occur; English questions
    cannot be checked word by word and have their own threshold. Calibrated on the dev
    split with `assistant eval --sweep` (docs/evaluation.md, "Abstention"); recalibrate when the model changes.
    """
    plain: float = 0.845
    missing: float = 0.89
    english: float = 0.795

    def threshold(self, coverage: Coverage) -> float:
        return getattr(self, coverage.kind)

    def abstains(self, confidence: float, coverage: Coverage) -> bool:
        return confidence < self.threshold(coverage)


NEVER_ABSTAIN = AbstainRule(-1.0, -1.0, -1.0)
