"""The eval gate: a rebuild that answers a gold set clearly worse is not switched in by itself.

Configured with ``assistant serve --gate GOLD`` (or ``ASSISTANT_GATE``), where GOLD is
``bundled`` (``evals/test.jsonl``), ``feedback`` (the up-voted answers of the chat, as
``assistant feedback export`` writes them) or the path of an organisation's own gold file;
several may be given. The new version and the serving one are both asked every gold
question (internal documents included: this is the operator's measurement); when the new
version's recall@3 or quote hit@1 is lower by more than ``margin`` (``--gate-margin``,
default 0.05), the administration page shows both sets of numbers and waits for an admin's
"Skift alligevel".
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from assistant.answer.assistant import Assistant
from assistant.evaluation.evaluate import Gold, evaluate, load_gold
from assistant.state.feedback import FeedbackStore

METRICS = ("recall@3", "quote_hit@1")
METRIC_NAMES = {"recall@3": "Recall@3", "quote_hit@1": "Citat-hit@1"}
DEFAULT_MARGIN = 0.05
BUNDLED = Path(__file__).resolve().parents[2] / "evals" / "test.jsonl"


@dataclass(frozen=True)
class Verdict:
    gold: str                       # which gold sets, for the page
    questions: int
    before: dict                    # metric -> value of the serving version
    after: dict                     # metric -> value of the new version
    margin: float

    @property
    def drops(self) -> dict:
        """Metrics that fell by more than the margin, with the size of the fall."""
        out = {}
        for m in METRICS:
            b, a = self.before.get(m), self.after.get(m)
            if b is not None and a is not None and b - a > self.margin + 1e-9:
                out[m] = round(b - a, 4)
        return out

    @property
    def passed(self) -> bool:
        return not self.drops

    def to_json(self) -> dict:
        return {"gold": self.gold, "questions": self.questions, "before": self.before, "after": self.after,
                "margin": self.margin, "drops": self.drops, "passed": self.passed}


class Gate:
    def __init__(self, sources: list[str], margin: float = DEFAULT_MARGIN, data_dir: Path | None = None):
        if not sources:
            raise ValueError("the eval gate needs at least one gold set: bundled, feedback or a file")
        if not 0 <= margin < 1:
            raise ValueError(f"the gate margin must be between 0 and 1, not {margin}")
        self.sources, self.margin, self.data_dir = list(sources), margin, data_dir
        for s in self.sources:
            if s not in ("bundled", "feedback") and not Path(s).is_file():
                raise FileNotFoundError(f"gold set {s} does not exist (use bundled, feedback or a JSONL file)")
        self._cache: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> "Gate | None":
        raw = os.environ.get("ASSISTANT_GATE", "").strip()
        if not raw:
            return None
        margin = float(os.environ.get("ASSISTANT_GATE_MARGIN") or DEFAULT_MARGIN)
        return cls([s for s in raw.split(",") if s.strip()], margin, data_dir)

    def gold(self) -> list[Gold]:
        out: list[Gold] = []
        for s in self.sources:
            if s == "bundled":
                out += load_gold([BUNDLED])
            elif s == "feedback":
                out += self._feedback_gold()
            else:
                out += load_gold([Path(s)])
        return out

    def _feedback_gold(self) -> list[Gold]:
        if self.data_dir is None:
            return []
        store = FeedbackStore(self.data_dir)
        if not store.path.exists():
            return []
        with tempfile.NamedTemporaryFile("w+", suffix=".jsonl", encoding="utf-8") as f:
            store.export(f)
            f.flush()
            return load_gold([f.name])

    def measure(self, assistant, index, gold: list[Gold], tick: Callable[[], None] = lambda: None) -> dict:
        """recall@3 and quote hit@1 of ``index`` (a loaded version) on ``gold``; cached per version."""
        key = (index.path.name, hashlib.sha256(repr([(g.id, g.question, g.relevant) for g in gold])
                                               .encode()).hexdigest())
        with self._lock:
            if key in self._cache:
                for _ in gold:
                    tick()
                return self._cache[key]
        result = evaluate(_Pinned(assistant, index, tick), gold)
        numbers = {m: result[m] for m in METRICS}
        with self._lock:
            self._cache[key] = numbers
        return numbers

    def judge(self, assistant, current, candidate, tick: Callable[[], None] = lambda: None) -> Verdict:
        gold = self.gold()
        before = self.measure(assistant, current, gold, tick)
        after = self.measure(assistant, candidate, gold, tick)
        return Verdict(", ".join(self.sources), len(gold), before, after, self.margin)


def _Pinned(base, index, tick):
    """An Assistant like ``base`` (same model, settings, memoised vectors) that answers from ``index``."""

    class Pinned(Assistant):
        @property
        def index(self):
            return index

        def ask(self, *a, **kw):
            try:
                return super().ask(*a, **kw)
            finally:
                tick()

    p = Pinned(base.settings, base.index_dir, base.embedder, base.decision)
    for shared in ("span_vectors", "ranker", "use_stored_spans"):     # same model, ranker and settings (the decision above)
        if hasattr(base, shared):
            setattr(p, shared, getattr(base, shared))
    return p
