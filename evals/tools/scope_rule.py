"""Does a named organisation's documents cover the question? The CoverRule (assistant/answer/per_organisation.py) on the
development corpus: in sample and leave-one-organisation-out.

For every gold question that names organisations the assistant recognises, each named organisation is
judged as ``Assistant.ask`` judges it (its own best answer, everyone else's, the rank of its best
passage in the whole corpus, subject words it never uses). The label: a comparison's organisation
covers the question when the gold lists a passage of its; a ``not_in_org`` question's organisation does
not; any other answerable question's organisation does. The script then reports the shipped rule and,
for each organisation, the rule chosen on the other organisations' questions from a small grid (gate
10; margin 0.02-0.05; topic margin 0.01-0.03; the most covered organisations kept while at least 90 %
of those not covering are said so) and scored on its own questions.
It also prints the quartiles of the meaning similarity of the first quote ("Hvorfor dette citat?",
assistant/answer/why.py). Used for docs/decisions.md, "Answers". Run:

    assistant index --corpus evals/devcorpus --index /tmp/dev
    .venv/bin/python evals/tools/scope_rule.py --index /tmp/dev
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.answer.assistant import Assistant  # noqa: E402
from assistant.answer.per_organisation import Ask, CoverRule  # noqa: E402
from assistant.answer.retrieve import Filters  # noqa: E402
from assistant.evaluation.evaluate import load_gold  # noqa: E402


def judged(assistant, gold):
    """(fold, label, Judged, rivals) per named organisation of every usable gold question."""
    scoped, docs = assistant.scoped, assistant.index.documents
    out = []
    for g in gold:
        if not g.organisations or not (g.compare or g.not_in_org or g.answerable):
            continue
        q = assistant.understand(g.question, None, Filters())
        named = list(q.scope.organisations)
        if not named:
            continue
        base = Filters(doc_type=q.scope.doc_type) if q.scope.doc_type else Filters()
        js = {o: scoped.judge(q, o, base, Ask(), tuple(x for x in named if x != o) if q.scope.compare else ())
              for o in named}
        for o, j in js.items():
            if g.compare:
                label = any(d in docs and docs[d].organisation == o for d, _ in g.relevant)
            else:
                label = not g.not_in_org
            rivals = tuple(js[x].inside for x in named if x != o) if q.scope.compare else ()
            out.append((g.fold, label, j, rivals))
    return out


def counts(rule: CoverRule, rows) -> tuple[int, int, int, int]:
    """(covered and said covered, covered, not covered and said so, not covered)."""
    pos = [r for r in rows if r[1]]
    neg = [r for r in rows if not r[1]]
    return (sum(rule.covers(j, rv) for _, _, j, rv in pos), len(pos),
            sum(not rule.covers(j, rv) for _, _, j, rv in neg), len(neg))


def objective(rule: CoverRule, rows) -> tuple:
    """The issue's targets: say "nævner det ikke" for at least 90 % of the organisations that do not
    cover the question, and within that keep as many of those that do as possible."""
    tp, p, tn, n = counts(rule, rows)
    return (tn >= 0.9 * n, tp / p if p else 1.0, tn / n if n else 1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--gold", default=str(ROOT / "evals" / "devcorpus" / "gold.jsonl"))
    args = ap.parse_args()
    assistant = Assistant(index_dir=Path(args.index))
    rows = judged(assistant, load_gold([Path(args.gold)]))
    shipped = CoverRule()
    tp, p, tn, n = counts(shipped, rows)
    print(f"shipped rule {shipped}: covered kept {tp}/{p}, not covered said {tn}/{n} (in sample)")
    grid = [CoverRule(10, m, t) for m, t in itertools.product((0.02, 0.03, 0.04, 0.05), (0.01, 0.02, 0.03))]
    held = [0, 0, 0, 0]
    for fold in sorted({r[0] for r in rows}):
        train = [r for r in rows if r[0] != fold]
        test = [r for r in rows if r[0] == fold]
        best = max(grid, key=lambda rule: (*objective(rule, train), rule == shipped))
        held = [a + b for a, b in zip(held, counts(best, test))]
        print(f"  {fold}: chosen margin {best.margin}, topic margin {best.topic_margin}")
    print("leave one organisation out (held out): covered kept %d/%d, not covered said %d/%d" % tuple(held))

    # meaning similarity of the first quote, for the words of "Hvorfor dette citat?"
    sims = []
    for g in load_gold([Path(args.gold)]):
        if not g.answerable:
            continue
        answer = assistant.ask(g.question)
        if answer.quotes:
            sims.append(assistant.why(answer.question, answer.quotes[0]).similarity)
    q1, q2, q3 = np.percentile(sims, [25, 50, 75])
    print(f"first quote's similarity over {len(sims)} answered questions: quartiles {q1:.3f} {q2:.3f} {q3:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
