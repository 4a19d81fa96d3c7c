"""Thumbs up/down from the chat, kept locally as JSONL, and exported in the eval gold format.

One line per rating in ``<data dir>/feedback.jsonl``::

    {"time": "...", "question": "...", "liked": true, "abstained": false,
     "quotes": [{"document": "...", "text": "...", "start": 0, "end": 10}], "index_version": "v-..."}

`assistant feedback export` turns the up-voted answers into gold lines
(``{"id", "question", "relevant": [{"document", "text"}]}``; an up-voted "not covered"
answer becomes ``"relevant": []``). Down-votes say an answer was wrong but not what is
right, so they are left out of the gold file; ``--review FILE`` writes them for a person
to complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

_lock = threading.Lock()


@dataclass(frozen=True)
class ExportSummary:
    written: int
    skipped_down: int


class FeedbackStore:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "feedback.jsonl"

    def record(self, question: str, liked: bool, abstained: bool, quotes: list[dict],
               index_version: str | None = None) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "question": question,
                 "liked": bool(liked), "abstained": bool(abstained),
                 "quotes": [{k: q[k] for k in ("document", "text", "start", "end")} for q in quotes],
                 "index_version": index_version}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, open(self.path, "a", encoding="utf-8") as f:   # one write per line: appends never interleave
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return entry

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue   # a torn last line after a crash: skip it
        return out

    def to_gold(self) -> tuple[list[dict], list[dict]]:
        """(gold lines from up-votes, down-voted entries); the latest rating of a question wins."""
        latest: dict[str, dict] = {}
        for e in self.entries():
            latest[" ".join(e["question"].split()).lower()] = e
        gold, down = [], []
        for e in latest.values():
            if not e["liked"]:
                down.append(e)
                continue
            qid = "fb-" + hashlib.sha1(e["question"].encode()).hexdigest()[:10]
            relevant = [] if e["abstained"] else [{"document": q["document"], "text": q["text"]} for q in e["quotes"]]
            gold.append({"id": qid, "question": e["question"], "relevant": relevant})
        return gold, down

    def export(self, out, review=None) -> ExportSummary:
        gold, down = self.to_gold()
        for g in gold:
            out.write(json.dumps(g, ensure_ascii=False) + "\n")
        if review is not None:
            for e in down:
                review.write(json.dumps({"question": e["question"], "relevant": [], "answered_with": e["quotes"],
                                         "abstained": e["abstained"]}, ensure_ascii=False) + "\n")
        return ExportSummary(len(gold), len(down))
