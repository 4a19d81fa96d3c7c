"""Who changed what, when: one JSON line per change in ``<data dir>/audit.jsonl``.

The program only ever appends (``O_APPEND``, one ``write`` per line under an exclusive
``flock``, fsync'ed), never rewrites or truncates the file; it is created with mode 0600.
Recorded: logins, log-outs, uploads, replacements, deletions, metadata edits, rebuilds (started,
switched, blocked by the eval gate, failed), the admin's "Skift alligevel", and user accounts added
or removed from the command line: only what someone who knows a password can cause.

Failed and throttled log-ins, which anyone can cause, go to their own file (``logins.jsonl``, the
name as typed by the client in ``typed``, never as ``user``), rotated to ``logins.1.jsonl`` past
``max_bytes``, and not flushed to disk line by line: a flood of them can neither push an administrator's
action out of sight, nor fill the disk, nor keep it busy.

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


LOGINS = "logins.jsonl"
LOGINS_BYTES = 10 * 1024 * 1024


class AuditLog:
    def __init__(self, data_dir: Path, name: str = "audit.jsonl", max_bytes: int | None = None, durable: bool = True):
        self.path = Path(data_dir) / name
        self.max_bytes = max_bytes            # rotate to <name>.1 past this (None: never; the audit log)
        self.durable = durable                # fsync each line (not for failed log-ins: a flood would make
                                              # every refused attempt cost a disk flush)

    def record(self, user: str, action: str, document: str | None = None, **details) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "user": _cut(user),
                 "action": action, **({"document": document} if document else {}),
                 **({"details": _cut(details)} if details else {})}
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            st = os.fstat(fd)
            size = st.st_size
            if self.max_bytes is not None and size + len(data) > self.max_bytes and self._is_current(st):
                os.replace(self.path, self.path.with_suffix(".1" + self.path.suffix))   # under the lock
                os.close(fd)
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data          # a line torn by a crash is ended, not joined to ours
            os.write(fd, data)
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def _is_current(self, st) -> bool:
        """Is the open file still the one at ``path`` (not rotated meanwhile by another process)?"""
        try:
            cur = os.stat(self.path)
        except OSError:
            return False
        return (cur.st_ino, cur.st_dev) == (st.st_ino, st.st_dev)

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

    def count(self, action: str, since: datetime) -> int:
        """How many ``action`` entries were recorded since ``since`` (this file only)."""
        stamp = since.isoformat(timespec="seconds")
        return sum(1 for e in self.entries() if e.get("action") == action and str(e.get("time", "")) >= stamp)

