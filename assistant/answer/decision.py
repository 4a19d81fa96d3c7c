"""The answer decision: does the best candidate answer the question, or do the documents not answer it?

One learned decision, asked the same question everywhere: the unscoped answer, a named organisation's
documents ("X's documents do not mention it" is this decision on X's own candidates) and each column
of a comparison. It is a logistic regression over the evidence below, trained on the development
corpus (``assistant train-ranker`` writes ``decision.json`` beside ``ranker.json``); its threshold
refuses at most a stated share of the answerable development questions, leave one organisation out
(docs/evaluation.md, "The answer decision", has the features' ablation and the curve).

The evidence, each an explainable number about the question and its best candidates:
- the quote ranker's best score and its margin to the next (is one candidate clearly the answer?);
- meaning: the best candidate's asymmetric and symmetric similarity, the best symmetric similarity of
  any candidate, the best passage's similarity;
- the question's focus words in the best candidates: relative (how many of the rare ones) and literal
  (their share, weighted by how rare each word is in Danish, in the candidate's lemmas and compounds);
- answer kind: does the question ask for a number, a date, a contact or a person or body, or name a
  quantity (a duration, an amount, a frequency, a phone number …), and does the best candidate (or one
  of the best three) hold one? A question for an amount answered by sentences without one is the
  failure this catches;
- question words no document uses (``Coverage.missing``), and the question's language;
- within a named organisation's documents, how much closer the best passage of all documents is than
  the organisation's best (``scope_gap``; 0 without a scope): another organisation's documents being
  far closer is what "X's documents do not mention it" looks like; and how many words of the question's
  subject ("om sociale medier") other documents use and the organisation's never do (``scope_missing``:
  evidence of absence).

Three outcomes: an answer; *no direct answer* (the decision says no and the question asks for a kind
of detail no best candidate holds: "Dokumenterne nævner ikke et beløb …", with the closest passages as
"Måske relateret"); not covered.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from assistant.answer.question import Question
from assistant.answer.rank import Interaction
from assistant.language.vocabulary import _zipf

DECISION_PATH = Path(__file__).with_name("decision.json")
FORMAT_VERSION = 1

EVIDENCE = ("top_score", "margin", "top_dense", "top_sym", "best_sym", "top_passage",
            "focus_best", "focus_top", "rare_focus_best", "literal_best", "literal_top",
            "kind_asked", "kind_best", "kind_top", "unit_asked", "unit_best", "unit_top",
            "missing", "english", "scope_gap", "scope_missing")
GROUPS = {
    "ranker score (top_score, margin)": ("top_score", "margin"),
    "meaning (dense, sym, passage)": ("top_dense", "top_sym", "best_sym", "top_passage"),
    "focus words (relative)": ("focus_best", "focus_top", "rare_focus_best"),
    "focus words (literal)": ("literal_best", "literal_top"),
    "answer kind": ("kind_asked", "kind_best", "kind_top", "unit_asked", "unit_best", "unit_top"),
    "unknown words, language": ("missing", "english"),
    "the organisation's documents (scope_gap, scope_missing)": ("scope_gap", "scope_missing"),
}
SPECIFIC = ("number", "date", "contact", "who")
TOP = 3                 # "one of the best": the ranker's best three candidates

# What a question asked for and no best candidate holds, as the "no direct answer" line names it
WHAT = {"duration": "en frist eller varighed", "amount": "et beløb", "frequency": "en hyppighed",
        "phone": "et telefonnummer", "email": "en e-mailadresse", "address": "en adresse",
        "number": "et antal", "date": "en dato eller et tidspunkt", "contact": "kontaktoplysninger",
        "who": "en person eller enhed"}


def literal_coverage(question: Question, terms: list[frozenset[str]]) -> np.ndarray:
    """Per candidate: the share of the question's focus words it holds (as lemma or compound part),
    each weighted by how rare it is in Danish (a common word says little; Zipf frequency)."""
    focus = list(question.focus)
    if not focus or not terms:
        return np.zeros(len(terms), np.float32)
    w = np.array([max(0.5, 7.0 - _zipf(t, "da")) for t in focus], np.float32)
    has = np.array([[t in ts for t in focus] for ts in terms], np.float32)
    return has @ w / float(w.sum())


@dataclass(frozen=True)
class Evidence:
    """What the decision weighs for one question and its candidates (``EVIDENCE``, in order), the kind of
    detail the question asks for that none of the best candidates holds (None: none asked, or held), and
    the meaning interaction of the question with the best candidate (its vector times the question's)."""
    values: tuple[float, ...]
    missing_kind: str | None = None
    meeting: np.ndarray | None = field(default=None, repr=False, compare=False)

    def named(self) -> dict[str, float]:
        return dict(zip(EVIDENCE, self.values))


def evidence(question: Question, X: np.ndarray, scores: np.ndarray, literal: np.ndarray, top_passage: float,
             missing_words: int, columns: tuple[str, ...], qvec: np.ndarray | None = None,
             vecs: np.ndarray | None = None, scope_gap: float = 0.0, scope_missing: int = 0) -> Evidence:
    """The evidence from one question's candidates: ``X`` their ranker features (``columns`` names them),
    ``scores`` the ranker's scores, ``literal`` their ``literal_coverage``, ``top_passage`` the best
    passage's dense similarity, ``missing_words`` the question's words no document uses; ``qvec`` and
    ``vecs`` (the question's and the candidates' passage vectors) give the meaning interaction;
    ``scope_gap`` is the best passage of all documents' similarity minus ``top_passage`` (0 unscoped) and
    ``scope_missing`` the number of words of the question's subject only other organisations' documents use."""
    col = {c: i for i, c in enumerate(columns)}
    kind_asked = question.kind in SPECIFIC
    unit_asked = bool(question.unit)
    english = float(question.english)
    if len(scores) == 0:
        values = (-10.0, 0.0, 0.0, 0.0, 0.0, top_passage, 0.0, 0.0, 0.0, 0.0, 0.0,
                  float(kind_asked), 0.0, 0.0, float(unit_asked), 0.0, 0.0, float(missing_words), english,
                  float(scope_gap), float(scope_missing))
        return Evidence(values, _what_missing(question, False, False),
                        None if qvec is None else np.zeros(len(qvec), np.float32))
    order = np.argsort(-np.asarray(scores), kind="stable")[:TOP]
    b = int(order[0])
    second = float(scores[order[1]]) if len(order) > 1 else float(scores[b]) - 10.0
    kind_col = X[:, col[f"kind_{question.kind}"]] if kind_asked else np.zeros(len(scores))
    unit_col = X[:, col["unit_match"]] if unit_asked else np.zeros(len(scores))
    kind_top, unit_top = float(kind_col[order].max()), float(unit_col[order].max())
    values = (float(scores[b]), float(scores[b]) - second, float(X[b, col["dense"]]), float(X[b, col["sym"]]),
              float(X[:, col["sym"]].max()), float(top_passage),
              float(X[b, col["focus"]]), float(X[order, col["focus"]].max()), float(X[b, col["rare_focus"]]),
              float(literal[b]), float(literal[order].max()),
              float(kind_asked), float(kind_col[b]), kind_top, float(unit_asked), float(unit_col[b]), unit_top,
              float(missing_words), english, float(scope_gap), float(scope_missing))
    meeting = None if qvec is None or vecs is None else (qvec * vecs[b]).astype(np.float32)
    return Evidence(values, _what_missing(question, bool(kind_top), bool(unit_top)), meeting)


def _what_missing(question: Question, kind_held: bool, unit_held: bool) -> str | None:
    if question.unit in WHAT and question.unit != "definition" and not unit_held:
        return question.unit
    if question.kind in SPECIFIC and not kind_held:
        return question.kind
    return None


@dataclass(frozen=True)
class Verdict:
    """The decision on one set of candidates: answer or not, how likely they answer (0–1), and the
    detail asked for that none of the best candidates holds."""
    answers: bool
    probability: float
    missing_kind: str | None = None
    subject_stated: bool = False      # answered although below the threshold: the quote states the subject

    @property
    def outcome(self) -> str:
        """answer, no_direct_answer (a detail asked for is missing) or not_covered."""
        if self.answers:
            return "answer"
        return "no_direct_answer" if self.missing_kind else "not_covered"

    def to_json(self) -> dict:
        out = {"outcome": self.outcome, "probability": round(self.probability, 4), "missing": self.missing_kind}
        if self.subject_stated:
            out["subject_stated"] = True
        return out


@dataclass(frozen=True)
class Decision:
    """A logistic regression over standardised evidence, with the threshold chosen on the folds."""
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float                 # answer when the probability is at least this
    inter: Interaction | None = None     # the meaning interaction's weights (question x best candidate)
    meta: dict | None = None

    def probabilities(self, E: np.ndarray, M: np.ndarray | None = None) -> np.ndarray:
        """The probability for each row of ``E`` (evidence in ``EVIDENCE`` order), with ``M`` the rows'
        meaning interactions (needed when the decision has that block)."""
        X = np.asarray(E, np.float64)[:, [EVIDENCE.index(f) for f in self.features]]
        z = ((X - self.mean) / self.scale) @ self.coef + self.intercept
        if self.inter is not None:
            if M is None or np.shape(M)[1] != len(self.inter.coef):
                raise ValueError("the answer decision needs the question's and the candidates' vectors of "
                                 f"{len(self.inter.coef)} dimensions")
            z = z + ((np.asarray(M, np.float64) - self.inter.mean) / self.inter.scale) @ self.inter.coef
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def probability(self, ev: Evidence) -> float:
        return float(self.probabilities(np.array([ev.values]), None if ev.meeting is None else ev.meeting[None, :])[0])

    def decide(self, ev: Evidence) -> Verdict:
        p = self.probability(ev)
        return Verdict(p >= self.threshold, p, ev.missing_kind)

    def for_dimension(self, dim: int) -> "Decision":
        """This decision for vectors of ``dim`` dimensions: the meaning interaction was learned on the default
        model's vectors, so with another model only the evidence weighs."""
        if self.inter is not None and len(self.inter.coef) != dim:
            return replace(self, inter=None)
        return self

    def to_json(self, meta: dict | None = None) -> dict:
        r = lambda a: [round(float(x), 6) for x in a]
        r8 = lambda a: [round(float(x), 8) for x in a]     # the interaction's columns are small
        inter = ({"interaction": {"mean": r8(self.inter.mean), "scale": r8(self.inter.scale),
                                  "coef": r(self.inter.coef)}} if self.inter is not None else {})
        return {"format": FORMAT_VERSION, "features": list(self.features), "mean": r(self.mean),
                "scale": r(self.scale), "coef": r(self.coef), "intercept": round(self.intercept, 6),
                "threshold": round(self.threshold, 6), **inter, **(meta or self.meta or {})}

    @classmethod
    def from_json(cls, d: dict) -> "Decision":
        if d.get("format") != FORMAT_VERSION:
            raise ValueError(f"decision weights in format {d.get('format')!r}; this version reads format {FORMAT_VERSION}")
        features = tuple(d["features"])
        unknown = set(features) - set(EVIDENCE)
        if unknown:
            raise ValueError(f"decision weights name unknown evidence: {sorted(unknown)}")
        meta = {k: v for k, v in d.items() if k not in ("format", "features", "mean", "scale", "coef",
                                                         "intercept", "threshold", "interaction")}
        i = d.get("interaction")
        inter = (Interaction(np.asarray(i["mean"], np.float64), np.asarray(i["scale"], np.float64),
                             np.asarray(i["coef"], np.float64)) if i else None)
        return cls(features, np.asarray(d["mean"], np.float64), np.asarray(d["scale"], np.float64),
                   np.asarray(d["coef"], np.float64), float(d["intercept"]), float(d["threshold"]), inter, meta)


# A decision that answers whatever the evidence (probability 0.5, threshold 0): for measuring what would be
# quoted, and for tests of other parts.
ALWAYS = Decision((), np.zeros(0), np.ones(0), np.zeros(0), 0.0, 0.0)


def load_decision(path: Path = DECISION_PATH) -> Decision:
    return Decision.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
