""""Genopbyg indekset" from the administration page: the incremental build in a background thread.

The chat keeps answering from the serving version while the build runs (it writes a new
version beside it); the switch is the same atomic rename as ``assistant index``. With an
eval gate the new version is built without switching, measured against the serving one,
and switched only when it passes; otherwise it waits for an admin ("Skift alligevel") or
is discarded. A failed build records its reason and changes nothing.
"""
from __future__ import annotations

import shutil
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.language.danish import Analyzer
from assistant.state.audit import AuditLog
from assistant.store.build import build_index, switch_version
from assistant.store.index import Index, IndexDamaged, resolve_current

ORDER = ("read", "embed", "write", "gate")
STAGES = {"read": "Læser dokumenterne", "embed": "Beregner vektorer", "write": "Skriver den nye version",
          "gate": "Måler den nye version på guldsættet"}


@dataclass
class BuildState:
    status: str = "idle"            # idle | running | done | failed | blocked
    stage: str = ""
    percent: int = 0
    message: str = ""               # Danish, for the page
    started_by: str = ""
    started: float = 0.0
    finished: float = 0.0
    version: str = ""               # the version built
    summary: dict = field(default_factory=dict)
    gate: dict | None = None        # Verdict.to_json() when a gate measured the build

    def to_json(self) -> dict:
        return asdict(self)


class Rebuilder:
    def __init__(self, assistant, corpus: Path, audit: AuditLog, gate=None):
        self.assistant, self.corpus, self.audit, self.gate = assistant, Path(corpus), audit, gate
        self._state = BuildState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> Path:
        return Path(self.assistant.index_dir)

    def state(self) -> BuildState:
        with self._lock:
            return BuildState(**asdict(self._state))

    def _set(self, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self._state, k, v)

    def start(self, user: str) -> bool:
        """Start a build; False when one is already running."""
        with self._lock:
            if self._state.status == "running":
                return False
            self._state = BuildState(status="running", stage="read", message=STAGES["read"],
                                     started_by=user, started=time.time())
            self._thread = threading.Thread(target=self._run, args=(user,), name="rebuild", daemon=True)
        self.audit.record(user, "rebuild_start")
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> BuildState:
        t = self._thread
        if t is not None:
            t.join(timeout)
        return self.state()

    # weights of the stages in the progress bar
    def _weights(self) -> dict:
        return ({"read": 20, "embed": 40, "write": 5, "gate": 35} if self.gate
                else {"read": 30, "embed": 60, "write": 10, "gate": 0})

    def _progress(self, stage: str, done: int, total: int) -> None:
        w = self._weights()
        before = sum(w[s] for s in ORDER[:ORDER.index(stage)])
        pct = before + (w[stage] * done / total if total else 0)
        self._set(stage=stage, message=STAGES[stage], percent=min(99, int(pct)))

    def _run(self, user: str) -> None:
        a = self.assistant
        try:
            summary = build_index(self.corpus, self.root, a.embedder, a.settings, Analyzer(), progress=False,
                                  switch=self.gate is None, on_progress=self._progress)
            info = {"added": summary.added, "changed": summary.changed, "removed": summary.removed,
                    "skipped": [{"path": s.path, "reason": s.reason} for s in summary.skipped],
                    "chunks": summary.chunks, "embedded": summary.embedded, "seconds": round(summary.seconds, 1)}
            self._set(version=summary.version, summary=info)
            if self.gate is None:
                return self._finish(user, summary.version, info)
            try:
                current = resolve_current(self.root)
            except IndexDamaged:                                # nothing sound to compare with
                current = None
            if current is None or not (summary.added or summary.changed or summary.removed):
                switch_version(self.root, summary.version)      # nothing to compare with, or nothing changed
                return self._finish(user, summary.version, info)
            verdict = self._judge(current, summary.version)
            self._set(gate=verdict.to_json())
            if verdict.passed:
                switch_version(self.root, summary.version)
                return self._finish(user, summary.version, info)
            self.audit.record(user, "rebuild_blocked", version=summary.version, gate=verdict.to_json())
            self._set(status="blocked", percent=100, finished=time.time(),
                      message="Den nye version svarer dårligere på guldsættet og er ikke taget i brug. "
                              "Det nuværende indeks svarer stadig.")
        except Exception as exc:   # noqa: BLE001 - any failure is shown on the page; the index is unchanged
            reason = str(exc) or type(exc).__name__
            traceback.print_exc()
            self.audit.record(user, "rebuild_failed", reason=reason)
            self._set(status="failed", finished=time.time(),
                      message=f"Genopbygningen mislykkedes: {reason}. Indekset er uændret.")

    def _judge(self, current: Path, version: str):
        a = self.assistant
        new = Index.load_version(self.root / version, a.embedder.model_id, a.settings)
        old = a.index if a.index.path == current else Index.load_version(current, a.embedder.model_id, a.settings)
        n = max(1, 2 * len(self.gate.gold()))
        done = [0]

        def tick():
            done[0] += 1
            self._progress("gate", min(done[0], n), n)

        return self.gate.judge(a, old, new, tick)

    def _finish(self, user: str, version: str, info: dict) -> None:
        self.audit.record(user, "rebuild_done", version=version, added=info["added"], changed=info["changed"],
                          removed=info["removed"], skipped=[s["path"] for s in info["skipped"]])
        self._set(status="done", percent=100, finished=time.time(), stage="",
                  message=f"Færdig: indekset er genopbygget og i brug (version {version}).")

    def switch_anyway(self, user: str) -> bool:
        """The admin's override: switch to the blocked version."""
        st = self.state()
        if st.status != "blocked" or not st.version:
            return False
        switch_version(self.root, st.version)
        self.audit.record(user, "switch_anyway", version=st.version, gate=st.gate)
        self._set(status="done", message=f"Skiftet til den nye version {st.version} trods målingen.")
        return True

    def discard(self, user: str) -> bool:
        st = self.state()
        if st.status != "blocked" or not st.version:
            return False
        try:
            current = resolve_current(self.root)
        except IndexDamaged:
            current = None
        if current is None or current.name != st.version:
            shutil.rmtree(self.root / st.version, ignore_errors=True)
        self.audit.record(user, "discard", version=st.version)
        self._set(status="idle", message="Den nye version er kasseret; det nuværende indeks bruges fortsat.",
                  version="", gate=None)
        return True
