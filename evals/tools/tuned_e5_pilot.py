"""Would an E5 tuned on the development corpus rank quotes better on organisations it never saw?

A pilot for issue #14 (docs/ranking.md, docs/decisions.md "The quote ranker"), not part of the
assistant. The development examples are collected as ``assistant train-ranker`` collects them (the
same retrieval, the same candidates, the same labels). The organisation folds are split in two halves
(every other fold, sorted by name). For each half:

1. E5 is tuned on the *other* half's questions: the question (``query: ``) against a candidate that
   holds the answer (``passage: ``), with the three candidates most similar to the question that do
   not hold it as hard negatives and the batch's other passages as further negatives (InfoNCE, scale
   20, AdamW, ``--epochs`` (2), batch 16, seed 0). ``--side both`` tunes one model for questions and
   passages; ``--side passage`` keeps the shipped question vectors and tunes only the passage side,
   which would leave the question path (and its latency) untouched. By default every weight but the
   word embeddings is tuned; ``--top-layers K`` tunes only the last K of E5's 12 layers, so that a
   question could share the first 12-K layers' pass with the shipped model and pay only for K more;
   ``--lora`` tunes a rank-8 adapter (``pip install peft``, not a dependency of the assistant).
2. On the held-out half: the candidate the tuned cosine ranks first (against the shipped cosine),
   and the quote ranker (rank.py, with its meaning interaction) leave-one-organisation-out *within*
   the half, with and without two added features, the tuned cosine and its distance to the best
   candidate's. The tuned model never saw a question of the held-out half, and the ranker is judged
   on organisations it was not fitted on.

Slow: about six minutes of training per half on two cores. Run:

    .venv/bin/python evals/tools/tuned_e5_pilot.py                 # both halves, --side both
    .venv/bin/python evals/tools/tuned_e5_pilot.py --side passage --halves 0
    .venv/bin/python evals/tools/tuned_e5_pilot.py --top-layers 2 --lr 2e-4 --epochs 3
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.answer.assistant import Assistant  # noqa: E402
from assistant.answer.rank import FEATURES  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluation.training import Example, development_examples, leave_one_out  # noqa: E402
from assistant.store.embed import Embedder  # noqa: E402


def examples(work: Path) -> list[Example]:
    """The development examples, collected as ``assistant train-ranker`` collects them."""
    embedder = Embedder(Settings.from_env())
    os.chdir(ROOT)                      # SETS names the corpora relative to the repository
    return development_examples(lambda corpus, index_dir: Assistant(
        Settings.from_env(index_dir=index_dir, corpus_dir=corpus), embedder=embedder), work)


def tune(train: list[Example], side: str, lora: bool, epochs: int, top_layers: int = 0, lr: float | None = None,
         log=print):
    """The tuned model (sentence-transformers), trained on ``train``'s questions."""
    import torch
    from sentence_transformers import SentenceTransformer

    from assistant.store.provision import ensure_e5_model
    torch.manual_seed(0)
    rng = random.Random(0)
    model = SentenceTransformer(str(ensure_e5_model().path), device="cpu")
    if lora:
        from peft import LoraConfig, get_peft_model
        model[0].auto_model = get_peft_model(model[0].auto_model, LoraConfig(
            r=8, lora_alpha=16, lora_dropout=0.1, target_modules=["query", "key", "value", "dense"]))
    elif top_layers:
        bert = model[0].auto_model
        for p in bert.parameters():
            p.requires_grad_(False)
        for layer in bert.encoder.layer[-top_layers:]:
            for p in layer.parameters():
                p.requires_grad_(True)
    else:
        model[0].auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    encode = lambda texts: model(model.tokenize(texts))["sentence_embedding"]
    items = []
    for e in train:
        if not e.y.any():
            continue
        order = np.argsort(-(e.vecs @ e.qvec))
        items.append((e, [t for t, y in zip(e.texts, e.y) if y], [e.texts[i] for i in order if not e.y[i]][:3]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr or (3e-4 if lora else 2e-5),
                            weight_decay=0.01)
    model.train()
    t0 = time.time()
    for epoch in range(epochs):
        rng.shuffle(items)
        total = 0.0
        for s in range(0, len(items), 16):
            batch = items[s:s + 16]
            if side == "both":
                q = encode(["query: " + e.question for e, _, _ in batch])
            else:
                q = torch.tensor(np.stack([e.qvec for e, _, _ in batch]), dtype=torch.float32)
            d = encode(["passage: " + rng.choice(p) for _, p, _ in batch]
                       + ["passage: " + n for _, _, ns in batch for n in ns])
            loss = torch.nn.functional.cross_entropy(20.0 * q @ d.T, torch.arange(len(batch)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        log(f"  epoch {epoch + 1}: loss {total / max(1, (len(items) + 15) // 16):.3f} ({time.time() - t0:.0f} s)")
    model.eval()
    return model


def with_tuned(held: list[Example], model, side: str) -> list[tuple[Example, np.ndarray]]:
    """Each held-out example with its candidates' tuned cosines."""
    texts = sorted({t for e in held for t in e.texts})
    tv = model.encode(["passage: " + t for t in texts], batch_size=64, normalize_embeddings=True)
    row = {t: i for i, t in enumerate(texts)}
    if side == "both":
        qv = model.encode(["query: " + e.question for e in held], batch_size=64, normalize_embeddings=True)
    else:
        qv = np.stack([e.qvec for e in held])
    return [(e, np.array([tv[row[t]] @ q for t in e.texts], dtype=np.float64)) for e, q in zip(held, qv)]


TUNED_COLUMNS = FEATURES + ("tuned", "tuned_rel")


def with_tuned_columns(e: Example, tuned: np.ndarray) -> Example:
    """``e`` with the tuned cosine and its distance to the best candidate's as two more columns."""
    X = np.column_stack([e.X.astype(np.float64), tuned, tuned - (tuned.max() if len(tuned) else 0.0)])
    return replace(e, X=X, columns=TUNED_COLUMNS)


def loo_within(pairs, added: bool) -> float:
    """The quote ranker (train_ranker.fit at C=1, meaning interaction included) leave one organisation
    out within ``pairs``, with the two tuned columns when ``added``."""
    if not added:
        return leave_one_out([e for e, _ in pairs], 1.0)
    return leave_one_out([with_tuned_columns(e, t) for e, t in pairs], 1.0, TUNED_COLUMNS)


def first_holds(e: Example, s: np.ndarray) -> bool:
    return bool(len(e.y)) and bool(e.y[int(np.argmax(s))])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default=str(ROOT / "index" / "train"), help="development indexes (built if missing)")
    p.add_argument("--side", choices=("both", "passage"), default="both")
    p.add_argument("--lora", action="store_true")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--top-layers", type=int, default=0, metavar="K",
                   help="tune only the last K of E5's 12 layers (0: every weight but the word embeddings)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 2e-5; 3e-4 with --lora)")
    p.add_argument("--halves", type=int, nargs="+", default=[0, 1])
    args = p.parse_args()
    import torch
    torch.set_num_threads(2)
    ex = examples(Path(args.work).resolve())
    folds = sorted({e.fold for e in ex})
    totals = np.zeros(4)
    n = 0
    for half in args.halves:
        held_folds = set(folds[half::2])
        held = [e for e in ex if e.fold in held_folds]
        train = [e for e in ex if e.fold not in held_folds]
        print(f"half {half}: tuned on {len(train)} questions, judged on {len(held)} "
              f"({len(held_folds)} held-out folds)", flush=True)
        model = tune(train, args.side, args.lora, args.epochs, args.top_layers, args.lr)
        pairs = with_tuned(held, model, args.side)
        row = np.array([np.mean([first_holds(e, e.vecs @ e.qvec) for e in held]),
                        np.mean([first_holds(e, t) for e, t in pairs]),
                        loo_within(pairs, False), loo_within(pairs, True)])
        print(f"  cosine alone, hit@1: shipped {row[0]:.3f}, tuned {row[1]:.3f}")
        print(f"  quote ranker, leave-one-organisation-out within the half, hit@1: "
              f"{row[2]:.3f} -> {row[3]:.3f} with the tuned cosine", flush=True)
        totals += row * len(held)
        n += len(held)
    t = totals / n
    print(f"all held-out questions ({n}): cosine {t[0]:.3f} -> {t[1]:.3f}; ranker {t[2]:.3f} -> {t[3]:.3f} "
          f"(side={args.side}{', lora' if args.lora else ''}"
          f"{f', last {args.top_layers} layers' if args.top_layers else ''}, {args.epochs} epochs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
