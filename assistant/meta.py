"""Document metadata: title, organisation, type and date, read from the text.

An optional sidecar ``<stem>.meta.json`` next to the document overrides any
field, e.g. ``{"organisation": "Aarhus Byråd", "date": "2018-2021"}``.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

SIDECAR_SUFFIX = ".meta.json"
FIELDS = ("title", "organisation", "doc_type", "date")

# (type, words that reveal it), most specific first
DOC_TYPES = [
    ("adfærdskodeks", ("adfærdskodeks",)),
    ("samarbejdskodeks", ("samarbejdskodeks",)),
    ("ledelsespolitik", ("ledelsespolitik",)),
    ("personalepolitik", ("personalepolitik",)),
    ("værdigrundlag", ("værdigrundlag", "værdier", "værdierne")),
    ("politik", ("politik",)),
]
_MONTHS = ("januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december")
_DATE_PATTERNS = [
    re.compile(rf"(?:opdateret|revideret|senest ændret)\s*:?\s*(?:d\.\s*)?((?:\d{{1,2}}\.\s*)?(?:{_MONTHS})\s+\d{{4}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}})", re.I),
    re.compile(rf"vedtaget\b[^\n]{{0,80}}?((?:\d{{1,2}}\.\s*)?(?:{_MONTHS})\s+\d{{4}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\b\d{{4}}\b)", re.I),
]
_PERIOD = re.compile(r"\b((?:19|20)\d{2})\s*[-–]\s*((?:19|20)\d{2})\b")
_ORG = re.compile(r"\b([A-ZÆØÅ][a-zæøå]+|[A-ZÆØÅ]{3,})\s+(byråd|kommune)s?\b", re.I)


def extract_metadata(text: str, stem: str) -> dict:
    title = _title(text, stem)
    return {
        "title": title,
        "organisation": _organisation(text, title, stem),
        "doc_type": _doc_type(title, text, stem),
        "date": _date(text, title),
    }


def read_sidecar(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"sidecar {side.name} is not valid JSON: {exc}") from exc
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValueError(f"sidecar {side.name} has unknown fields {sorted(unknown)}; valid: {list(FIELDS)}")
    return data


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def _first_lines(text: str, n: int = 12) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()][:n]


def _title(text: str, stem: str) -> str:
    for line in _first_lines(text):
        m = re.match(r"^•?\s*titel\s*:\s*(.+)$", line, re.I)
        if m:
            return m.group(1).strip()
    for line in _first_lines(text, 3):
        line = line.lstrip("#").strip()
        if 2 <= len(line) <= 90 and not line.endswith("."):
            if line.isupper():
                line = line.capitalize()
                line = _ORG.sub(lambda m: m.group(1).capitalize() + " " + m.group(0)[len(m.group(1)):].strip().lower(), line)
            return line
    return stem.replace("-", " ").capitalize()


def _organisation(text: str, title: str, stem: str) -> str:
    towns = Counter()
    kinds = Counter()
    for m in _ORG.finditer(title + "\n" + text[:5000]):
        towns[m.group(1).capitalize()] += 1
        kinds[m.group(2).lower()] += 1
    stem_town = stem.split("-")[0].capitalize() if "-" in stem else ""
    if not towns and not stem_town:
        return "Ukendt organisation"
    town = towns.most_common(1)[0][0] if towns else stem_town
    if stem_town and stem_town in towns:
        town = stem_town
    council = re.search(r"byråd", title + " " + stem.replace("byraad", "byråd"), re.I)
    return f"{town} Byråd" if council else f"{town} Kommune"


def _doc_type(title: str, text: str, stem: str) -> str:
    for haystack in (title.lower(), stem.replace("ae", "æ").lower(), text[:2000].lower()):
        for name, words in DOC_TYPES:
            if any(w in haystack for w in words):
                return name
    return "dokument"


def _date(text: str, title: str) -> str | None:
    head = text[:3000]
    for pattern in _DATE_PATTERNS:
        m = pattern.search(head)
        if m:
            return m.group(1).strip()
    m = _PERIOD.search(title) or _PERIOD.search(head)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    return None
