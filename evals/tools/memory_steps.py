"""Where a serving process's memory goes: its resident set size after each loading step.

Loads what `assistant serve` loads, one step at a time (numpy and FAISS, Gradio, the package, the
embedding model, the index, the Danish lemma dictionary, the first question, then the eval questions
asked over and over), and prints the process's RSS (VmRSS from /proc) after each. Used for docs/decisions.md
("Model and runtime", memory). Run after `assistant index`:

    .venv/bin/python evals/tools/memory_steps.py --index index/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--rounds", type=int, default=3, help="times the eval questions are asked")
    args = ap.parse_args()
    step = lambda name: print(f"{rss_mb():8.1f} MB  {name}", flush=True)    # noqa: E731
    step("interpreter")
    import faiss  # noqa: F401
    import numpy  # noqa: F401
    step("+ numpy, faiss")
    import gradio  # noqa: F401
    step("+ gradio")
    from assistant.answer.assistant import Assistant
    from assistant.evaluation.bench import bench_questions
    from assistant.language.danish import Analyzer
    step("+ assistant package")
    assistant = Assistant(index_dir=Path(args.index))
    assistant.embedder.embed_queries(["query"])
    step("+ embedding model (ONNX Runtime session, tokenizer)")
    _ = assistant.index
    step(f"+ index ({len(assistant.index.chunks)} chunks)")
    Analyzer().tokens("adfærdskodekset gælder for medarbejderne")
    step("+ Danish lemma dictionary")
    assistant.ask("hvad siger kodekset om sociale medier?")
    step("+ first question (word frequencies, vocabulary)")
    questions = list(dict.fromkeys(bench_questions()))
    for r in range(args.rounds):
        for q in questions:
            assistant.ask(q)
        step(f"after the {len(questions)} eval questions x {r + 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
