"""Which candidate quote answers the question: a learned ranker over explainable features.

Each candidate (a sentence, item, list or sentence pair from the top passages, see extract.py)
is described by the features below; a logistic regression trained on the development corpus
(``assistant train-ranker``) weighs them. The weights ship as ``assistant/answer/ranker.json``; scoring
is one dot product per candidate, so the ranker costs next to nothing at question time.

Features, and the failure each one is there for (docs/ranking.md, has the ablation):
- dense, dense_rel, sym, sym_rel: meaning. E5's asymmetric (question vs passage) and symmetric
  (both embedded as queries) similarity, raw and relative to the best candidate.
- focus, bm25: the words that decide the answer. The question's terms weighted by how rare they
  are among the candidates (a word in every candidate, like the organisation or the document's
  topic, says nothing), as coverage and as BM25 over the candidate sentences.
- kind_*: the kind of answer. A quantity for "hvor mange" (digits or number words; the articles
  "en"/"et" only with a unit, "en uge"), a date for "hvornår", a phone number or address for
  "telefonnummeret", a role or unit for "hvem", a rule (må, skal, ikke) for "må jeg", a whole list for
  "hvilke fire".
- unit_match: the quantity the question names: a duration for "hvor lang tid"/"hvor hurtigt" ("senest
  30 dage", "inden for 10 arbejdsdage"), an amount for "hvor dyr"/"beløbet" ("400 kr."), a frequency for
  "hvor ofte" ("to gange om året").
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

from assistant.answer.question import Question
from assistant.ingest.sentences import chunk_spans
from assistant.language.danish import Analyzer

WEIGHTS_PATH = Path(__file__).with_name("ranker.json")
FORMAT_VERSION = 2     # 2: the meaning interaction block (q * s)
READABLE_FORMATS = (1, 2)   # format 1 (no interaction block) still loads: it scores as it did

FEATURES = ("dense", "dense_rel", "sym", "sym_rel", "focus", "bm25",
            "kind_number", "kind_date", "kind_contact", "kind_who", "kind_rule", "kind_list", "list_size",
            "has_number", "has_modal", "title_overlap", "early", "heading_like", "label_like", "question_like",
            "hit_rank", "hit_dense_rel", "log_len", "short", "neighbour", "unit_match", "rare_focus")

_NUMBER = re.compile(r"\d|\b(en|et|to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|tyve|hundrede|tusind|"
                     r"halv\w*|dobbelt|første|anden|tredje|fjerde|femte|uge|måned|time|døgn|år)\b", re.I)
# A quantity, for "hvor mange" and its kin: digits or number words, not the articles "en"/"et" unless a
# unit follows ("en uge"); and the three quantities a question can name (question.quantity_unit).
_NUMBER_WORDS = r"(to|tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|femten|tyve|tredive|hundrede|tusind|halv\w*|dobbelt)"
_TIME_UNIT = r"(arbejdsdage|hverdage|dage|dag|døgn|uger|uge|måneder|måned|år|timer|time|minutter|kvartal)"
_QUANTITY = re.compile(rf"\d|\b{_NUMBER_WORDS}\b|\b(en|et)\s+(halv\s+)?{_TIME_UNIT}\b", re.I)
_UNIT_TEST = {
    "duration": re.compile(rf"(\d+|\b{_NUMBER_WORDS}|\b(en|et))\s+{_TIME_UNIT}\b|"
                           r"\b(straks|hurtigst muligt|omgående|senest|inden for)\b", re.I),
    "amount": re.compile(r"\d[\d.]*\s*(kr\b|kroner|,-)|\bkr\.?\s*\d|\bprocent\b|%", re.I),
    "frequency": re.compile(rf"\b(gang|gange)\s+(om|i|hver)\b|\bhver[te]?\s+(\w+\s+)?{_TIME_UNIT}\b|"
                            r"\b(årlig|ugentlig|månedlig|daglig)\w*", re.I),
    "phone": re.compile(r"(?<!\d)(\+45 ?)?\d{2} ?\d{2} ?\d{2} ?\d{2}(?!\d)"),
    "email": re.compile(r"\S@\S"),
    "address": re.compile(r"\b\w+(vej|gade|boulevard|allé|plads|torv|stræde|vænge|park)\s+\d+|\b\d{4}\s+[A-ZÆØÅ][a-zæøå]+"),
    "definition": re.compile(r"\b(betyder|vil sige|forstås|defineres|dækker over|indebærer|handler om|means)\b", re.I),
}
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
_KIND_TEST = {"number": _QUANTITY, "date": _DATE, "contact": _CONTACT, "who": _WHO, "rule": _MODAL}


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

    def score(self, X: np.ndarray, qvec: np.ndarray | None = None, vecs: np.ndarray | None = None,
              columns: tuple[str, ...] = FEATURES) -> np.ndarray:
        """Log-odds that each candidate (a row of ``X`` over ``columns``, its passage vector a row of
        ``vecs``) holds the answer to the question embedded as ``qvec``. ``columns`` names X's columns:
        ``FEATURES`` unless an experiment adds its own (evals/tools/tuned_e5_pilot.py)."""
        cols = [columns.index(f) for f in self.features]
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


@lru_cache(maxsize=50_000)
def holds_unit(text: str, unit: str) -> bool:
    """Does a candidate state the quantity a question names (duration, amount, frequency)? Asked only
    for questions that name one, so a passage's first sight does not pay for it; memoised."""
    return bool(_UNIT_TEST[unit].search(text))


_KIND_COLS = tuple(f"kind_{k}" for k in _KIND_TEST)
_COL = {f: i for i, f in enumerate(FEATURES)}
_LIST_ITEM = re.compile(r"\n\d{1,2}[.)]\s")


@lru_cache(maxsize=50_000)
def _span_row(text: str, form: str, terms: frozenset[str], title: frozenset[str], early: bool) -> tuple[np.ndarray, int]:
    """What a candidate says on its own, whatever the question: its row of the question-independent
    features (the answer kinds it could hold in their ``kind_*`` columns, for ``features`` to keep only
    the one asked for) and, for a list, its number of items (-1 otherwise). Memoised like ``terms_of``."""
    marks = text_marks(text)
    row = np.zeros(len(FEATURES), np.float32)
    for kind in _KIND_TEST:
        row[_COL[f"kind_{kind}"]] = marks[kind]
    row[_COL["has_number"]] = marks["number_any"]
    row[_COL["has_modal"]] = marks["modal_any"]
    row[_COL["title_overlap"]] = len(terms & title) / len(terms) if terms else 0.0
    row[_COL["early"]] = early
    row[_COL["heading_like"]] = marks["unterminated_short"] and form == "sentence"
    row[_COL["label_like"]] = marks["label"]
    row[_COL["question_like"]] = text.rstrip().endswith("?")
    row[_COL["log_len"]] = math.log(len(text))
    row[_COL["short"]] = len(text) < 40
    items = text.count("\n•") + len(_LIST_ITEM.findall(text)) if form == "list" else -1
    return row, items


@lru_cache(maxsize=4096)
def passage_rows(chunk, title: frozenset[str], early_at: float, analyzer: Analyzer
                 ) -> tuple[np.ndarray, np.ndarray, tuple[frozenset[str], ...]]:
    """The question-independent rows (``_span_row``), list sizes and terms of all of a passage's
    candidates (``sentences.chunk_spans``, in their order), memoised per passage: the same passages come
    up question after question, and one lookup per passage replaces one per candidate."""
    spans = chunk_spans(chunk, 0)
    terms = tuple(terms_of(analyzer, s.text) for s in spans)
    if not spans:
        return np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, np.int64), terms
    rows = [_span_row(s.text, s.form, ts, title, s.start < early_at) for s, ts in zip(spans, terms)]
    return np.stack([r for r, _ in rows]), np.array([i for _, i in rows], np.int64), terms


def features(question: Question, spans, hits, dense: np.ndarray, sym: np.ndarray, documents: dict,
             analyzer: Analyzer) -> np.ndarray:
    """The feature matrix (candidates x FEATURES) for one question's candidates, ``spans`` being all the
    pieces of ``hits`` in order (``extract.gather``): each passage's question-independent rows
    (``passage_rows``), then the columns that depend on the question."""
    n = len(spans)
    if n == 0:
        return np.zeros((0, len(FEATURES)), np.float32)
    col = _COL
    blocks = []
    for h in hits:
        doc = documents[h.chunk.document]
        blocks.append(passage_rows(h.chunk, terms_of(analyzer, f"{doc.title} {doc.doc_type}"),
                                   0.05 * max(len(doc.text), 1), analyzer))
    X = np.concatenate([b[0] for b in blocks])
    items = np.concatenate([b[1] for b in blocks])
    terms = [t for b in blocks for t in b[2]]
    if len(X) != n:
        raise ValueError(f"features: {n} candidates, but the passages have {len(X)} pieces")
    for c in _KIND_COLS:                                   # only the kind of answer the question asks for
        if c != f"kind_{question.kind}":
            X[:, col[c]] = 0.0
    X[:, col["kind_list"]] = float(question.kind == "list") * (items >= 0)
    if question.unit:                                      # the quantity asked for: a duration, amount, frequency
        X[:, col["unit_match"]] = [holds_unit(s.text, question.unit) for s in spans]
    if question.list_size:
        X[:, col["list_size"]] = items == question.list_size
    # the focus terms, weighted by their rarity among the candidates: as coverage and as BM25
    focus = list(question.focus)
    has = np.array([[t in ts for ts in terms] for t in focus], np.float32).reshape(len(focus), n)
    df = has.sum(axis=1)
    idf = [math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()]
    total_idf = sum(idf) or 1.0
    lengths = np.array([max(len(ts), 1) for ts in terms], np.float32)
    norm = 1.2 * (0.25 + 0.75 * lengths / float(lengths.mean()))
    bm25 = np.zeros(n, np.float32)
    for w, h, d in zip(idf, has, df.tolist()):
        if d:
            bm25 += w * h * 2.2 / (h + norm)
    X[:, col["focus"]] = np.asarray(idf) @ has.astype(np.float64) / total_idf
    # the focus term that fewest candidates hold (but some do): a near neighbour often lacks just that one
    present = [i for i, d in enumerate(df.tolist()) if d]
    X[:, col["rare_focus"]] = has[max(present, key=lambda i: idf[i])] if present else 0.0
    X[:, col["bm25"]] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    X[:, col["dense"]] = dense
    X[:, col["dense_rel"]] = dense - dense.max()
    X[:, col["sym"]] = sym
    X[:, col["sym_rel"]] = sym - sym.max()
    ranks = np.array([s.hit_rank for s in spans])
    hit_dense = np.array([h.dense_score or 0.0 for h in hits])
    X[:, col["hit_rank"]] = ranks
    X[:, col["hit_dense_rel"]] = hit_dense[ranks] - hit_dense.max()
    # neighbour: the best relative meaning score of the candidates just before and after in the same passage
    order = np.lexsort((np.array([s.start for s in spans]), ranks))     # by passage, then place (stable)
    rel = X[order, col["dense_rel"]]
    same = ranks[order][1:] == ranks[order][:-1]
    best = np.full(n, -1.0, np.float32)
    best[:-1] = np.where(same, np.maximum(best[:-1], rel[1:]), best[:-1])
    best[1:] = np.where(same, np.maximum(best[1:], rel[:-1]), best[1:])
    near = np.empty(n, np.float32)
    near[order] = best
    X[:, col["neighbour"]] = near
    return X
