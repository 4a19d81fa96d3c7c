"""Which candidate quote answers the question: a learned ranker over explainable features.

Each candidate (a sentence, item, list or sentence pair from the top passages, see extract.py)
is described by the features below; a logistic regression trained on the development corpus
(``assistant train-ranker``) weighs them. The weights ship as ``assistant/ranker.json``; scoring
is one dot product per candidate, so the ranker costs next to nothing at question time.

Features, and the failure each one is there for (README, "Quote ranking", has the ablation):
- dense, dense_rel, sym, sym_rel: meaning. E5's asymmetric (question vs passage) and symmetric
  (both embedded as queries) similarity, raw and relative to the best candidate.
- focus, bm25: the words that decide the answer. The question's terms weighted by how rare they
  are among the candidates (a word in every candidate, like the organisation or the document's
  topic, says nothing), as coverage and as BM25 over the candidate sentences.
- kind_*: the kind of answer. A number for "hvor mange", a date for "hvornår", a phone number or
  address for "telefonnummeret", a role or unit for "hvem", a rule (må, skal, ikke) for "må jeg",
  a whole list for "hvilke fire".
- title_overlap, early, heading_like, label_like, question_like: introductions and labels. They
  repeat the document's title, sit at its start, lack a verb or end, or are questions themselves.
- hit_rank, hit_dense_rel: the passage's own rank.
- log_len, short: length.
- neighbour: a candidate next to a good one is more likely part of the answer.
- the meaning interaction (not in ``FEATURES``, a block of its own): the elementwise product of the
  question's E5 vector and the candidate's passage vector, one weight per dimension under a stronger
  L2 penalty than the features above (``INTERACTION_ALPHA``). Its sum is the cosine; the learned
  weights reweigh the dimensions, which catches what one similarity cannot. Scoring it is one dot
  product of the candidate vectors (already at hand) with the question vector times the weights.
(The candidate's form, item/list/pair, was a feature group too; leave-one-organisation-out hit@1
rose by about 0.02 without it, so it was dropped: a list still wins through kind_list/list_size.)
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .question import Question
from .text_da import Analyzer

WEIGHTS_PATH = Path(__file__).with_name("ranker.json")
FORMAT_VERSION = 2     # 2: the meaning interaction block (q * s)
READABLE_FORMATS = (1, 2)   # format 1 (no interaction block) still loads: it scores as it did

FEATURES = ("dense", "dense_rel", "sym", "sym_rel", "focus", "bm25",
            "kind_number", "kind_date", "kind_contact", "kind_who", "kind_rule", "kind_list", "list_size",
            "has_number", "has_modal", "title_overlap", "early", "heading_like", "label_like", "question_like",
            "hit_rank", "hit_dense_rel", "log_len", "short", "neighbour")

_NUMBER = re.compile(r"\d|\b(en|et|to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|tyve|hundrede|tusind|"
                     r"halv\w*|dobbelt|første|anden|tredje|fjerde|femte|uge|måned|time|døgn|år)\b", re.I)
_DATE = re.compile(r"\b(19|20)\d\d\b|\b\d{1,2}\.\s*(januar|februar|marts|april|maj|juni|juli|august|september|"
                   r"oktober|november|december)\b|\b(januar|februar|marts|april|maj|juni|juli|august|september|"
                   r"oktober|november|december)\b|\bkl\.\s*\d|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|"
                   r"\b(mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag|senest|inden|dagen før|hverdag\w*)\b", re.I)
_CONTACT = re.compile(r"\b\d{2} ?\d{2} ?\d{2} ?\d{2}\b|@|\b(tlf|telefon\w*|e-?mail|mail|www\.)", re.I)
_WHO = re.compile(r"\b\w*(chef|leder|direktør|direktion|udvalg\w*|sekretariat\w*|afdeling\w*|enhed\w*|formand|"
                  r"råd(et)?|konsulent\w*|ansvarlig\w*|rådgiver\w*|kontor\w*|center\w*|borgmester\w*|hr|"
                  r"bestyrelse\w*|ombudsmand\w*|advokat\w*|tillidsrepræsentant\w*|medarbejder\w*)\b", re.I)
_MODAL = re.compile(r"\b(må|skal|bør|ikke|aldrig|forbudt|tilladt|kræver|godkend\w*|pligt\w*|"
                    r"must|may|shall|never|not)\b", re.I)
_LABEL = re.compile(r"^[^\s:][^:]{0,30}:\s+\S")
_KIND_TEST = {"number": _NUMBER, "date": _DATE, "contact": _CONTACT, "who": _WHO, "rule": _MODAL}


def interaction(qvec: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """The meaning interaction of each candidate: its passage vector times the question's, elementwise."""
    return vecs * qvec[None, :]


@dataclass(frozen=True)
class Interaction:
    """Weights of the meaning interaction block, on standardised columns like the features."""
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray

    def score(self, qvec: np.ndarray, vecs: np.ndarray) -> np.ndarray:
        """Its share of the log-odds: ``((vecs * qvec - mean) / scale) @ coef``, as one dot product."""
        w = self.coef / self.scale
        return vecs @ (qvec * w) - float(self.mean @ w)


@dataclass(frozen=True)
class Ranker:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    inter: Interaction | None = None

    def score(self, X: np.ndarray, qvec: np.ndarray | None = None, vecs: np.ndarray | None = None) -> np.ndarray:
        """Log-odds that each candidate (a row of ``X`` over ``FEATURES``, its passage vector a row of
        ``vecs``) holds the answer to the question embedded as ``qvec``."""
        cols = [FEATURES.index(f) for f in self.features]
        s = ((X[:, cols] - self.mean) / self.scale) @ self.coef + self.intercept
        if self.inter is not None:
            if qvec is None or vecs is None:
                raise ValueError("this ranker weighs the meaning interaction: score() needs qvec and vecs")
            if len(qvec) != len(self.inter.coef) or vecs.shape[1:] != (len(self.inter.coef),):
                raise ValueError(f"the ranker's meaning interaction has {len(self.inter.coef)} dimensions, "
                                 f"the vectors {len(qvec)}: weights trained with another embedding model")
            s = s + self.inter.score(qvec, vecs)
        return s

    def to_json(self, extra: dict | None = None) -> dict:
        r = lambda a: [round(float(x), 6) for x in a]
        r8 = lambda a: [round(float(x), 8) for x in a]     # its columns are small (scale about 0.001)
        inter = ({"interaction": {"mean": r8(self.inter.mean), "scale": r8(self.inter.scale), "coef": r(self.inter.coef)}}
                 if self.inter is not None else {})
        return {"format": FORMAT_VERSION, "features": list(self.features), "mean": r(self.mean),
                "scale": r(self.scale), "coef": r(self.coef), "intercept": round(float(self.intercept), 6),
                **inter, **(extra or {})}

    @classmethod
    def from_json(cls, d: dict) -> "Ranker":
        if d.get("format") not in READABLE_FORMATS:
            raise ValueError(f"ranker weights have format {d.get('format')!r}, expected one of "
                             f"{', '.join(map(str, READABLE_FORMATS))}; retrain them with: assistant train-ranker")
        unknown = set(d["features"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"ranker weights name unknown features: {sorted(unknown)}")
        if not len(d["features"]) == len(d["mean"]) == len(d["scale"]) == len(d["coef"]):
            raise ValueError("ranker weights: features, mean, scale and coef differ in length")
        inter = None
        if d.get("interaction") is not None:
            i = d["interaction"]
            if not len(i["mean"]) == len(i["scale"]) == len(i["coef"]) > 0:
                raise ValueError("ranker weights: the interaction's mean, scale and coef differ in length")
            inter = Interaction(np.array(i["mean"]), np.array(i["scale"]), np.array(i["coef"]))
        return cls(tuple(d["features"]), np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]),
                   float(d["intercept"]), inter)


@lru_cache(maxsize=4)
def load_ranker(path: str = str(WEIGHTS_PATH)) -> Ranker:
    return Ranker.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=50_000)
def terms_of(analyzer: Analyzer, text: str) -> frozenset[str]:
    """A candidate's analysed terms; memoised, as the same sentences come up question after question."""
    return frozenset(analyzer.tokens(text))


@lru_cache(maxsize=50_000)
def text_marks(text: str) -> dict[str, bool]:
    """What a candidate's text alone says (which answer kinds it could hold, numbers, rule words,
    a label or heading shape); memoised like ``terms_of``."""
    marks = {kind: bool(test.search(text)) for kind, test in _KIND_TEST.items()}
    marks["number_any"] = bool(_NUMBER.search(text))
    marks["modal_any"] = bool(_MODAL.search(text))
    marks["unterminated_short"] = not re.search(r"[.!?]$", text) and len(text.split()) <= 8
    marks["label"] = bool(_LABEL.match(text))
    return marks


def features(question: Question, spans, hits, dense: np.ndarray, sym: np.ndarray, documents: dict,
             analyzer: Analyzer) -> np.ndarray:
    """The feature matrix (candidates x FEATURES) for one question's candidates."""
    n = len(spans)
    X = np.zeros((n, len(FEATURES)), np.float32)
    if n == 0:
        return X
    col = {f: i for i, f in enumerate(FEATURES)}
    terms = [terms_of(analyzer, s.text) for s in spans]
    focus = [t for t in question.focus]
    df = {t: sum(t in ts for ts in terms) for t in focus}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in focus}
    total_idf = sum(idf.values()) or 1.0
    lengths = np.array([max(len(ts), 1) for ts in terms], np.float32)
    avg = float(lengths.mean())
    bm25 = np.zeros(n, np.float32)
    for t in focus:
        if df[t]:
            has = np.array([t in ts for ts in terms], np.float32)
            bm25 += idf[t] * has * 2.2 / (has + 1.2 * (0.25 + 0.75 * lengths / avg))
    hit_dense = [h.dense_score or 0.0 for h in hits]
    best_hit = max(hit_dense) if hit_dense else 0.0
    X[:, col["dense"]] = dense
    X[:, col["dense_rel"]] = dense - dense.max()
    X[:, col["sym"]] = sym
    X[:, col["sym_rel"]] = sym - sym.max()
    X[:, col["bm25"]] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    for i, (s, ts) in enumerate(zip(spans, terms)):
        hit = hits[s.hit_rank]
        doc = documents[hit.chunk.document]
        text = s.text
        X[i, col["focus"]] = sum(idf[t] for t in focus if t in ts) / total_idf
        marks = text_marks(text)
        if question.kind in _KIND_TEST and marks[question.kind]:
            X[i, col[f"kind_{question.kind}"]] = 1.0
        X[i, col["kind_list"]] = float(question.kind == "list" and s.form == "list")
        if question.list_size and s.form == "list":
            X[i, col["list_size"]] = float(text.count("\n•") + len(re.findall(r"\n\d{1,2}[.)]\s", text))
                                           == question.list_size)
        X[i, col["has_number"]] = float(marks["number_any"])
        X[i, col["has_modal"]] = float(marks["modal_any"])
        title = terms_of(analyzer, f"{doc.title} {doc.doc_type}")
        X[i, col["title_overlap"]] = len(ts & title) / len(ts) if ts else 0.0
        X[i, col["early"]] = float(s.start < 0.05 * max(len(doc.text), 1))
        X[i, col["heading_like"]] = float(marks["unterminated_short"] and s.form == "sentence")
        X[i, col["label_like"]] = float(marks["label"])
        X[i, col["question_like"]] = float(text.rstrip().endswith("?"))
        X[i, col["hit_rank"]] = s.hit_rank
        X[i, col["hit_dense_rel"]] = hit_dense[s.hit_rank] - best_hit
        X[i, col["log_len"]] = math.log(len(text))
        X[i, col["short"]] = float(len(text) < 40)
    # neighbour: the best relative meaning score of the candidates just before and after in the same passage
    rel = X[:, col["dense_rel"]].copy()
    near = np.full(n, -1.0, np.float32)
    order = sorted(range(n), key=lambda i: (spans[i].hit_rank, spans[i].start))
    for a, b in zip(order, order[1:]):
        if spans[a].hit_rank == spans[b].hit_rank:
            near[a] = max(near[a], rel[b])
            near[b] = max(near[b], rel[a])
    X[:, col["neighbour"]] = near
    return X
