"""assistant index | ask | eval | serve | feedback export | bench — a thin layer over the Assistant API."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path


def _settings(args):
    from .config import Settings
    return Settings.from_env(model=getattr(args, "model", None),
                             index_dir=Path(args.index) if getattr(args, "index", None) else None,
                             corpus_dir=Path(args.corpus) if getattr(args, "corpus", None) else None,
                             data_dir=Path(args.data) if getattr(args, "data", None) else None)


def _assistant(args):
    from .pipeline import Assistant
    return Assistant(_settings(args))


def cmd_index(args) -> int:
    from .index import build_index
    from .embed import Embedder
    from .text_da import Analyzer
    settings = _settings(args)
    summary = build_index(settings.corpus_dir, settings.index_dir, Embedder(settings), settings, Analyzer(),
                          progress=not args.json and sys.stderr.isatty() or args.progress,
                          log=lambda m: print(m, file=sys.stderr))
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
    else:
        print(summary.text())
    return 0


def cmd_ask(args) -> int:
    from .retrieve import Filters
    assistant = _assistant(args)
    previous = assistant.read_scope(args.after) if args.after else None
    answer = assistant.ask(args.question, Filters(args.org, args.type), k=args.k,
                           mode=args.retriever, previous=previous)
    quotes = list(answer.quotes) + list(answer.others)
    whys = [assistant.why(answer.question, q, answer.scope, answer.hits) for q in quotes] if args.why else []
    if args.json:
        data = answer.to_json()
        if args.why:
            data["why"] = [{"quote": q.text, **w.to_json()} for q, w in zip(quotes, whys)]
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(answer.text)
        for q, w in zip(quotes, whys):
            print(f"\nHvorfor «{q.text[:60]}{'…' if len(q.text) > 60 else ''}»?")
            print("\n".join(f"  {line}" for line in w.lines()))
    return 0


def cmd_eval(args) -> int:
    from .evaluate import main_eval
    return main_eval(args, _assistant(args))


def cmd_feedback_export(args) -> int:
    from .config import Settings
    from .feedback import FeedbackStore
    settings = Settings.from_env(data_dir=Path(args.data) if args.data else None)
    store = FeedbackStore(settings.data_dir)
    if not store.path.exists():
        raise FileNotFoundError(f"no feedback yet: {store.path} does not exist")
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(args.out, "w", encoding="utf-8")) if args.out else sys.stdout
        review = files.enter_context(open(args.review, "w", encoding="utf-8")) if args.review else None
        summary = store.export(out, review)
    print(f"exported {summary.written} rated question(s) in the gold format"
          + (f" to {args.out}" if args.out else "")
          + f"; {summary.skipped_down} thumbs-down left out"
          + (f" (written to {args.review} for review)" if args.review else " (use --review FILE to see them)"),
          file=sys.stderr)
    return 0


def cmd_eval_ingest(args) -> int:
    from .evaluate_ingest import evaluate_ingest, format_ingest

    corpus = Path(args.corpus)
    expected = Path(args.expected) if args.expected else corpus / "expected.jsonl"
    result = evaluate_ingest(corpus, expected)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_ingest(result))
    return 0


def cmd_bench(args) -> int:
    from .bench import run
    return run(args)


def cmd_serve(args) -> int:
    from .ui import serve
    serve(_assistant(args), host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description=__doc__)
    p.add_argument("--model", help="embedding model: name, local path or hub name (env ASSISTANT_MODEL)")
    sub = p.add_subparsers(dest="command", required=True)

    def with_index(sp):
        sp.add_argument("--index", default=None, help="index folder (default: index/)")
        return sp

    sp = with_index(sub.add_parser("index", help="build or update the index from the corpus"))
    sp.add_argument("--corpus", default=None, help="corpus folder (default: corpus/)")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")
    sp.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    sp.set_defaults(func=cmd_index)

    sp = with_index(sub.add_parser("ask", help="answer a question with quotes and citations"))
    sp.add_argument("question")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--org", help="only this organisation: its name or an alias ('aalborg', 'KFR', "
                                  "'Borgerrepræsentationen'); otherwise a substring of the name")
    sp.add_argument("--type", help="only this document type (e.g. adfærdskodeks)")
    sp.add_argument("--k", type=int, default=3, help="at most this many quotes (default 3)")
    sp.add_argument("--retriever", default="hybrid", choices=["hybrid", "dense", "bm25"])
    sp.add_argument("--after", metavar="QUESTION",
                    help="read the question as a follow-up to this one ('hvad med Aarhus?' after ...)")
    sp.add_argument("--why", action="store_true", help="say why each quote was chosen")
    sp.set_defaults(func=cmd_ask)

    sp = with_index(sub.add_parser("eval", help="retrieval and answer metrics on gold question sets"))
    sp.add_argument("--gold", nargs="+", default=None, help="gold JSONL files (default: evals/test.jsonl)")
    sp.add_argument("--retriever", default="hybrid", choices=["hybrid", "dense", "bm25"])
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--report", help="write a Markdown report (all retrievers) and a recall@k plot here")
    sp.add_argument("--sweep", action="store_true", help="sweep the abstention threshold")
    sp.add_argument("--by", nargs="+", choices=["kind", "style", "organisation"],
                    help="also print the table per answer kind, question style or organisation")
    sp.add_argument("--folds", action="store_true",
                    help="with --sweep: choose the rule leave-one-organisation-out and report it on the held-out fold")
    sp.add_argument("--quiet", action="store_true", help="the table only, no list of failures")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("feedback", help="thumbs up/down given in the chat")
    fsub = sp.add_subparsers(dest="feedback_command", required=True)
    fp = fsub.add_parser("export", help="write the rated questions in the eval gold format (JSONL)")
    fp.add_argument("--data", help="data folder with feedback.jsonl (default: data/, env ASSISTANT_DATA)")
    fp.add_argument("--out", help="gold file to write (default: standard output)")
    fp.add_argument("--review", help="also write the thumbs-down questions here, for a person to complete")
    fp.set_defaults(func=cmd_feedback_export)

    sp = sub.add_parser("eval-ingest", help="metadata and cleaning accuracy against an expected.jsonl fixture")
    sp.add_argument("--corpus", default="evals/devcorpus", help="corpus folder (default: evals/devcorpus)")
    sp.add_argument("--expected", help="fixture (default: <corpus>/expected.jsonl)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_eval_ingest)

    sp = sub.add_parser("bench", help="build/update/latency/memory/cold-start numbers on a synthetic scaled corpus")
    sp.add_argument("--chunks", type=int, nargs="+", help="corpus sizes in chunks (default: 1000 10000)")
    sp.add_argument("--large", action="store_true", help="also 100 000 chunks")
    sp.add_argument("--questions", type=int, default=200, help="questions per size (eval questions, repeated)")
    sp.add_argument("--seeds", default="corpus", help="seed documents to vary (default: corpus/)")
    sp.add_argument("--json", action="store_true", help="one JSON object per size")
    sp.add_argument("--no-cold", action="store_true", help="skip the cold-start measurements")
    sp.add_argument("--keep", action="store_true", help="keep the scaled corpora and indexes")
    sp.set_defaults(func=cmd_bench)

    sp = with_index(sub.add_parser("serve", help="start the browser chat"))
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    sp.add_argument("--data", help="folder for feedback.jsonl (default: data/, env ASSISTANT_DATA)")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    from .index import IndexMismatch, MissingIndex
    from .pipeline import EmptyQuestion
    from .provision import ModelError
    try:
        return args.func(args)
    except EmptyQuestion:
        print("error: the question is empty; ask something, e.g. assistant ask \"hvad siger kodekset om sociale medier?\"",
              file=sys.stderr)
    except (IndexMismatch, MissingIndex, ModelError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; the previous index is still in place", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
