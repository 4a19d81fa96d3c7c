"""Check the development corpus sources and gold lines before rendering.

Run: python evals/devcorpus/check_src.py [gold/<group>.jsonl ...]
Checks front matter fields, that date_phrase occurs in the body, and that every
gold text occurs verbatim (whitespace collapsed, case-insensitive) inside one
paragraph, list item, heading or table cell of its document's body.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
FORMATS = {"pdf-office", "pdf-report", "docx", "html", "txt"}
KINDS = {"number", "date", "who", "rule", "list", "explain", "compare"}
STYLES = {"plain", "colloquial", "misspelled", "english"}
ORGS = {"Solbjerg Kommune", "Havnsø Kommune", "Solbjerg Forsyning A/S", "Egeskov Kommune", "Vesterå Kommune",
        "Region Søhøjland", "Lindholt Kommune", "Nørreby Kommune", "Fjordby Kommune", "Kommunernes Fællesråd",
        "Forvaltningsstyrelsen", "Fjordby Havn A/S"}
REQUIRED = ("id", "file", "format", "organisation", "title", "doc_type", "date", "date_phrase", "org_in_text")


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def read_source(path: Path) -> tuple[dict, str]:
    raw = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", raw, re.S)
    if not m:
        raise ValueError(f"{path.name}: no front matter block")
    return yaml.safe_load(m.group(1)), m.group(2)


def units(body: str) -> list[str]:
    """Paragraphs, list items, headings and table cells with their Markdown markers removed."""
    out, para = [], []
    for line in body.splitlines() + [""]:
        s = line.strip()
        block = (not s or s.startswith("#") or s.startswith("- ") or re.match(r"^\d+\.\s", s)
                 or s.startswith("|"))
        if block and para:
            out.append(" ".join(para))
            para = []
        if not s:
            continue
        if s.startswith("#"):
            out.append(s.lstrip("#").strip())
        elif s.startswith("- "):
            out.append(s[2:])
        elif re.match(r"^\d+\.\s", s):
            out.append(re.sub(r"^\d+\.\s+", "", s))
        elif s.startswith("|"):
            if not re.match(r"^\|[\s\-:|]+\|$", s):
                out += [c.strip() for c in s.strip("|").split("|")]
        else:
            para.append(s)
    return [collapse(u) for u in out if u.strip()]


def main(argv: list[str]) -> int:
    problems, docs = [], {}
    for path in sorted((HERE / "src").glob("*.md")):
        try:
            meta, body = read_source(path)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{path.name}: {exc}")
            continue
        missing = [k for k in REQUIRED if k not in meta]
        if missing:
            problems.append(f"{path.name}: missing fields {missing}")
            continue
        if meta["id"] != path.stem or Path(meta["file"]).stem != meta["id"]:
            problems.append(f"{path.name}: id, source name and output file stem must agree ({meta['id']}, {meta['file']})")
        if meta["format"] not in FORMATS:
            problems.append(f"{path.name}: format {meta['format']!r} not in {sorted(FORMATS)}")
        if meta["organisation"] and meta["organisation"] not in ORGS:
            problems.append(f"{path.name}: organisation {meta['organisation']!r} is not a canonical name")
        if meta["date_phrase"] and collapse(meta["date_phrase"]) not in collapse(body):
            problems.append(f"{path.name}: date_phrase not in body")
        words = len(re.findall(r"\w+", body))
        if not 400 <= words <= 3000:
            problems.append(f"{path.name}: {words} words (want 500-2500)")
        docs[meta["id"]] = (meta, units(body))
    gold_files = [Path(a) for a in argv] or sorted((HERE / "gold").glob("*.jsonl"))
    ids = set()
    for gf in gold_files:
        for n, line in enumerate(gf.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{gf.name}:{n}"
            try:
                g = json.loads(line)
            except ValueError as exc:
                problems.append(f"{where}: not JSON ({exc})")
                continue
            if g.get("id") in ids:
                problems.append(f"{where}: duplicate id {g.get('id')}")
            ids.add(g.get("id"))
            if g.get("kind") not in KINDS:
                problems.append(f"{where}: kind {g.get('kind')!r}")
            if g.get("style") not in STYLES:
                problems.append(f"{where}: style {g.get('style')!r}")
            for o in g.get("organisations", []):
                if o not in ORGS:
                    problems.append(f"{where}: organisation {o!r} not canonical")
            named = set(g.get("organisations", []))
            for r in g.get("relevant", []):
                doc = docs.get(r["document"])
                if doc is None:
                    problems.append(f"{where}: unknown document {r['document']}")
                    continue
                t = collapse(r["text"])
                if not any(t in u for u in doc[1]):
                    problems.append(f"{where}: text not inside one unit of {r['document']}: {r['text']!r}")
                if named and doc[0]["organisation"] not in named:
                    problems.append(f"{where}: names {sorted(named)} but lists a passage of {doc[0]['organisation']!r}")
    for p in problems:
        print(p)
    print(f"{len(docs)} documents, {len(ids)} questions, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
