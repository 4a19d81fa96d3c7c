"""Thumbs up/down from the chat, kept locally as JSONL, and exported in the eval gold format.

One line per rating in ``<data dir>/feedback.jsonl``::

    {"time": "...", "question": "...", "liked": true, "abstained": false,
     "filters": {"organisation": "Aalborg Byråd", "doc_type": null},
     "quotes": [{"document": "...", "text": "...", "start": 0, "end": 10}], "index_version": "v-..."}

The question is stored as the assistant used it (cut at the question limit), with the
filters it was asked with. Bounded (``assistant/limits.py``, README "Limits"): one line is
at most ``feedback_record_bytes`` (quote texts are cut to fit), a session may vote
``votes_per_minute`` times a minute (the chat counts per account or address, web/chat.py ``voter``), and the file is rotated to ``feedback.1.jsonl`` … at
``feedback_file_bytes``, keeping ``feedback_files`` old files. Appends are one ``write`` under
a lock, fsync'ed; a write that fails half-way (full disk) is cut back off, and a torn line
left by a crash is ended before the next vote, so one bad write never costs another vote.

`assistant feedback export` turns the up-voted answers into gold lines
(``{"id", "question", "relevant": [{"document", "text"}]}``, plus ``"filters"`` when the
question was asked with filters; an up-voted "not covered" answer becomes ``"relevant": []``),
reading the files line by line. The latest rating of a question *with the same filters* wins.
Down-votes say an answer was wrong but not what is right, so they are left out of the gold
file; ``--review FILE`` writes them for a person to complete.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from assistant.limits import QUESTION_CHARS, Limits
from assistant.limits import limits as current_limits

_lock = threading.Lock()
FILTER_KEYS = ("organisation", "doc_type")


@dataclass(frozen=True)
class ExportSummary:
    written: int
    skipped_down: int


class TooManyVotes(Exception):
    """This session voted more than ``votes_per_minute`` times in the last minute."""


class FeedbackStore:
    def __init__(self, data_dir: Path, limits: Limits | None = None, clock=time.monotonic):
        self.path = Path(data_dir) / "feedback.jsonl"
        self.limits = limits or current_limits()
        self.clock = clock
        self._votes: dict[str, deque] = {}
        self._votes_lock = threading.Lock()

    # -- writing
    def record(self, question: str, liked: bool, abstained: bool, quotes: list[dict],
               index_version: str | None = None, filters: dict | None = None,
               session: str | None = None) -> dict:
        """Append one vote; raises TooManyVotes when ``session`` is over its rate."""
        if session is not None:
            self._admit(session)
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "question": str(question)[:QUESTION_CHARS],
                 "liked": bool(liked), "abstained": bool(abstained),
                 "filters": {k: (filters or {}).get(k) or None for k in FILTER_KEYS},
                 "quotes": [{k: q[k] for k in ("document", "text", "start", "end")} for q in quotes][:10],
                 "index_version": index_version}
        self._append(self._fit(entry))
        return entry

    def _admit(self, session: str) -> None:
        now = self.clock()
        with self._votes_lock:
            if len(self._votes) > 10_000:            # forget sessions that have not voted for a minute
                self._votes = {s: d for s, d in self._votes.items() if d and now - d[-1] < 60}
            times = self._votes.setdefault(session, deque())
            while times and now - times[0] >= 60:
                times.popleft()
            if len(times) >= self.limits.votes_per_minute:
                raise TooManyVotes(f"more than {self.limits.votes_per_minute} votes a minute")
            times.append(now)

    def _fit(self, entry: dict) -> bytes:
        """The entry as one JSON line within ``feedback_record_bytes``: quote texts are cut to fit."""
        limit = self.limits.feedback_record_bytes
        cut = limit // (len(entry["quotes"]) + 1) if entry["quotes"] else None   # characters: a first guess
        while True:
            if cut is not None:
                for q in entry["quotes"]:
                    q["text"] = q["text"][:cut]
            line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
            if len(line) <= limit:
                return line
            longest = max((len(q["text"]) for q in entry["quotes"]), default=0)
            if longest == 0:
                entry["question"] = entry["question"][:max(0, len(entry["question"]) // 2)]
                if not entry["question"]:
                    raise ValueError(f"a vote does not fit in {limit} bytes (ASSISTANT_FEEDBACK_RECORD_BYTES)")
                continue
            cut = longest // 2

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock:
            fd = self._open_locked()
            try:
                size = os.fstat(fd).st_size
                if size and size + len(data) > self.limits.feedback_file_bytes:
                    self._rotate()
                    os.close(fd)
                    fd = self._open_locked()
                    size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data              # a torn line from a crash: end it, keep ours whole
                try:
                    written = 0
                    while written < len(data):
                        written += os.write(fd, data[written:])
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, size)           # cut the torn part off: the file is as it was
                    raise
            finally:
                os.close(fd)

    def _open_locked(self) -> int:
        """feedback.jsonl opened for appending, locked against other processes (and re-opened if
        another process rotated it while we waited)."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def _rotate(self) -> None:
        keep = self.limits.feedback_files
        files = self.rotated()
        for n in range(len(files), 0, -1):            # feedback.N.jsonl -> N+1, the oldest beyond `keep` dropped
            src = self._numbered(n)
            if n >= keep:
                src.unlink(missing_ok=True)
            else:
                os.replace(src, self._numbered(n + 1))
        if keep:
            os.replace(self.path, self._numbered(1))
        else:
            self.path.unlink()

    def _numbered(self, n: int) -> Path:
        return self.path.with_name(f"feedback.{n}.jsonl")

    def rotated(self) -> list[Path]:
        """Rotated files, newest first."""
        out, n = [], 1
        while self._numbered(n).exists():
            out.append(self._numbered(n))
            n += 1
        return out

    # -- reading
    def files(self) -> list[Path]:
        """All feedback files, oldest first."""
        return list(reversed(self.rotated())) + ([self.path] if self.path.exists() else [])

    def entries(self) -> Iterator[dict]:
        """Every readable vote, oldest first, one line at a time (torn or foreign lines are skipped)."""
        for path in self.files():
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    if (isinstance(e, dict) and isinstance(e.get("question"), str) and isinstance(e.get("liked"), bool)
                            and isinstance(e.get("quotes"), list)):
                        yield e

    @staticmethod
    def _filters(e: dict) -> dict:
        f = e.get("filters") if isinstance(e.get("filters"), dict) else {}
        return {k: f.get(k) for k in FILTER_KEYS if isinstance(f.get(k), str) and f.get(k)}

    @classmethod
    def _key(cls, e: dict) -> bytes:
        q = " ".join(e["question"].split()).lower()
        return hashlib.sha1(json.dumps([q, cls._filters(e)], sort_keys=True).encode()).digest()

    def export(self, out, review=None) -> ExportSummary:
        """Stream the latest rating of each (question, filters) to ``out`` (gold) or ``review`` (down-votes)."""
        latest: dict[bytes, int] = {}
        for n, e in enumerate(self.entries()):       # pass 1: which line is the latest of its key
            latest[self._key(e)] = n
        written = down = 0
        for n, e in enumerate(self.entries()):       # pass 2: write those lines
            key = self._key(e)
            if latest.get(key) != n:
                continue
            filters = self._filters(e)
            if not e["liked"]:
                down += 1
                if review is not None:
                    review.write(json.dumps({"question": e["question"], **({"filters": filters} if filters else {}),
                                             "relevant": [], "answered_with": e["quotes"],
                                             "abstained": e.get("abstained")}, ensure_ascii=False) + "\n")
                continue
            qid = "fb-" + key.hex()[:10]
            relevant = [] if e.get("abstained") else [{"document": q["document"], "text": q["text"]}
                                                      for q in e["quotes"] if isinstance(q, dict)]
            out.write(json.dumps({"id": qid, "question": e["question"], **({"filters": filters} if filters else {}),
                                  "relevant": relevant}, ensure_ascii=False) + "\n")
            written += 1
        return ExportSummary(written, down)

    def to_gold(self) -> tuple[list[dict], list[dict]]:
        """(gold lines, down-vote review lines) as lists: for tests and small files."""
        import io
        out, review = io.StringIO(), io.StringIO()
        self.export(out, review)
        return ([json.loads(x) for x in out.getvalue().splitlines()],
                [json.loads(x) for x in review.getvalue().splitlines()])


class WithoutDocuments:
    """A writer for ``export`` that leaves out every line naming one of ``hidden`` documents.

    `assistant feedback export` passes the internal documents of the index: votes on answers
    that quoted them (staff's) stay out of the exported gold file unless --include-internal.
    """

    def __init__(self, out, hidden: set[str]):
        self.out, self.hidden, self.dropped = out, set(hidden), 0

    def write(self, line: str) -> None:
        try:
            row = json.loads(line)
        except ValueError:
            row = {}
        quoted = [q.get("document") for key in ("relevant", "answered_with") for q in row.get(key) or []
                  if isinstance(q, dict)]
        if any(d in self.hidden for d in quoted):
            self.dropped += 1
            return
        self.out.write(line)
