"""Ingestion accuracy against a fixture: organisation, title and date per document, and page furniture left in chunks.

Fixture (``expected.jsonl``), one document a line::

    {"id": "<file stem>", "file": "<path under the corpus>", "organisation": "<canonical or ''>",
     "title": "...", "date": "<ISO or ''>", "chrome": ["strings that must not appear in any chunk", ...]}

An organisation is *right* when it equals the expected one (an expected "" means nothing names it, so
"unknown" is right); *unknown* when the assistant recorded none although one was expected; *wrong* when it
recorded a different one (worse than unknown: it cites somebody who did not write it).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.ingest.chunk import chunk_document
from assistant.ingest.corpus import load_corpus
from assistant.ingest.organisations import UNKNOWN


def _norm(text: str | None) -> str:
    return re.sub(r"[\W_]+", " ", (text or "").casefold()).strip()


def evaluate_ingest(corpus: Path, expected_path: Path, chunk_chars: int = 900) -> dict:
    expected = [json.loads(line) for line in Path(expected_path).read_text(encoding="utf-8").splitlines() if line.strip()]
    loaded, skipped = load_corpus(Path(corpus))
    docs = {d.id: d for d, _ in loaded}
    rows = []
    for e in expected:
        d = docs.get(e["id"])
        row = {"id": e["id"], "format": e.get("format", Path(e.get("file", "")).suffix.lstrip(".")),
               "loaded": d is not None}
        if d is None:
            rows.append(row)
            continue
        got_org = "" if d.organisation == UNKNOWN else d.organisation
        want_org = e.get("organisation") or ""
        row["organisation"] = ("right" if got_org == want_org else "unknown" if not got_org else "wrong")
        row["organisation_got"], row["organisation_want"] = got_org, want_org
        row["title"] = _norm(d.title) == _norm(e.get("title"))
        row["title_got"], row["title_want"] = d.title, e.get("title")
        if e.get("date"):
            row["date"] = (d.date or "") == e["date"]
            row["date_got"], row["date_want"] = d.date, e["date"]
        texts = [c.text for c in chunk_document(d, chunk_chars)]
        row["chrome_left"] = sorted({s for s in e.get("chrome", []) if any(s in t for t in texts)})
        rows.append(row)
    n = len(rows)
    loaded_rows = [r for r in rows if r["loaded"]]
    dated = [r for r in loaded_rows if "date" in r]
    summary = {
        "documents": n,
        "loaded": len(loaded_rows),
        "organisation_right": sum(r.get("organisation") == "right" for r in rows) / n if n else 0.0,
        "organisation_unknown": sum(r.get("organisation") == "unknown" for r in rows),
        "organisation_wrong": sum(r.get("organisation") == "wrong" for r in rows),
        "title_right": sum(bool(r.get("title")) for r in rows) / n if n else 0.0,
        "date_right": sum(bool(r["date"]) for r in dated) / len(dated) if dated else 0.0,
        "dated_documents": len(dated),
        "documents_with_chrome_left": sum(bool(r.get("chrome_left")) for r in loaded_rows),
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
    }
    return {"summary": summary, "rows": rows}


def format_ingest(result: dict) -> str:
    s = result["summary"]
    lines = [
        "| metric | value |", "|---|---|",
        f"| documents (loaded) | {s['documents']} ({s['loaded']}) |",
        f"| organisation right | {s['organisation_right']:.3f} |",
        f"| organisation unknown | {s['organisation_unknown']} |",
        f"| organisation wrong (invented or misattributed) | {s['organisation_wrong']} |",
        f"| title right | {s['title_right']:.3f} |",
        f"| date right (of {s['dated_documents']} with a stated date) | {s['date_right']:.3f} |",
        f"| documents with page furniture left in a chunk | {s['documents_with_chrome_left']} |",
    ]
    misses = []
    for r in result["rows"]:
        if not r["loaded"]:
            misses.append(f"- {r['id']}: not loaded")
            continue
        if r["organisation"] != "right":
            misses.append(f"- {r['id']}: organisation {r['organisation']}: {r['organisation_got']!r} "
                          f"(expected {r['organisation_want']!r})")
        if not r["title"]:
            misses.append(f"- {r['id']}: title {r['title_got']!r} (expected {r['title_want']!r})")
        if r.get("date") is False:
            misses.append(f"- {r['id']}: date {r['date_got']!r} (expected {r['date_want']!r})")
        if r["chrome_left"]:
            misses.append(f"- {r['id']}: chrome left: {r['chrome_left']}")
    if misses:
        lines += ["", "Misses:"] + misses
    return "\n".join(lines)
