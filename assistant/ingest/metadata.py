"""Document metadata (organisation, title, type, date) from the best source available.

Precedence, field by field (the first source that gives a usable value wins):

1. the sidecar ``<file stem>.meta.json`` next to the document;
2. the corpus catalogue ``katalog.csv`` in the corpus folder (one line per file);
3. the folder: ``<corpus>/<Organisation>/<file>`` names the organisation, when the
   folder name is recognisably one ("Solbjerg Kommune", "Region Søhøjland", "KL");
4. the file's own metadata: HTML ``<title>``/``og:site_name``/``author``/``dcterms``,
   PDF document info and XMP, DOCX core properties; template junk ("Skabelon",
   "Microsoft Word - …", "Untitled", "Dokument1") is rejected;
5. the text: the first title-like line, organisations named in it (see ingest/organisations.py), and
   adoption or update phrases for the date.

An organisation is never made up: when no source names one it is ``UNKNOWN`` and
``assistant index`` lists the document with the line that would fix it.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest import organisations as orgs
from assistant.limits import ENV, limits

SIDECAR_SUFFIX = ".meta.json"
CATALOGUE = "katalog.csv"
FIELDS = ("title", "organisation", "doc_type", "date", "visibility")
CATALOGUE_COLUMNS = ("file", "organisation", "title", "type", "date", "url", "visibility")
# Who may read a document: everyone, or logged-in staff only (README, "Accounts and the administration page").
PUBLIC, INTERNAL = "offentlig", "intern"
VISIBILITIES = (PUBLIC, INTERNAL)
MAX_FIELD_CHARS = 300

DOC_TYPES = [  # (type, words in the title or text that reveal it), most specific first
    ("adfærdskodeks", ("adfærdskodeks", "kodeks for god adfærd", "etisk kodeks")),
    ("samarbejdskodeks", ("samarbejdskodeks",)),
    ("personalehåndbog", ("personalehåndbog",)),
    ("ledelsespolitik", ("ledelsespolitik", "ledelsesgrundlag")),
    ("personalepolitik", ("personalepolitik",)),
    ("værdigrundlag", ("værdigrundlag", "værdier", "værdierne", "kerneværdier")),
    ("vejledning", ("vejledning",)),
    ("retningslinje", ("retningslinje", "retningslinjer", "regler for", "gaveregler")),
    ("politik", ("politik",)),
    ("kodeks", ("kodeks",)),
]
_JUNK_VALUE = re.compile(r"^(\(.*\)|microsoft (word|powerpoint) - .*|skabelon.*|template.*|untitled.*|unavngivet.*|"
                         r"dokument ?\d*|document ?\d*|ny(t)? dokument.*|titel|title|bruger|user|admin(istrator)?|"
                         r"normal|.*\.(docx?|pdf|dotx?|odt)|[\w.-]{0,6}|[a-z]{1,4}\d+)$", re.I)
_MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
           "oktober", "november", "december"]
MONTH_RE = "|".join(_MONTHS)         # also the chunker's dated-line test
_DATE_VALUE = (rf"(?:den\s+)?(?:d\.\s*)?(\d{{1,2}}\.\s*(?:{MONTH_RE})\s+\d{{4}}|(?:{MONTH_RE})\s+\d{{4}}|"
               rf"\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})")
_DATE_PHRASES = [  # (priority, pattern) - update beats adoption beats entry into force
    (3, re.compile(rf"(?:sidst\s+)?(?:opdateret|revideret|senest\s+ændret|ændret)\b[^\n.]{{0,60}}?{_DATE_VALUE}", re.I)),
    (2, re.compile(rf"(?:vedtaget|vedtog|godkendt|godkendte|besluttet|behandlet|tiltrådt|fastsat|underskrevet)\b[^\n]{{0,80}}?{_DATE_VALUE}", re.I)),
    (1, re.compile(rf"(?:træder i kraft|gælder fra|gældende fra|ikrafttræden)\b[^\n.]{{0,30}}?{_DATE_VALUE}", re.I)),
]
_PERIOD = re.compile(r"\b((?:19|20)\d{2})\s*[-–]\s*((?:19|20)\d{2})\b")
_YEAR_PHRASE = re.compile(r"(?:vedtaget|vedtog|godkendt|tiltrådt|fastsat|opdateret|revideret)\b[^\n.]{0,40}?\b((?:19|20)\d{2})\b", re.I)


class MetadataError(ValueError):
    """A sidecar or catalogue that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class Meta:
    title: str
    organisation: str
    doc_type: str
    date: str | None               # ISO 8601: 2019-03-12, 2018-08, 2019, or a period 2018/2021
    date_phrase: str | None = None  # the words the date was read from
    sources: tuple[tuple[str, str], ...] = ()   # (field, where it came from)
    aliases: tuple[str, ...] = ()   # organisation abbreviations the text defines ("KFR")
    visibility: str = PUBLIC        # offentlig | intern

    def source(self, field: str) -> str:
        return dict(self.sources).get(field, "")

    def unknown(self) -> list[str]:
        out = []
        if self.organisation == orgs.UNKNOWN:
            out.append("organisation")
        if self.source("title") in ("", "file name"):
            out.append("title")
        if not self.date:
            out.append("date")
        return out


# ------------------------------------------------------------------ explicit sources

def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def _valid(value, field: str, where: str) -> str:
    if not isinstance(value, str):
        raise MetadataError(f"{where}: field '{field}' must be text, not {type(value).__name__}")
    value = " ".join(value.split())
    if len(value) > MAX_FIELD_CHARS:
        raise MetadataError(f"{where}: field '{field}' is longer than {MAX_FIELD_CHARS} characters")
    return value


def check_visibility(value: str, where: str) -> str:
    v = value.strip().lower()
    if v not in VISIBILITIES:
        raise MetadataError(f"{where}: visibility must be one of {list(VISIBILITIES)}, not {value!r}")
    return v


def read_sidecar(path: Path, corpus: Path | None = None) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    if corpus is not None and side.is_symlink() and not side.resolve().is_relative_to(Path(corpus).resolve()):
        raise MetadataError(f"sidecar {side.name} is a symlink out of the corpus folder")
    try:
        too_large = side.stat().st_size > limits().text_bytes
    except OSError as exc:
        raise MetadataError(f"sidecar {side.name} cannot be read: {exc.strerror}") from exc
    if too_large:
        raise MetadataError(f"sidecar {side.name} is larger than {limits().text_bytes // 2**20} MB "
                            f"({ENV['text_bytes']})")
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MetadataError(f"sidecar {side.name} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MetadataError(f"sidecar {side.name} is nested too deeply to be metadata") from exc
    if not isinstance(data, dict):
        raise MetadataError(f"sidecar {side.name} must be a JSON object like "
                            '{"organisation": "...", "title": "..."}')
    data = {("doc_type" if k == "type" else k): v for k, v in data.items()}
    unknown = set(data) - set(FIELDS) - {"url"}
    if unknown:
        raise MetadataError(f"sidecar {side.name} has unknown fields {sorted(unknown)}; valid: {list(FIELDS)}")
    out = {k: _valid(v, k, f"sidecar {side.name}") for k, v in data.items() if v not in (None, "")}
    if "visibility" in out:
        out["visibility"] = check_visibility(out["visibility"], f"sidecar {side.name}")
    return out


def read_catalogue(corpus: Path) -> dict[str, dict]:
    """``katalog.csv`` in the corpus folder: relative file path -> its fields (empty cells ignored).

    Columns: file, organisation, title, type, date, url, visibility (header required; comma or
    semicolon separated; any subset including ``file``).
    """
    path = Path(corpus) / CATALOGUE
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ","))
    if not rows:
        return {}
    header = [h.strip().lower() for h in rows[0]]
    bad = [h for h in header if h not in CATALOGUE_COLUMNS]
    if "file" not in header or bad:
        col = header.index(bad[0]) + 1 if bad else 1
        raise MetadataError(f"{CATALOGUE} line 1, column {col}: header must name columns from "
                            f"{list(CATALOGUE_COLUMNS)} including 'file' (got {rows[0]})")
    out: dict[str, dict] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise MetadataError(f"{CATALOGUE} line {n}: {len(row)} columns, the header has {len(header)}")
        fields = dict(zip(header, (c.strip() for c in row)))
        file = fields.pop("file").replace("\\", "/")
        if not file:
            raise MetadataError(f"{CATALOGUE} line {n}, column {header.index('file') + 1}: empty file name")
        if file in out:
            raise MetadataError(f"{CATALOGUE} line {n}: {file} is listed twice")
        if fields.get("date") and not normalise_date(fields["date"]):
            raise MetadataError(f"{CATALOGUE} line {n}, column {header.index('date') + 1}: "
                                f"date {fields['date']!r} is not a date (write 2021-03-14, 2021-03 or 2021)")
        if fields.get("visibility"):
            fields["visibility"] = check_visibility(
                fields["visibility"], f"{CATALOGUE} line {n}, column {header.index('visibility') + 1}")
        vals = {}
        for k, v in fields.items():
            if v:
                key = "doc_type" if k == "type" else k
                vals[key] = _valid(v, k, f"{CATALOGUE} line {n}")
        out[file] = vals
    return out


def catalogue_line(rel: str, meta: Meta) -> str:
    """The katalog.csv line that would record this document's metadata (unknown fields to fill in)."""
    def cell(v):
        return f'"{v}"' if any(c in v for c in ',;"') else v
    org = "" if meta.organisation == orgs.UNKNOWN else meta.organisation
    return ",".join(cell(v or "") for v in (rel, org or "<organisation>", meta.title, meta.doc_type,
                                             meta.date or "<yyyy-mm-dd>", ""))


# ------------------------------------------------------------------ the file's own metadata

def usable(value: str | None) -> str | None:
    """A metadata value, or None when it is a template or tool default."""
    if not value:
        return None
    value = " ".join(str(value).split())
    if not value or _JUNK_VALUE.match(value):
        return None
    return value


def title_from_props(props: dict, organisation: str | None) -> str | None:
    for key in ("dcterms.title", "og:title", "title"):
        value = usable(props.get(key))
        if not value:
            continue
        site = {s for s in (props.get("og:site_name"), organisation) if s}
        parts = [p.strip() for p in re.split(r"\s+[|–—-]\s+", value) if p.strip()]
        if len(parts) > 1:
            parts = [p for p in parts if orgs.fold(p) not in {orgs.fold(s) for s in site}
                     and not _names_only_organisation(p)]
        if parts:
            return parts[0]
    return None


def _agreeing_props_title(props_title: str | None, visible: str | None, text: str) -> str | None:
    """The file's own title, unless the visible title says more: a stale template title
    ("Alkoholpolitik" on "Politik for alkohol og rusmidler") or a shortened one ("Personalehåndbog"
    for "Personalehåndbog for Fjordby Havn A/S") loses to what the reader sees."""
    if not props_title or not visible:
        return props_title
    p, v = orgs.fold(props_title), orgs.fold(visible)
    if p == v:
        return props_title
    if v.startswith(p) or p not in orgs.fold(text[:3000]):
        return None
    return props_title


def _names_only_organisation(line: str) -> bool:
    """True for "Solbjerg Kommune", "Byrådet i Solbjerg", "Region Søhøjland": no words besides the name."""
    if not orgs.find_organisations(line):
        return False
    rest = orgs.strip_organisations(line)
    return not re.search(r"[^\W\d_]{3,}", rest)


def organisation_from_props(props: dict) -> str | None:
    for key in ("og:site_name", "dcterms.publisher", "dcterms.creator", "publisher", "author", "company"):
        found = orgs.recognise(usable(props.get(key)) or "")
        if found:
            return found
    return None


# ------------------------------------------------------------------ the text

def normalise_date(phrase: str) -> str | None:
    s = phrase.strip().lower()
    m = re.search(rf"(\d{{1,2}})\.\s*({MONTH_RE})\s+(\d{{4}})", s)
    if m:
        return f"{m.group(3)}-{_MONTHS.index(m.group(2)) + 1:02d}-{int(m.group(1)):02d}"
    m = re.search(rf"({MONTH_RE})\s+(\d{{4}})", s)
    if m:
        return f"{m.group(2)}-{_MONTHS.index(m.group(1)) + 1:02d}"
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", s)
    if m:
        return m.group(0)
    m = re.search(r"\b(\d{4})-(\d{2})\b", s)
    if m and 1 <= int(m.group(2)) <= 12:
        return m.group(0)
    m = re.search(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4})\b", s)
    if m and 1 <= int(m.group(2)) <= 12 and 1 <= int(m.group(1)) <= 31:
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    m = _PERIOD.search(s)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    m = re.fullmatch(r"\s*((?:19|20)\d{2})\s*", s)
    if m:
        return m.group(1)
    return None


def date_from_text(text: str, title: str = "") -> tuple[str | None, str | None]:
    """(ISO date, phrase) of the latest update/adoption phrase in the text; a period in the title."""
    best = None
    for priority, pattern in _DATE_PHRASES:
        for m in pattern.finditer(text):
            iso = normalise_date(m.group(1))
            if iso:
                key = (priority >= 2, iso, priority)
                if best is None or key > best[0]:
                    best = (key, iso, m.group(0).strip())
    if best:
        return best[1], best[2]
    m = _YEAR_PHRASE.search(text[:4000])
    if m:
        return m.group(1), m.group(0).strip()
    m = _PERIOD.search(title) or _PERIOD.search(text[:3000])
    if m:
        return f"{m.group(1)}/{m.group(2)}", m.group(0)
    return None, None


_CONTINUES = re.compile(r"\b(i|for|og|af|om|til|med|på|mod|ved|fra|under|samt|de|den|det|en|et)$", re.I)
def _continues(line: str, nxt: str) -> bool:
    """The next line carries on a wrapped title (cover pages): the line ends in a function word, the next
    starts in lower case or with a dash, or the two together name an organisation that neither does alone."""
    nxt = nxt.strip()
    if not nxt or line.endswith((".", ":", "!", "?")) or len(nxt) > 80 or normalise_date(nxt):
        return False
    if _CONTINUES.search(line) or nxt[0].islower() or nxt[0] in "-–":
        return True
    joined = orgs.find_organisations(f"{line} {nxt}")
    return len(nxt.split()) <= 2 and bool(set(joined) - set(orgs.find_organisations(line))
                                          - set(orgs.find_organisations(nxt)))


_LABEL_LINE = re.compile(r"^(indhold|indholdsfortegnelse|forside|side \d+|titel|kontakt|menu|resumé|sammenfatning)$", re.I)


def title_from_text(text: str) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:15]
    for line in lines:
        m = re.match(r"^•?\s*titel\s*:\s*(.+)$", line, re.I)
        if m:
            return m.group(1).strip()
    for raw in lines[:6]:
        line = raw.lstrip("#").strip()
        if not (3 <= len(line) <= 120) or line.endswith((".", ":", ",")) or _LABEL_LINE.match(line):
            continue
        if normalise_date(line) and len(line) < 40:
            continue
        letters = [c for c in line if c.isalpha()]
        if len(letters) < 3:
            continue
        if _names_only_organisation(line):
            continue                       # a line that only names the organisation (cover pages)
        if all(c.isupper() for c in letters):
            line = _sentence_case(line)
        at = lines.index(raw) if raw in lines else -1
        while at >= 0 and at + 1 < len(lines) and len(line) < 120 and _continues(line, lines[at + 1]):
            at += 1
            line = f"{line} {lines[at].lstrip('#').strip()}"       # a title wrapped onto the next line
        return line
    return None


def _sentence_case(line: str) -> str:
    out = line.capitalize()
    for name in orgs.find_organisations(line):
        first = name.split()[0]
        out = re.sub(rf"\b{re.escape(first.lower())}", first, out)
    return out


def doc_type_from(title: str, text: str) -> str:
    for haystack in (title.lower(), text[:1500].lower()):
        for name, words in DOC_TYPES:
            if any(w in haystack for w in words):
                return name
    return "dokument"


def organisation_from_text(text: str, furniture: str = "") -> str | None:
    """The organisation the text is from: named in running headers, the opening, and most often overall."""
    head = orgs.find_organisations(furniture + "\n" + text[:1500])
    body = orgs.find_organisations(text[:20000])
    if not head and not body:
        return None
    score = {o: 3 * head.get(o, 0) + body.get(o, 0) for o in set(head) | set(body)}
    return max(sorted(score), key=lambda o: score[o])


# ------------------------------------------------------------------ all together

def folder_organisation(rel: Path) -> str | None:
    if len(rel.parts) < 2:
        return None
    return orgs.recognise(rel.parts[0])


def resolve(text: str, rel: Path, *, sidecar: dict, catalogue: dict, props: dict, furniture: str = "") -> Meta:
    """Metadata for one document from every source, best first (module docstring)."""
    sources: list[tuple[str, str]] = []
    chosen: dict[str, str | None] = {}

    def pick(field: str, *candidates: tuple[str, str | None]):
        for where, value in candidates:
            if value:
                chosen[field] = value
                sources.append((field, where))
                return
        chosen[field] = None

    text_org = organisation_from_text(text, furniture)
    pick("organisation",
         ("sidecar", sidecar.get("organisation")), ("catalogue", catalogue.get("organisation")),
         ("folder", folder_organisation(rel)), ("file metadata", organisation_from_props(props)),
         ("text", text_org))
    organisation = orgs.canonical(chosen["organisation"]) if chosen["organisation"] else None
    visible = title_from_text(text)
    pick("title",
         ("sidecar", sidecar.get("title")), ("catalogue", catalogue.get("title")),
         ("file metadata", _agreeing_props_title(title_from_props(props, organisation), visible, text)),
         ("text", visible))
    title = chosen["title"] or rel.stem.replace("-", " ").replace("_", " ").capitalize()
    if not chosen["title"]:
        sources.append(("title", "file name"))
    pick("doc_type", ("sidecar", sidecar.get("doc_type")), ("catalogue", catalogue.get("doc_type")),
         ("text", doc_type_from(title, text)))
    explicit = sidecar.get("date") or catalogue.get("date")
    if explicit:
        date, phrase = normalise_date(explicit) or explicit, explicit
        sources.append(("date", "sidecar" if sidecar.get("date") else "catalogue"))
    else:
        date, phrase = date_from_text(text, title)
        if not date and props.get("dcterms.modified"):
            date, phrase = normalise_date(props["dcterms.modified"]), props["dcterms.modified"]
        if date:
            sources.append(("date", "text"))
    aliases = orgs.abbreviations(text, organisation) if organisation else ()
    pick("visibility", ("sidecar", sidecar.get("visibility")), ("catalogue", catalogue.get("visibility")))
    return Meta(title=title, organisation=organisation or orgs.UNKNOWN, doc_type=chosen["doc_type"] or "dokument",
                date=date, date_phrase=phrase, sources=tuple(sources), aliases=aliases,
                visibility=chosen["visibility"] or PUBLIC)
