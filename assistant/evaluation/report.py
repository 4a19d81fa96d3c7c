"""`assistant eval`: the metrics printed (text or JSON), or with `--report` (`make eval`) written as
evals/report.md (every retriever, Danish-analysis ablation, failures) with a recall@k plot."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from assistant.evaluation.evaluate import (
    DEFAULT_GOLD,
    KS,
    SCOPE_METRICS,
    TABLE_HEAD,
    breakdown,
    evaluate,
    failures,
    format_breakdown,
    format_text,
    load_fold_decisions,
    load_fold_rankers,
    load_gold,
    table_row,
)
from assistant.language.danish import Analyzer
from assistant.store.index import passage_text

ABLATIONS = [
    ("hybrid, no Danish analysis", Analyzer(stopwords=False, lemmas=False, compounds=False)),
    ("hybrid + stopwords", Analyzer(stopwords=True, lemmas=False, compounds=False)),
    ("hybrid + stopwords + lemmas", Analyzer(stopwords=True, lemmas=True, compounds=False)),
    ("hybrid + stopwords + lemmas + compounds", Analyzer(stopwords=True, lemmas=True, compounds=True)),
]


def with_analyzer(index, analyzer: Analyzer):
    """A copy of the index whose BM25 side uses another analyzer (built in memory)."""
    import bm25s
    bm = bm25s.BM25()
    texts = [passage_text(index.documents[c.document], c) for c in index.chunks]
    bm.index([analyzer.tokens(t) or ["∅"] for t in texts], show_progress=False)
    return dataclasses.replace(index, bm25=bm, analyzer=analyzer)


def write_report(assistant, out: Path, gold_paths: list[Path]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    gold_paths = gold_paths or [Path("evals/test.jsonl")]
    gold = load_gold(gold_paths)
    results = {mode: evaluate(assistant, gold, mode) for mode in ("bm25", "dense", "hybrid")}
    base = assistant.index
    ablation = []
    try:
        for name, analyzer in ABLATIONS:
            assistant._index = with_analyzer(base, analyzer)
            ablation.append((name, evaluate(assistant, gold, "hybrid")))
            assistant._index = with_analyzer(base, analyzer)
            ablation.append((name.replace("hybrid", "bm25"), evaluate(assistant, gold, "bm25")))
    finally:
        assistant._index = base
    plot = out.with_name("recall_at_k.png" if out.stem == "report" else f"recall_at_k-{out.stem}.png")
    _plot(results, plot)
    names = ", ".join(str(p) for p in gold_paths)
    lines = [
        "# Retrieval evaluation",
        "",
        f"Gold set: {names} ({len(gold)} questions, {sum(not g.answerable for g in gold)} not answerable). "
        f"Model: `{assistant.embedder.model_id}`. Index: {base.manifest['chunks']} chunks, "
        f"chunking {base.manifest['chunking']}. Answer decision: threshold {assistant.decision.threshold:.3f} (`assistant/answer/decision.json`).",
        "",
        f"Printed by `make eval` (`assistant eval --report {out.as_posix()}"
        + "".join(f" --gold {g.as_posix()}" for g in gold_paths if g != Path("evals/test.jsonl")) + "`).",
        "",
        "## Retrievers",
        "", TABLE_HEAD,
        *[table_row(mode, r) for mode, r in results.items()],
        "",
        f"First card shows the answer (hybrid: in the quote or the context shown around it): "
        f"{results['hybrid']['card_hit@1']:.3f}.",
        "",
        f"![recall@k]({plot.name})",
        "",
        "## Danish analysis on the keyword side (ablation)",
        "",
        TABLE_HEAD,
        *[table_row(name, r) for name, r in ablation],
        "",
        "## Failures of the hybrid retriever",
        "",
    ]
    for r in failures(results["hybrid"]):
        exp = "; ".join(f"{e['document']}: “{e['text'][:70]}”" for e in r["expected"]) or "not covered: should abstain"
        got = "abstained" if r["abstained"] else f"“{(r['first_quote'] or {}).get('text', '')[:110]}”"
        lines.append(f"- **{r['id']}** {r['question']}  \n  expected: {exp}  \n  first: {got}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, r in results.items():
        ax.plot(KS, [r[f"recall@{k}"] for k in KS], marker="o", label=mode)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_xticks(KS)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Passage recall@k, test split")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main_eval(args, assistant) -> int:
    gold = load_gold(args.gold or DEFAULT_GOLD)
    if args.report:
        write_report(assistant, Path(args.report), [Path(p) for p in (args.gold or [])])
        print(f"wrote {args.report}")
        return 0
    fold_rankers = load_fold_rankers(Path(args.fold_rankers)) if args.fold_rankers else None
    fold_decisions = load_fold_decisions(Path(args.fold_rankers)) if args.fold_rankers else None
    result = evaluate(assistant, gold, args.retriever, fold_rankers=fold_rankers, fold_decisions=fold_decisions)
    if fold_rankers is not None:
        print(f"quotes chosen by rankers trained without the question's organisation ({args.fold_rankers})",
              file=sys.stderr if args.json else sys.stdout)     # --json prints JSON only
    if args.json:
        result["by"] = {by: dict(breakdown(result, gold, by)) for by in (args.by or [])}
        for rows in result["by"].values():
            for m in rows.values():
                m.pop("questions", None)
        result["organisation_scope_names"] = {key: name for key, name, _ in SCOPE_METRICS}
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_text(result, args.retriever, failures_too=not args.by and not args.quiet))
        for by in args.by or []:
            print()
            print(format_breakdown(result, gold, by))
    return 0
