"""Train the answer decision (answer/decision.py) on the development material, leave one organisation out.

Every gold question of the development sets (answerable or not) is asked as the assistant asks it
(training.collect); its candidates are scored by the quote ranker trained without its organisation,
as a new organisation's documents would be, and described by ``decision.evidence``. A logistic
regression learns from these which candidates answer. Its threshold refuses at most ``BUDGET`` of the
answerable questions: for the shipped weights, of the held-out probabilities of all folds; to judge
it, for each organisation, of the other organisations' held-out probabilities (nested), so the
reported share of unanswerable questions caught was measured on questions nobody tuned on.

    assistant train-ranker      # writes assistant/answer/decision.json beside ranker.json
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.answer.decision import EVIDENCE, GROUPS, Decision, evidence
from assistant.answer.rank import Interaction

BUDGET = 0.05                     # the largest share of answerable development questions refused
C_GRID = (0.03, 0.1, 0.3, 1.0)
# The meaning interaction's columns are standardised and multiplied by this: 384 weights from some 1,400
# questions need a strong penalty. Leave one organisation out at C=0.1, unanswerable caught (answerable
# refused) by alpha: none 0.483 (0.048), 0.05 0.567, 0.1 0.624, 0.2 0.652 (0.049), 0.3 0.626, 0.5 0.585.
INTERACTION_ALPHA = 0.2
INTERACTION_GROUP = "meaning interaction (q*s)"


@dataclass(frozen=True)
class Rows:
    """The decision's training data: one row of evidence per asked question."""
    ids: list[str]
    E: np.ndarray                 # questions x EVIDENCE
    y: np.ndarray                 # answerable
    folds: np.ndarray             # the organisation unit
    groups: list[str]             # the gold file's group (the question id's prefix) or the unanswerable kind
    kinds: list[str]              # the question's answer kind
    M: np.ndarray                 # the meaning interaction: the question's vector times its best candidate's


def decision_rows(examples, rankers: dict, fallback) -> Rows:
    """Evidence per example with its candidates scored by ``rankers[fold]`` (the ranker trained without
    that organisation; ``fallback`` for a fold with no answerable question, i.e. trained on all)."""
    E, M, ids, groups, kinds = [], [], [], [], []
    for e in examples:
        ranker = rankers.get(e.fold, fallback)
        scores = ranker.score(e.X, e.qvec, e.vecs, e.columns) if len(e.X) else np.zeros(0)
        gap = e.baseline - e.top_passage if e.baseline is not None else 0.0
        ev = evidence(e.analysed, e.X, scores, e.literal, e.top_passage, e.missing_words, e.columns, e.qvec, e.vecs,
                      gap, e.scope_missing)
        E.append(ev.values)
        M.append(ev.meeting)
        ids.append(e.id)
        groups.append(e.id.split("-")[0])
        kinds.append(e.analysed.kind)
    return Rows(ids, np.array(E, np.float64), np.array([e.answerable for e in examples]),
                np.array([e.fold for e in examples]), groups, kinds, np.array(M, np.float64))


def fit(rows: Rows, mask: np.ndarray, C: float, features: tuple[str, ...] = EVIDENCE,
        with_interaction: bool = True, threshold: float = 0.5) -> Decision:
    """A decision fitted on the rows in ``mask``; the meaning interaction's columns standardised and
    scaled by ``INTERACTION_ALPHA`` (penalised 1/alpha^2 times as hard as the evidence)."""
    from sklearn.linear_model import LogisticRegression
    X = rows.E[mask][:, [EVIDENCE.index(f) for f in features]]
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale
    if with_interaction:
        M = rows.M[mask]
        mmean, mscale = M.mean(axis=0), M.std(axis=0)
        mscale[mscale == 0] = 1.0
        Z = np.column_stack([Z, INTERACTION_ALPHA * (M - mmean) / mscale])
    with threadpool_limits(limits=1, user_api="blas"):
        model = LogisticRegression(C=C, max_iter=20000, tol=1e-8).fit(Z, rows.y[mask])
    coef = model.coef_[0].astype(np.float64)
    inter = Interaction(mmean, mscale, INTERACTION_ALPHA * coef[len(features):]) if with_interaction else None
    return Decision(tuple(features), mean, scale, coef[:len(features)], float(model.intercept_[0]), threshold, inter)


def probabilities(d: Decision, rows: Rows, mask: np.ndarray) -> np.ndarray:
    return d.probabilities(rows.E[mask], rows.M[mask])


def threshold_for(p_answerable: np.ndarray, budget: float = BUDGET) -> float:
    """The highest threshold that refuses at most ``budget`` of these answerable questions."""
    p = np.sort(p_answerable)
    k = int(np.floor(budget * len(p)))          # refused: the k lowest (strictly below the threshold)
    return float(p[k]) if len(p) else 0.5


def held_out(rows: Rows, C: float, features: tuple[str, ...] = EVIDENCE, mask: np.ndarray | None = None,
             with_interaction: bool = True) -> np.ndarray:
    """Each question's probability from a decision fitted without its organisation (within ``mask``)."""
    mask = np.ones(len(rows.y), bool) if mask is None else mask
    p = np.full(len(rows.y), np.nan)
    for fold in sorted(set(rows.folds[mask])):
        held, train = mask & (rows.folds == fold), mask & (rows.folds != fold)
        p[held] = probabilities(fit(rows, train, C, features, with_interaction), rows, held)
    return p


def leave_one_out(rows: Rows, C: float, features: tuple[str, ...] = EVIDENCE, budget: float = BUDGET,
                  with_interaction: bool = True) -> tuple[np.ndarray, dict]:
    """Refused or not, per question, by the decision trained without its organisation, at a threshold
    chosen without it too (on the other organisations' held-out probabilities). Returns the refusals
    and the fold decisions (with those thresholds)."""
    refused = np.zeros(len(rows.y), bool)
    decisions = {}
    for fold in sorted(set(rows.folds)):
        held, train = rows.folds == fold, rows.folds != fold
        inner = held_out(rows, C, features, train, with_interaction)
        d = replace(fit(rows, train, C, features, with_interaction), threshold=threshold_for(inner[train & rows.y], budget))
        decisions[fold] = d
        refused[held] = probabilities(d, rows, held) < d.threshold
    return refused, decisions


def auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(np.r_[np.ones(len(positives)), np.zeros(len(negatives))], np.r_[positives, negatives]))


def rates(rows: Rows, refused: np.ndarray) -> tuple[float, float]:
    """(unanswerable caught, answerable refused)."""
    return float(refused[~rows.y].mean()), float(refused[rows.y].mean())


def curve(rows: Rows, p: np.ndarray, steps=(0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)) -> list[tuple[float, float, float]]:
    """(answerable refused, unanswerable caught, threshold) at thresholds refusing each share of the
    answerable questions, on held-out probabilities."""
    out = []
    for share in steps:
        t = threshold_for(p[rows.y], share)
        out.append((float((p[rows.y] < t).mean()), float((p[~rows.y] < t).mean()), t))
    return out


def by_group(rows: Rows, refused: np.ndarray) -> dict[str, tuple[float, int]]:
    """Share refused per group of questions (answerable: refused wrongly; unanswerable: caught)."""
    out = defaultdict(list)
    for g, k, ok, r in zip(rows.groups, rows.kinds, rows.y, refused):
        out[f"{'answerable' if ok else 'unanswerable'} {k}"].append(r)
    return {k: (float(np.mean(v)), len(v)) for k, v in sorted(out.items())}


def plot_curve(rows: Rows, p: np.ndarray, threshold: float, path: Path) -> None:
    """Unanswerable caught against answerable refused as the threshold moves (held-out probabilities)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ts = np.linspace(0, 1, 201)
    refused = [(p[rows.y] < t).mean() for t in ts]
    caught = [(p[~rows.y] < t).mean() for t in ts]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(refused, caught, label="held out by organisation")
    ax.scatter([(p[rows.y] < threshold).mean()], [(p[~rows.y] < threshold).mean()], color="red", zorder=3,
               label=f"shipped threshold {threshold:.3f}")
    ax.axvline(BUDGET, color="grey", linestyle=":", label=f"budget {BUDGET:.2f}")
    ax.set_xlabel("answerable questions refused")
    ax.set_ylabel("unanswerable questions caught")
    ax.set_xlim(0, 0.5)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("The answer decision, development corpus")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_decision(examples, rankers: dict, fallback, budget: float = BUDGET, ablation: bool = False,
                   log=print, plot: Path | None = None) -> tuple[Decision, dict, dict]:
    """Choose C on the folds (held-out ROC AUC), fit on everything, set the threshold on the held-out
    probabilities so that at most ``budget`` of the answerable questions are refused; judge it nested.
    Returns the decision, a report and the fold decisions (for ``assistant eval --fold-rankers``)."""
    rows = decision_rows(examples, rankers, fallback)
    log(f"answer decision: {int(rows.y.sum())} answerable and {int((~rows.y).sum())} unanswerable questions, "
        f"{len(set(rows.folds))} organisation folds, refusal budget {budget:.2f}")
    # C by the held-out probabilities' ROC AUC (answerable against not): smooth, unlike a count at one threshold
    held = {C: held_out(rows, C) for C in C_GRID}
    aucs = {C: auc(p[rows.y], p[~rows.y]) for C, p in held.items()}
    for C, v in aucs.items():
        log(f"C={C:<5} leave-one-organisation-out ROC AUC {v:.4f}")
    best_C = max(C_GRID, key=lambda C: (round(aucs[C], 4), -C))
    refused, fold_decisions = leave_one_out(rows, best_C, budget=budget)
    caught, refused_rate = rates(rows, refused)
    p = held[best_C]
    everything = np.ones(len(rows.y), bool)
    decision = replace(fit(rows, everything, best_C), threshold=threshold_for(p[rows.y], budget))
    report = {"C": best_C, "budget": budget, "auc_loo": round(aucs[best_C], 4), "caught_loo": round(caught, 4), "refused_loo": round(refused_rate, 4),
              "questions": len(rows.y), "unanswerable": int((~rows.y).sum()),
              "curve": [[round(a, 4), round(b, 4), round(t, 4)] for a, b, t in curve(rows, p)],
              "groups": {k: [round(v, 4), n] for k, (v, n) in by_group(rows, refused).items()}}
    log(f"chosen C={best_C}: threshold {decision.threshold:.3f}; held out: caught {caught:.3f}, refused {refused_rate:.3f}")
    for refused_share, caught_share, t in curve(rows, p):
        log(f"  threshold {t:.3f}: answerable refused {refused_share:.3f}, unanswerable caught {caught_share:.3f}")
    for group, (share, n) in by_group(rows, refused).items():
        log(f"  {group:26} refused {share:.3f} of {n}")
    if plot is not None:
        plot_curve(rows, p, decision.threshold, plot)
        log(f"wrote {plot}")
    if ablation:
        report["ablation"] = {}
        for group, names in GROUPS.items():
            kept = tuple(f for f in EVIDENCE if f not in names)
            r, _ = leave_one_out(rows, best_C, kept, budget)
            c, f = rates(rows, r)
            report["ablation"][group] = [round(c, 4), round(f, 4)]
            log(f"without {group:36} caught {c:.3f} ({c - caught:+.3f}), refused {f:.3f}")
        r, _ = leave_one_out(rows, best_C, budget=budget, with_interaction=False)
        c, f = rates(rows, r)
        report["ablation"][INTERACTION_GROUP] = [round(c, 4), round(f, 4)]
        log(f"without {INTERACTION_GROUP:36} caught {c:.3f} ({c - caught:+.3f}), refused {f:.3f}")
    return decision, report, fold_decisions
