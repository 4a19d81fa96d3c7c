"""Retrieval and answer metrics over gold question sets (JSONL).

Gold format, one question a line::

    {"id": "q001", "question": "...", "relevant": [{"document": "<id>", "text": "<verbatim>"}]}

``"relevant": []`` marks a question the documents do not answer. A passage is
relevant when it comes from that document and contains that text (whitespace
collapsed); several entries mean any of them answers the question.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.answer.decision import Decision
from assistant.answer.rank import Ranker
from assistant.answer.retrieve import Filters

KS = (1, 3, 5, 10)
TABLE_KEYS = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10",
              "quote_hit@1", "quote_hit@shown", "abstain_accuracy", "false_abstain_rate"]
LENGTH_KEYS = ["first_quote_chars", "shown_chars"]     # mean characters of the first quote, of all shown
KEYS = ["n", *TABLE_KEYS, *LENGTH_KEYS, "card_hit@1", "organisation_scope", "questions"]
DEFAULT_GOLD = [Path("evals/test.jsonl")]


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass(frozen=True)
class Gold:
    id: str
    question: str
    relevant: tuple[tuple[str, str], ...]   # (document id, collapsed text)
    kind: str = ""                          # answer kind: number, date, who, rule, list, explain, compare
    style: str = ""                         # plain, colloquial, misspelled, english
    organisations: tuple[str, ...] = ()     # organisations the question names
    fold: str = ""                          # the organisation unit for leave-one-organisation-out
    compare: bool = False                   # a comparison between the named organisations
    not_in_org: bool = False                # the named organisation's documents do not cover it
    filters: tuple[tuple[str, str], ...] = ()   # ("organisation" | "doc_type", value): asked with these filters

    def search_filters(self):
        return Filters(**dict(self.filters)) if self.filters else None

    def group(self, by: str) -> list[str]:
        """The rows of a breakdown this question belongs to."""
        if by == "kind":
            return [self.kind or "?"] + ([] if self.answerable else ["(unanswerable)"])
        if by == "style":
            return [self.style or "?"]
        if by == "organisation":
            return [self.fold or "(none)"]
        raise ValueError(f"cannot break down by {by!r}; use kind, style or organisation")

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)

    def matches(self, document: str, text: str) -> bool:
        t = collapse(text)
        return any(document == d and g in t for d, g in self.relevant)


def load_gold(paths) -> list[Gold]:
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    rel = tuple((r["document"], collapse(r["text"])) for r in row["relevant"])
                    orgs = tuple(row.get("organisations") or ())
                    fold = row.get("fold") or (orgs[0] if orgs else "")
                    filters = tuple(sorted((k, str(v)) for k, v in (row.get("filters") or {}).items()
                                           if k in ("organisation", "doc_type") and v))
                    out.append(Gold(str(row["id"]), row["question"], rel, row.get("kind", ""),
                                    row.get("style", ""), orgs, fold, compare=bool(row.get("compare")),
                                    not_in_org=bool(row.get("not_in_org")), filters=filters))
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise ValueError(f"{path}:{n}: not a gold line ({exc}); expected "
                                     '{"id", "question", "relevant": [{"document", "text"}]}') from exc
    return out


# ------------------------------------------------------------------ metrics (pure functions)

def auc(positives: list[float], negatives: list[float]) -> float:
    """ROC AUC: the chance that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def recall_at(rels: list[bool], k: int) -> float:
    """1 when a relevant passage is among the first k (any gold entry answers the question)."""
    return 1.0 if any(rels[:k]) else 0.0


def mrr_at(rels: list[bool], k: int = 10) -> float:
    for i, r in enumerate(rels[:k], start=1):
        if r:
            return 1.0 / i
    return 0.0


def ndcg_at(rels: list[bool], n_relevant: int, k: int = 10) -> float:
    """Binary-gain nDCG; the ideal ranking puts all ``n_relevant`` passages of the gold set first."""
    if n_relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(rels[:k], start=1) if r)
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, k) + 1))
    return dcg / idcg


# ------------------------------------------------------------------ running

def evaluate(assistant, gold: list[Gold], mode: str = "hybrid", internal: bool = True,
             fold_rankers: dict | None = None, fold_decisions: dict | None = None) -> dict:
    """Metrics over ``gold``; internal documents count unless ``internal=False`` (an operator's
    measurement of the whole index, not what an anonymous reader sees). ``fold_rankers`` (fold ->
    Ranker) answers each question with the quote ranker trained without its organisation, and
    ``fold_decisions`` (fold -> Decision) decides with the answer decision trained without it
    (``assistant train-ranker`` writes both)."""
    index = assistant.index
    rows = []
    shipped, shipped_decision = assistant.ranker, assistant.decision
    for g in gold:
        scope = replace(g.search_filters() or Filters(), internal=internal)   # the gold line's filters
        if fold_rankers is not None:
            assistant.ranker = fold_rankers.get(g.fold or "(none)", shipped)
        if fold_decisions is not None:
            assistant.decision = fold_decisions.get(g.fold or "(none)", shipped_decision)
        try:
            answer = assistant.ask(g.question, scope, mode=mode)
        finally:
            assistant.ranker, assistant.decision = shipped, shipped_decision
        hits = list(answer.hits)[:10]
        rels = [g.matches(h.chunk.document, h.chunk.text) for h in hits]
        n_rel = sum(g.matches(c.document, c.text) for c in index.chunks)
        first = answer.quotes[0] if answer.quotes else None
        row = {"id": g.id, "question": g.question, "answerable": g.answerable,
               "kind": g.kind, "style": g.style, "fold": g.fold,
               "abstained": answer.abstained,
               "expected": [{"document": d, "text": t} for d, t in g.relevant],
               "first_passage": ({"document": hits[0].chunk.document, "heading": hits[0].chunk.heading,
                                  "text": hits[0].chunk.text[:200]} if hits else None),
               "first_quote": ({"document": first.document, "text": first.text,
                                "organisation": first.organisation} if first else None),
               "confidence": round(answer.confidence, 4),
               "decision": answer.verdict.to_json() if answer.verdict is not None else None}
        row.update(scope_row(g, answer, index))
        if g.answerable:
            row.update({f"recall@{k}": recall_at(rels, k) for k in KS})
            row["mrr@10"] = mrr_at(rels)
            row["ndcg@10"] = ndcg_at(rels, n_rel)
            row["quote_hit@1"] = 1.0 if first and g.matches(first.document, first.text) else 0.0
            row["quote_hit@shown"] = 1.0 if any(g.matches(q.document, q.text) for q in answer.quotes) else 0.0
            # what the first card shows: the quote with the context around it (a reader reads both)
            shown = first.before + first.text + first.after if first else ""
            row["card_hit@1"] = 1.0 if first and g.matches(first.document, shown) else 0.0
        if answer.quotes:     # what a reader reads: the first quote, and all shown
            row["first_chars"] = len(first.text)
            row["shown_chars"] = sum(len(q.text) for q in answer.quotes)
        rows.append(row)
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    mean = lambda key, rs: round(sum(r[key] for r in rs) / len(rs), 4) if rs else None
    out = {"n": len(rows)}
    for k in KS:
        out[f"recall@{k}"] = mean(f"recall@{k}", ans)
    out["mrr@10"] = mean("mrr@10", ans)
    out["ndcg@10"] = mean("ndcg@10", ans)
    out["quote_hit@1"] = mean("quote_hit@1", ans)
    out["quote_hit@shown"] = mean("quote_hit@shown", ans)
    out["abstain_accuracy"] = round(sum(r["abstained"] for r in unans) / len(unans), 4) if unans else None
    out["false_abstain_rate"] = round(sum(r["abstained"] for r in ans) / len(ans), 4) if ans else None
    quoted = [r for r in ans if "first_chars" in r]
    out["first_quote_chars"] = round(sum(r["first_chars"] for r in quoted) / len(quoted), 1) if quoted else None
    out["shown_chars"] = round(sum(r["shown_chars"] for r in quoted) / len(quoted), 1) if quoted else None
    out["card_hit@1"] = mean("card_hit@1", [r for r in ans if "card_hit@1" in r])
    out["organisation_scope"] = scope_summary(rows)
    out["questions"] = rows
    return out


# ------------------------------------------------------------------ organisation scope (issue #16)

SCOPE_METRICS = (
    ("named_first_quote", "first quote from the named organisation",
     "answerable questions naming one organisation"),
    ("not_in_org_said", "not-in-organisation said so",
     "questions whose named organisation does not cover them (not_in_org)"),
    ("compare_all_handled", "comparison: every named organisation quoted or reported not mentioning",
     "comparison questions; an organisation with a gold passage must be quoted, one without reported"),
    ("compare_quote_hit", "comparison: every quoted organisation's first quote is a gold passage",
     "comparison questions (stricter: the quotes are right, too)"),
    ("false_not_mentioned", "false \"nævner ikke\" (lower is better)",
     "answerable questions naming one organisation"),
)


def scope_row(g: Gold, answer, index) -> dict:
    """Per question, what the #16 metrics need (empty for questions that name no organisation)."""
    if not g.organisations:
        return {}
    row: dict = {"organisations": list(g.organisations)}
    groups = {o.organisation: o for o in getattr(answer, "by_organisation", ())}
    said = set(getattr(answer, "not_in_scope", ()))
    if g.compare:
        handled, right = [], []
        for org in g.organisations:
            gold_docs = {d for d, _ in g.relevant if d in index.documents and index.documents[d].organisation == org}
            group = groups.get(org)
            quoted = bool(group and group.quotes)
            handled.append(quoted if gold_docs else (not quoted and (org in said or bool(group))))
            if gold_docs:
                right.append(quoted and g.matches(group.quotes[0].document, group.quotes[0].text))
            else:
                right.append(not quoted)
        row["compare_all_handled"] = float(all(handled))
        row["compare_quote_hit"] = float(all(right))
    elif g.not_in_org:
        row["not_in_org_said"] = float(set(g.organisations) <= said)
    elif g.answerable:
        first = answer.quotes[0] if answer.quotes else None
        row["named_first_quote"] = float(bool(first and first.organisation in g.organisations))
        row["false_not_mentioned"] = float(bool(set(g.organisations) & said))
        row["named_other_org_quoted"] = float(bool(first and first.organisation not in g.organisations))
    return row


def scope_summary(rows: list[dict]) -> dict:
    """Each #16 metric over the questions it applies to: {"value", "n", "hits"} (value None when n is 0)."""
    out = {}
    for key, _, _ in SCOPE_METRICS:
        vals = [r[key] for r in rows if key in r]
        out[key] = {"value": round(sum(vals) / len(vals), 4) if vals else None, "n": len(vals),
                    "hits": int(sum(vals))}
    other = [r["named_other_org_quoted"] for r in rows if "named_other_org_quoted" in r]
    out["named_other_org_quoted"] = {"value": round(sum(other) / len(other), 4) if other else None,
                                     "n": len(other), "hits": int(sum(other))}
    return out


def format_scope(result: dict) -> str | None:
    """The #16 lines under the table, or None when no question names an organisation."""
    m = result.get("organisation_scope") or {}
    if not any(m.get(key, {}).get("n") for key, _, _ in SCOPE_METRICS):
        return None
    lines = ["Organisation scope:", "| metric | value | questions |", "|---|---|---|"]
    for key, name, what in SCOPE_METRICS:
        v = m[key]
        value = "–" if v["value"] is None else f"{v['value']:.3f} ({v['hits']}/{v['n']})"
        lines.append(f"| {name} | {value} | {what} |")
    o = m["named_other_org_quoted"]
    if o["n"]:
        lines.append(f"| first quote from another organisation | {o['value']:.3f} ({o['hits']}/{o['n']}) "
                     "| answerable questions naming one organisation |")
    return "\n".join(lines)


def failures(result: dict) -> list[dict]:
    bad = []
    for r in result["questions"]:
        if r["answerable"] and (r["abstained"] or not r.get("quote_hit@1") or not r.get("recall@3")):
            bad.append(r)
        elif not r["answerable"] and not r["abstained"]:
            bad.append(r)
    return bad


def table_row(name: str, m: dict) -> str:
    cells = [m[k] for k in TABLE_KEYS]
    return f"| {name} | " + " | ".join("–" if v is None else f"{v:.3f}" for v in cells) + " |"


TABLE_HEAD = ("| retriever | R@1 | R@3 | R@5 | R@10 | MRR@10 | nDCG@10 | quote hit@1 | quote hit@shown | abstain acc. | false abstain |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|")


def breakdown(result: dict, gold: list[Gold], by: str) -> list[tuple[str, dict]]:
    """The summary per kind / style / organisation of the questions."""
    groups: dict[str, list[dict]] = {}
    for g, row in zip(gold, result["questions"]):
        for key in g.group(by):
            groups.setdefault(key, []).append(row)
    return [(k, summarise(rows)) for k, rows in sorted(groups.items())]


def format_breakdown(result: dict, gold: list[Gold], by: str) -> str:
    lines = [f"By {by}:", TABLE_HEAD.replace("| retriever |", f"| {by} (n) |")]
    for key, m in breakdown(result, gold, by):
        lines.append(table_row(f"{key} ({m['n']})", m))
    return "\n".join(lines)


def format_text(result: dict, name: str, failures_too: bool = True) -> str:
    lines = [f"{result['n']} questions, retriever {name}", TABLE_HEAD, table_row(name, result)]
    if result.get("first_quote_chars") is not None:
        lines.append(f"Quote length (answered questions): first quote {result['first_quote_chars']:.0f} characters, "
                     f"all shown {result['shown_chars']:.0f}")
    if result.get("card_hit@1") is not None:
        lines.append(f"First card shows the answer (in the quote or the context shown around it): {result['card_hit@1']:.3f}")
    if scope := format_scope(result):
        lines += ["", scope]
    if not failures_too:
        return "\n".join(lines)
    lines += ["", "Failures:"]
    for r in failures(result):
        exp = "; ".join(f"{e['document']}: {e['text'][:60]}" for e in r["expected"]) or "(not covered: should abstain)"
        got = "abstained" if r["abstained"] else (r["first_quote"] or {}).get("text", "")[:100]
        lines.append(f"- {r['id']} {r['question']}\n    expected: {exp}\n    first: {got}")
    return "\n".join(lines)


def load_fold_rankers(folder: Path) -> dict:
    """fold -> Ranker from the folder ``assistant train-ranker`` writes (folds.json names the files)."""
    table = json.loads((folder / "folds.json").read_text(encoding="utf-8"))
    return {fold: Ranker.from_json(json.loads((folder / name).read_text(encoding="utf-8")))
            for fold, name in table.items()}


def load_fold_decisions(folder: Path) -> dict:
    """fold -> answer Decision trained without that organisation (the same files as ``load_fold_rankers``)."""
    table = json.loads((folder / "folds.json").read_text(encoding="utf-8"))
    out = {}
    for fold, name in table.items():
        d = json.loads((folder / name).read_text(encoding="utf-8")).get("decision")
        if d is not None:
            out[fold] = Decision.from_json(d)
    return out
