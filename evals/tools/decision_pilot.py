"""Pilot for the honest-answers issue: a learned answer/abstain decision against today's AbstainRule,
leave one organisation out, on the development corpus's questions (answerable and not).

For every gold question the assistant retrieves and gathers candidates as it does when answering
(within the named organisations when the question names some; the quote ranker trained without the
question's organisation), and the tool records what a decision could weigh: the ranker's best score
and its margin, meaning (dense, symmetric, the passage's), the focus terms the best candidates hold,
whether a candidate holds the kind of answer asked for (an amount, a date, a contact, a person or
body), question words no document uses, language. A logistic regression over these is fitted on
the other organisations' questions; its threshold is set on them so that at most ``--budget`` of
their answerable questions are refused; the held-out organisation is judged with it. Printed: the
share of unanswerable questions caught and of answerable ones refused, for the pilot and for
today's rule (``AbstainRule``) on the same questions, overall and by group.

Run after `make ranker` (it reads index/train/devcorpus and index/train/folds):
    .venv/bin/python evals/tools/decision_pilot.py [--gold FILE ...] [--budget 0.05]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import assistant.answer.assistant as assistant_module
from assistant.answer.assistant import Assistant
from assistant.answer.rank import FEATURES, text_marks
from assistant.answer.retrieve import Filters
from assistant.config import Settings
from assistant.evaluation.evaluate import load_fold_rankers, load_gold

NAMES = ("top_score", "margin", "confidence", "top_dense", "top_sym", "hit_dense", "top_focus", "best_focus",
         "rare_focus", "kind_specific", "kind_found", "unit_asked", "unit_found", "missing", "english")
SPECIFIC = ("number", "date", "contact", "who")
_COL = {f: i for i, f in enumerate(FEATURES)}


def evidence(question, cands, confidence: float, coverage) -> list[float]:
    scored = cands.scored
    if not scored:
        return [-10.0, 0.0, confidence, 0, 0, 0, 0, 0, 0, float(question.kind in SPECIFIC), 0, float(bool(question.unit)),
                0, float(len(coverage.missing)), float(question.english)]
    order = np.argsort([-s.score for s in scored])
    top = [int(i) for i in order[:3]]
    X = cands.X
    best = scored[top[0]]
    second = scored[top[1]].score if len(top) > 1 else best.score - 10
    kind_found = 0.0
    if question.kind in SPECIFIC:
        kind_found = float(any(text_marks(scored[i].span.text).get(question.kind, False) for i in top))
    return [best.score, best.score - second, confidence, best.dense, best.sym, best.hit.dense_score or 0.0,
            float(X[top[0], _COL["focus"]]), float(max(X[i, _COL["focus"]] for i in top)),
            float(X[top[0], _COL["rare_focus"]]), float(question.kind in SPECIFIC), kind_found,
            float(bool(question.unit)), float(max(X[i, _COL["unit_match"]] for i in top)),
            float(len(coverage.missing)), float(question.english)]


def collect(assistant: Assistant, gold, folds: dict) -> list[dict]:
    captured = {}
    original = assistant_module.gather

    def capture(*args, **kwargs):
        captured["cands"] = original(*args, **kwargs)
        return captured["cands"]

    assistant_module.gather = capture
    shipped = assistant.ranker
    rows = []
    try:
        for g in gold:
            assistant.ranker = folds.get(g.fold or "(none)", shipped)
            q = assistant.understand(g.question, filters=Filters(internal=True))
            filters = Filters(organisations=q.organisations, internal=True) if q.organisations else Filters(internal=True)
            answer = assistant._answer(q.about if q.organisations else q, filters, 3, "hybrid", 6, None)
            cands = captured["cands"]
            coverage = assistant.index.vocabulary.check_words(q.words, q.english)
            rows.append({"id": g.id, "fold": g.fold or "(none)", "answerable": g.answerable,
                         "group": g.id.split("-")[0], "kind": q.kind, "rule_abstains": answer.abstained,
                         "x": evidence(q, cands, answer.confidence, coverage)})
    finally:
        assistant_module.gather = original
        assistant.ranker = shipped
    return rows


def leave_one_out(rows: list[dict], budget: float) -> list[bool]:
    from sklearn.linear_model import LogisticRegression
    X = np.array([r["x"] for r in rows], np.float64)
    y = np.array([r["answerable"] for r in rows])
    folds = np.array([r["fold"] for r in rows])
    abstains = np.zeros(len(rows), bool)
    for fold in sorted(set(folds)):
        held, train = folds == fold, folds != fold
        mean, scale = X[train].mean(0), X[train].std(0)
        scale[scale == 0] = 1
        model = LogisticRegression(C=1.0, max_iter=5000).fit((X[train] - mean) / scale, y[train])
        p_train = model.predict_proba((X[train] - mean) / scale)[:, 1]
        answerable_p = np.sort(p_train[y[train]])
        threshold = answerable_p[int(np.floor(budget * len(answerable_p)))]   # refuses at most ``budget``
        abstains[held] = model.predict_proba((X[held] - mean) / scale)[:, 1] < threshold
    return abstains.tolist()


def rates(rows, abstains) -> tuple[float, float, int, int]:
    un = [a for r, a in zip(rows, abstains) if not r["answerable"]]
    an = [a for r, a in zip(rows, abstains) if r["answerable"]]
    return (sum(un) / max(len(un), 1), sum(an) / max(len(an), 1), len(un), len(an))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gold", nargs="+", default=["evals/devcorpus/gold.jsonl"])
    p.add_argument("--index", default="index/train/devcorpus")
    p.add_argument("--folds", default="index/train/folds")
    p.add_argument("--budget", type=float, default=0.05)
    p.add_argument("--save", help="write the collected rows here (JSONL)")
    args = p.parse_args()
    assistant = Assistant(Settings.from_env(index_dir=Path(args.index)))
    rows = collect(assistant, load_gold([Path(g) for g in args.gold]), load_fold_rankers(Path(args.folds)))
    if args.save:
        Path(args.save).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pilot = leave_one_out(rows, args.budget)
    rule = [r["rule_abstains"] for r in rows]
    print(f"{len(rows)} questions; leave one organisation out; refusal budget {args.budget:.2f}")
    print("| decision | unanswerable caught | answerable refused |")
    print("|---|---|---|")
    for name, a in (("today's rule", rule), ("pilot (logistic, 15 features)", pilot)):
        c, f, nu, na = rates(rows, a)
        print(f"| {name} | {c:.3f} of {nu} | {f:.3f} of {na} |")
    by = defaultdict(list)
    for r, a, b in zip(rows, rule, pilot):
        if not r["answerable"]:
            by[r["group"]].append((a, b))
    for group, pairs in sorted(by.items()):
        print(f"  unanswerable {group}: rule {np.mean([a for a, _ in pairs]):.3f}, pilot {np.mean([b for _, b in pairs]):.3f} ({len(pairs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
