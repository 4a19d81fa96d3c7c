"""assistant index | ask | eval | serve | user | feedback export | bench — a thin layer over the Assistant API."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path


def _settings(args):
    from assistant.config import Settings
    return Settings.from_env(model=getattr(args, "model", None),
                             index_dir=Path(args.index) if getattr(args, "index", None) else None,
                             corpus_dir=Path(args.corpus) if getattr(args, "corpus", None) else None,
                             data_dir=Path(args.data) if getattr(args, "data", None) else None)


def _assistant(args):
    from assistant.answer.assistant import Assistant
    return Assistant(_settings(args))


def cmd_index(args) -> int:
    from assistant.language.danish import Analyzer
    from assistant.store.build import build_index
    from assistant.store.embed import Embedder
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
    from assistant.answer.retrieve import Filters
    assistant = _assistant(args)
    assistant.warm_up()                 # model, index and word lists load side by side
    filters = Filters(args.org, args.type, internal=args.intern)
    previous = assistant.read_scope(args.after, filters) if args.after else None
    answer = assistant.ask(args.question, filters, k=args.k, mode=args.retriever, previous=previous)
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
    from assistant.evaluation.report import main_eval
    return main_eval(args, _assistant(args))


def cmd_feedback_export(args) -> int:
    from assistant.config import Settings
    from assistant.state.feedback import FeedbackStore, WithoutDocuments
    settings = Settings.from_env(data_dir=Path(args.data) if args.data else None)
    store = FeedbackStore(settings.data_dir)
    if not store.files():
        raise FileNotFoundError(f"no feedback yet: {store.path} does not exist")
    hidden = set() if args.include_internal else _internal_documents(args, settings)
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(args.out, "w", encoding="utf-8")) if args.out else sys.stdout
        review = files.enter_context(open(args.review, "w", encoding="utf-8")) if args.review else None
        out = WithoutDocuments(out, hidden)
        review = WithoutDocuments(review, hidden) if review is not None else None
        summary = store.export(out, review)
    if out.dropped or (review is not None and review.dropped):
        print(f"left out {out.dropped + (review.dropped if review else 0)} rated answer(s) quoting internal "
              "documents (--include-internal keeps them)", file=sys.stderr)
    print(f"exported {summary.written} rated question(s) in the gold format"
          + (f" to {args.out}" if args.out else "")
          + f"; {summary.skipped_down} thumbs-down left out"
          + (f" (written to {args.review} for review)" if args.review else " (use --review FILE to see them)"),
          file=sys.stderr)
    return 0


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password on; pipe it in with --password-stdin")
    import getpass
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def _cli_actor() -> str:
    import getpass
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def cmd_user(args) -> int:
    from assistant.config import Settings
    from assistant.state.audit import AuditLog
    from assistant.state.users import ROLE_NAMES, UserStore, check_name
    settings = Settings.from_env(data_dir=Path(args.data) if args.data else None)
    store, audit = UserStore(settings.data_dir), AuditLog(settings.data_dir)
    if args.user_command == "list":
        users = store.list()
        for u in users:
            print(f"{u.name}\t{u.role}")
        if not users:
            print(f"no users in {store.path}; add one with: assistant user add NAME --role admin", file=sys.stderr)
        return 0
    name = check_name(args.name)
    if args.user_command == "add":
        user = store.add(name, _read_password(args), args.role)
        audit.record(_cli_actor(), "user_add", name=user.name, role=user.role)
        print(f"added {user.name} ({user.role}, {ROLE_NAMES[user.role]}) to {store.path}", file=sys.stderr)
    elif args.user_command == "password":
        store.set_password(name, _read_password(args))
        audit.record(_cli_actor(), "user_password", name=name)
        print(f"new password set for {name}", file=sys.stderr)
    else:
        store.remove(name)
        audit.record(_cli_actor(), "user_remove", name=name)
        print(f"removed {name}; their browser sessions end on their next request", file=sys.stderr)
    return 0


def _internal_documents(args, settings) -> set[str]:
    """Ids of the index's internal documents (the feedback export leaves their votes out)."""
    from assistant.store.index import Index
    root = Path(args.index) if args.index else settings.index_dir
    try:
        return {d.id for d in Index.load(root).documents.values() if d.internal}
    except Exception as exc:   # noqa: BLE001 - without the index we cannot tell which documents are internal
        raise RuntimeError(f"cannot read the index in {root} to tell internal documents ({exc}); "
                           "pass --index, or --include-internal to export every vote") from exc


def cmd_eval_ingest(args) -> int:
    from assistant.evaluation.ingest import evaluate_ingest, format_ingest

    corpus = Path(args.corpus)
    expected = Path(args.expected) if args.expected else corpus / "expected.jsonl"
    result = evaluate_ingest(corpus, expected)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(format_ingest(result))
    return 0


def cmd_bench(args) -> int:
    from assistant.evaluation.bench import run
    return run(args)


def cmd_train_ranker(args) -> int:
    from assistant.answer.assistant import Assistant
    from assistant.config import Settings
    from assistant.evaluation.training import train
    from assistant.store.embed import Embedder
    embedder = Embedder(Settings.from_env(model=args.model))
    make = lambda corpus, index_dir: Assistant(Settings.from_env(model=args.model, index_dir=index_dir,
                                                                 corpus_dir=corpus), embedder=embedder)
    report = train(make, Path(args.work), Path(args.out), ablation=args.ablation,
                   log=(lambda m: print(m, file=sys.stderr)) if args.json else print)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def cmd_serve(args) -> int:
    from assistant.evaluation.gate import DEFAULT_MARGIN, Gate
    from assistant.web.app import serve
    settings = _settings(args)
    gate = None
    if args.gate:
        gate = Gate(args.gate, args.gate_margin if args.gate_margin is not None else DEFAULT_MARGIN, settings.data_dir)
    else:
        gate = Gate.from_env(settings.data_dir)
    from assistant.answer.assistant import Assistant
    serve(Assistant(settings), host=args.host, port=args.port, corpus=settings.corpus_dir,
          data_dir=settings.data_dir, require_login=args.require_login, gate=gate,
          forwarded_allow_ips=args.forwarded_allow_ips)
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
    sp.add_argument("--intern", action="store_true",
                    help="also quote internal documents (visibility 'intern'); without it, public ones only")
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
    sp.add_argument("--by", nargs="+", choices=["kind", "style", "organisation"],
                    help="also print the table per answer kind, question style or organisation")
    sp.add_argument("--fold-rankers", metavar="DIR",
                    help="answer each question with the quote ranker and the answer decision trained without its organisation "
                         "(the folds folder assistant train-ranker writes, e.g. index/train/folds)")
    sp.add_argument("--quiet", action="store_true", help="the table only, no list of failures")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("feedback", help="thumbs up/down given in the chat")
    fsub = sp.add_subparsers(dest="feedback_command", required=True)
    fp = fsub.add_parser("export", help="write the rated questions in the eval gold format (JSONL)")
    fp.add_argument("--data", help="data folder with feedback.jsonl (default: data/, env ASSISTANT_DATA)")
    fp.add_argument("--out", help="gold file to write (default: standard output)")
    fp.add_argument("--review", help="also write the thumbs-down questions here, for a person to complete")
    fp.add_argument("--index", help="index folder, to tell internal documents (default: index/)")
    fp.add_argument("--include-internal", action="store_true",
                    help="also export votes on answers that quoted internal documents (left out by default)")
    fp.set_defaults(func=cmd_feedback_export)

    sp = sub.add_parser("user", help="accounts for the browser (staff read internal documents; admins also administer)")
    usub = sp.add_subparsers(dest="user_command", required=True)
    for name, text in (("add", "add a user (asks for the password twice)"),
                       ("password", "set a new password for a user"),
                       ("remove", "remove a user (their sessions end)")):
        up = usub.add_parser(name, help=text)
        up.add_argument("name")
        if name == "add":
            up.add_argument("--role", default="staff", choices=["admin", "staff"],
                            help="staff reads internal documents; admin also uses the administration page")
        if name != "remove":
            up.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input (for scripts)")
        up.add_argument("--data", help="data folder holding users.json (default: data/, env ASSISTANT_DATA)")
        up.set_defaults(func=cmd_user)
    up = usub.add_parser("list", help="list users and roles")
    up.add_argument("--data", help="data folder holding users.json (default: data/, env ASSISTANT_DATA)")
    up.set_defaults(func=cmd_user)

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

    sp = sub.add_parser("train-ranker", help="train the quote ranker on the development material "
                                             "(leave-one-organisation-out validated)")
    sp.add_argument("--work", default="index/train", help="where the development indexes are built (default: index/train)")
    sp.add_argument("--out", default=str(Path(__file__).parent / "answer" / "ranker.json"),
                    help="weights file (default: the packaged assistant/answer/ranker.json)")
    sp.add_argument("--ablation", action="store_true", help="also leave-one-organisation-out hit@1 without each feature group")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_train_ranker)

    sp = with_index(sub.add_parser("serve", help="start the browser chat"))
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    sp.add_argument("--data", help="folder for feedback.jsonl, users.json and audit.jsonl (default: data/, "
                                   "env ASSISTANT_DATA)")
    sp.add_argument("--corpus", default=None, help="corpus folder the administration page manages (default: corpus/)")
    sp.add_argument("--require-login", action="store_true",
                    help="every page and API call needs a log-in (default: public documents are open to all)")
    sp.add_argument("--gate", nargs="+", metavar="GOLD",
                    help="gold sets a rebuild must not get worse on before it is switched in: bundled, feedback "
                         "or JSONL files (env ASSISTANT_GATE, comma-separated)")
    sp.add_argument("--forwarded-allow-ips", default=os.environ.get("ASSISTANT_FORWARDED_ALLOW_IPS"),
                    help="addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated; "
                         "default: none, env ASSISTANT_FORWARDED_ALLOW_IPS)")
    sp.add_argument("--gate-margin", type=float, default=None,
                    help="largest allowed drop in recall@3 or quote hit@1 (default 0.05, env ASSISTANT_GATE_MARGIN)")
    sp.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    from assistant.answer.assistant import EmptyQuestion, UnclearQuestion
    from assistant.store.index import IndexMismatch, MissingIndex
    from assistant.store.provision import ModelError
    try:
        return args.func(args)
    except UnclearQuestion as exc:
        print(f"error: {exc}, e.g. assistant ask \"hvad siger kodekset om sociale medier?\"", file=sys.stderr)
    except EmptyQuestion:
        print("error: the question is empty; ask something, e.g. assistant ask \"hvad siger kodekset om sociale medier?\"",
              file=sys.stderr)
    except (IndexMismatch, MissingIndex, ModelError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted; the previous index is still in place", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the user; ASSISTANT_DEBUG=1 shows the traceback
        if os.environ.get("ASSISTANT_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {exc} (ASSISTANT_DEBUG=1 shows the traceback)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
