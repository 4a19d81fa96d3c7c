"""Who changed what, when: one JSON line per change in ``<data dir>/audit.jsonl``.

The program only ever appends (``O_APPEND``, one ``write`` per line under an exclusive
``flock``, fsync'ed), never rewrites or truncates the file; it is created with mode 0600.
Recorded: logins and failed logins, log-outs, uploads, replacements, deletions, metadata
edits, rebuilds (started, switched, blocked by the eval gate, failed), the admin's
"Skift alligevel", and user accounts added or removed from the command line.

    {"time": "2026-11-23T14:02:11+00:00", "user": "hanne", "action": "upload",
     "document": "dok-3f9a2b61c0", "details": {"filename": "Krænkelser.pdf", "bytes": 48213}}
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

MAX_FIELD = 500        # characters of any one value kept (a file name, a reason)


def _cut(value):
    if isinstance(value, str):
        return value[:MAX_FIELD]
    if isinstance(value, dict):
        return {str(k)[:100]: _cut(v) for k, v in list(value.items())[:50]}
    if isinstance(value, (list, tuple)):
        return [_cut(v) for v in list(value)[:50]]
    return value


class AuditLog:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "audit.jsonl"

    def record(self, user: str, action: str, document: str | None = None, **details) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "user": _cut(user),
                 "action": action, **({"document": document} if document else {}),
                 **({"details": _cut(details)} if details else {})}
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data          # a line torn by a crash is ended, not joined to ours
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def entries(self, last: int | None = None) -> list[dict]:
        """The recorded changes, oldest first (``last``: only the newest n)."""
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if isinstance(e, dict):
                    out.append(e)
        return out[-last:] if last else out
