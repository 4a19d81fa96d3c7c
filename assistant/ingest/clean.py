"""str -> str: website chrome removal, Unicode NFC, PDF de-hyphenation, bullets.

Real content is kept, including contact details (who to contact, phone
number), which end up in a section of their own headed "Kontakt".
"""
from __future__ import annotations

import re
import unicodedata

BULLET = "•"
_BULLET_RE = re.compile(r"^(\s*)([•·▪◦●○■□➢►\-\*–—])\s+(?=\S)")
_NUMBERED_RE = re.compile(r"^\s*\d{1,2}[.)]\s+\S")

# Boilerplate is recognised by evidence, by class, never by one document's phrases:
#  - page furniture: lines at the top or bottom of most pages of a PDF, page numbers;
#  - lines repeated across several documents of the corpus, outside their running text;
#  - classes of web-page chrome: skip links, cookie/consent text, breadcrumbs, lines made only of
#    interface words (share, print, download, menu, search, "til top"), CVR/EAN footers;
#  - table-of-contents lines (dot leaders and a page number) and their label.
_SKIP_LINK = re.compile(r"^(gå|spring|hop|skip|jump|videre)\s+(direkte\s+)?(til|to|over)\s+(sidens\s+|the\s+)?"
                        r"(hoved\s*)?(indhold|indholdet|content|main|navigation|menu)", re.I)
_UI_WORDS = set("""
del deling dele share print printvenlig udskriv udskrift download downloade hent gem save this pdf as til top toppen
tilbage back to facebook linkedin twitter x instagram youtube e-mail email mail send link kopier copy menu søg
search skip gå spring hop hovedindhold indhold content main tryk på enter luk close cookies cookie accepter accept
alle all kun nødvendige afvis reject læs mere read more om forside hjem home lyt oplæsning listen side siden page
sidens version udskriftsvenlig a- a+ tekststørrelse abonnér abonner rss følg follow og and eller or find
""".split())
# Widget labels that are only chrome outside the running text ("Ring til os", "Let digital adgang").
_EDGE_UI_WORDS = _UI_WORDS | set("""
kontakt ring skriv os åbningstider let digital adgang hurtig hurtige links oversigt tilgængelighed
tilgængelighedserklæring nyhedsbrev relaterede sider se også selvbetjening log ind login mitid
privatlivspolitik privatliv cookiepolitik cookieindstillinger persondatapolitik sitemap privacy accessibility
""".split())
_BREADCRUMB = re.compile(r"^((du er her|you are here)\s*:|(forside|hjem|home|start)\b.*(\s[>›»/|]\s|\s{2,}))", re.I)
# a breadcrumb whose separators the scrape lost: "Hjem Politik og indflydelse Byrådet ..."
_BARE_BREADCRUMB = re.compile(r"^(forside|hjem|home)\s+\S+\s+\S+", re.I)
# Navigation sections of a page ("Nyheder: ...", "Relaterede sider: ...") and copyright footers.
_NAV_LABEL = re.compile(r"^(nyheder|relaterede sider|relateret|se også|læs også|genveje|populære sider|"
                        r"related|news)\s*:|^(©|copyright\b)", re.I)
_CVR = re.compile(r"\b(cvr|ean|p)[- ]?(nummer|nr\.?)?:?\s*\d[\d ]{6,}", re.I)
_COOKIE = re.compile(r"\b(cookies?|samtykke|consent)\b", re.I)
# the tail of a consent banner cut mid-word by the scrape: "ter og læs mere om, hvordan vi behandler dine personoplysninger."
_CONSENT_TAIL = re.compile(r"\b(cookies?|samtykke|personoplysninger|privatlivs\w*|privacy)\b", re.I)
_LONE_NUMBER = re.compile(r"^\d{1,4}$")     # a page number, but only at the top or bottom of a page
_PAGE_LABEL = re.compile(r"^(side|page)\s*\d{1,4}(\s*(af|of|/)\s*\d{1,4})?$|^\d{1,4}\s*/\s*\d{1,4}$|^[-–—]\s*\d{1,4}\s*[-–—]$", re.I)
TOC_LINE = re.compile(r"(\.{4,}|(\s?\.\s?){4,}|…{2,}|_{4,})\s*\d{1,4}\s*$")
_SENTENCE = re.compile(r"[.!?:;]$")
# A footer starts at these lines; what follows is dropped when it is only short lines.
_FOOTER_START = {"har du set...", "har du set…", "har du set"}
_CONTACT_RE = re.compile(r"(\btlf\.?|\btelefon\b|@[\w-]+\.\w+|\b\d{2} \d{2} \d{2} \d{2}\b)", re.I)
# a street address: house number, then a four-digit postcode and a town ("Boulevarden 13, 9000 Aalborg")
_ADDRESS_RE = re.compile(r"\b\d{1,4}[A-Za-z]?,?\s+(DK-)?\d{4}\s+[A-ZÆØÅ]")
_CONTACT_REACH = 6          # lines after a kept "Kontakt" heading that belong to its block


def clean_text(text: str, *, dehyphenate: bool = False, boilerplate: frozenset[str] = frozenset()) -> str:
    """Normalise and strip chrome; ``boilerplate`` holds line keys repeated across the corpus (learn_boilerplate)."""
    text = normalise(text)
    if dehyphenate:
        text = join_hyphenated(text)
    lines = [ln.rstrip() for ln in text.split("\n")]
    lines = _drop_chrome(lines, boilerplate)
    if dehyphenate:
        lines = reflow(lines)
    lines = _normalise_bullets(lines)
    lines = _mark_contact_block(lines)
    out = "\n".join(lines)
    out = re.sub(r"[ ]{2,}", " ", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


# "alkohol- og narkotikapolitik": a hyphen that stands for a shared last part, not a line-end break
_SUSPENDED = r"(?!(og|eller|samt|til|and|or)\b)"


def join_hyphenated(text: str) -> str:
    """Words broken at a line end: "medarbej-\nderne" -> "medarbejderne" (lower case before and after);
    "CPR-\nnummer" -> "CPR-nummer" (an abbreviation or digit keeps its hyphen); "alkohol-\nog" stays."""
    text = re.sub(rf"([a-zæøå])-\n[ ]*{_SUSPENDED}(?=[a-zæøå])", r"\1", text)
    return re.sub(rf"([A-ZÆØÅ0-9])-\n[ ]*{_SUSPENDED}(?=[a-zæøå])", r"\1-", text)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = text.replace("\u00a0", " ").replace("\u00ad", "").replace("\ufeff", "")
    return "".join(c for c in text if c in "\n" or unicodedata.category(c) != "Cc")


def _key(line: str) -> str:
    """A line as written, lower case with spaces collapsed."""
    return re.sub(r"\s+", " ", line.strip()).lower()


def corpus_key(line: str) -> str:
    """A line as compared across documents, without heading or bullet marks (digits kept: phone numbers differ)."""
    return _key(line.strip().lstrip("#•-* "))


def line_key(line: str) -> str:
    """A line as compared across the pages of one document: digits as '#' ("Side 2 af 7" = "Side 3 af 7")."""
    return re.sub(r"\d+", "#", corpus_key(line))


def is_chrome(line: str, edge: bool = False) -> bool:
    """A line that belongs to the class of web-page or print chrome, whatever site it comes from;
    ``edge``: the line stands outside the running text, where widget labels are chrome too."""
    key = _key(line.strip().lstrip("#"))
    if not key:
        return False
    if _SKIP_LINK.match(key) or _CVR.search(key) and len(key) < 200 or _PAGE_LABEL.match(key):
        return True
    if _BREADCRUMB.match(key) and not _SENTENCE.search(key) and len(key.split()) >= 2:
        return True
    if edge and (_NAV_LABEL.match(key) and len(key) < 200
                 or _BARE_BREADCRUMB.match(key) and not _SENTENCE.search(key)):
        return True
    words = re.findall(r"[\wæøå+\-]+", key)
    vocabulary = _EDGE_UI_WORDS if edge else _UI_WORDS
    if words and len(words) <= 6 and not key.endswith((".", "?", "!")) and all(w in vocabulary for w in words):
        return True
    return False


def _next_line(lines: list[str], i: int) -> int | None:
    """Index of the next non-empty line within three lines of ``i``."""
    return next((j for j in range(i + 1, min(i + 4, len(lines))) if lines[j].strip()), None)


def _heads_own_block(lines: list[str], i: int, dropped) -> bool:
    """A label ("Kontakt") whose next line stays is a heading over content of its own: keep it."""
    j = _next_line(lines, i)
    return j is not None and _key(lines[j]) not in _FOOTER_START and not dropped(j)


def _consent_fragment(lines: list[str], i: int) -> bool:
    """The document's first line, cut mid-word by the scrape, from a consent banner."""
    line = lines[i]
    return (i == next((j for j, ln in enumerate(lines) if ln.strip()), -1) and line.strip()[:1].islower()
            and bool(_CONSENT_TAIL.search(line)) and len(line) < 300)


def _core(lines: list[str]) -> tuple[int, int]:
    """First and last line of the running text: lines that are sentences of eight words or more."""
    idx = [i for i, ln in enumerate(lines) if len(ln.split()) >= 8 and _SENTENCE.search(ln.strip())
           and not _COOKIE.search(ln)]
    return (idx[0], idx[-1]) if idx else (0, len(lines) - 1)


def _drop_chrome(lines: list[str], boilerplate: frozenset[str] = frozenset()) -> list[str]:
    first, last = _core(lines)
    n = len(lines)
    outside = lambda j: j < first or j > last                  # noqa: E731 - outside the running text
    repeated = lambda j: outside(j) and corpus_key(lines[j]) in boilerplate   # noqa: E731
    out: list[str] = []
    contact_at = None           # the last kept "Kontakt" heading: the block under it is content
    for i, line in enumerate(lines):
        key = _key(line)
        if key in _FOOTER_START:
            rest = [ln for ln in lines[i + 1:] if ln.strip()]
            if all(len(ln.strip()) <= 60 for ln in rest):
                break
            continue
        if not key:
            out.append(line)
            continue
        chrome = is_chrome(line, outside(i)) or _consent_fragment(lines, i)
        if chrome and outside(i) and len(key.split()) == 1 and not is_chrome(line) \
                and _heads_own_block(lines, i, lambda j: is_chrome(lines[j], outside(j))):
            chrome = False          # "Kontakt" over a contact block of its own is a heading, not a widget
        if repeated(i) and not (len(key.split()) <= 3 and not any(c.isdigit() for c in key)
                                and _heads_own_block(lines, i, repeated)):
            # contact details are content: a site's address repeated on every page stays in the
            # contact block it belongs to (the block's heading and phone number stay too)
            in_contact_block = contact_at is not None and i - contact_at <= _CONTACT_REACH
            chrome = chrome or not (in_contact_block and (_CONTACT_RE.search(line) or _ADDRESS_RE.search(line)))
        if chrome or TOC_LINE.search(key) or ((i < 25 or i > n - 25) and _COOKIE.search(key)
                                               and len(key) < 400 and not key.startswith("#")):
            continue
        if corpus_key(line) in ("indhold", "indholdsfortegnelse", "indholdsfortegnelse:", "indhold:", "contents") and \
                any(TOC_LINE.search(ln) for ln in lines[i + 1:i + 6]):
            continue      # the label of a table of contents
        if corpus_key(line) in ("kontakt", "kontakt os"):
            contact_at = i
        out.append(line)
    return out


def learn_boilerplate(texts: list[str], min_documents: int = 3) -> frozenset[str]:
    """Keys of short lines that stand outside the running text of at least ``min_documents`` documents:
    site navigation, footers and labels that every page of a site repeats."""
    counts: dict[str, int] = {}
    for text in texts:
        lines = normalise(text).split("\n")
        first, last = _core(lines)
        keys = {corpus_key(ln) for i, ln in enumerate(lines)
                if (i < first or i > last) and ln.strip() and len(ln.split()) <= 12}
        for k in keys:
            if k:
                counts[k] = counts.get(k, 0) + 1
    return frozenset(k for k, c in counts.items() if c >= min_documents)


def strip_page_furniture(pages: list[str]) -> tuple[list[str], list[str]]:
    """Remove running headers and footers: lines among the first or last three of at least half of the
    pages (digits ignored, so "Side 2 af 7" and "Side 3 af 7" are one line). Returns the pages and the
    removed lines (evidence for the organisation and title)."""
    if len(pages) < 2:
        return pages, []
    split = [normalise(p).split("\n") for p in pages]
    edge_counts: dict[str, int] = {}
    for lines in split:
        content = [ln for ln in lines if ln.strip()]
        for k in {line_key(ln) for ln in content[:3] + content[-3:]}:
            edge_counts[k] = edge_counts.get(k, 0) + 1
    need = max(2 if len(pages) < 4 else 3, (len(pages) + 1) // 2)
    furniture = {k for k, c in edge_counts.items() if c >= need and k}
    removed: list[str] = []
    out = []
    for lines in split:
        content_idx = [i for i, ln in enumerate(lines) if ln.strip()]
        edges = set(content_idx[:3] + content_idx[-3:])
        kept = []
        for i, ln in enumerate(lines):
            if i in edges and (line_key(ln) in furniture or _PAGE_LABEL.match(ln.strip())
                               or _LONE_NUMBER.match(ln.strip())):
                removed.append(ln.strip())
                continue
            kept.append(ln)
        out.append("\n".join(kept))
    return out, removed


MIN_REFLOW_LINES = 8


def reflow(lines: list[str], full: float = 0.7) -> list[str]:
    """Join the lines a PDF wrapped at the edge of its column back into one paragraph line.

    A line continues the one before when it starts in lower case (no sentence does), or with a
    digit after a line that ends without punctuation ("1. april" / "2021."), or when the line
    before fills the column (at least ``full`` of the page's usual line length) and does not end a
    sentence. Bullets and numbered items start their own line; a line ending in ':' introduces
    what follows and is never joined. Quotes are then whole sentences instead of line fragments.
    On a short page (a cover, or the last lines of a section) the column's width is unknown, and only
    the lower-case rule applies: "… at du har bedt om" / "det." is one item on any page.
    """
    widths = sorted(len(ln.strip()) for ln in lines if ln.strip() and " | " not in ln)   # (a table row is not wrapped text)
    usual = widths[int(0.9 * (len(widths) - 1))] if len(widths) >= MIN_REFLOW_LINES else None
    out: list[str] = []
    for line in lines:
        s = line.strip()
        prev = out[-1].strip() if out else ""
        if prev and s and not prev.endswith(":") and not _BULLET_RE.match(line) and not _NUMBERED_RE.match(line):
            ends = bool(_SENTENCE.search(prev))
            if s[0].islower() or (usual is not None and not ends and (s[0].isdigit() or len(prev) >= full * usual)):
                out[-1] = out[-1].rstrip() + " " + s
                continue
        out.append(line)
    return out


def _normalise_bullets(lines: list[str]) -> list[str]:
    """Unify bullet glyphs to '• ', strip indentation, and make the indented lines that
    follow a bullet item without a glyph (a lost <li> in scraped pages) items of their own."""
    out: list[str] = []
    bullet_indent: int | None = None
    for line in lines:
        if not line.strip():
            bullet_indent = None
            out.append("")
            continue
        indent = len(line) - len(line.lstrip())
        m = _BULLET_RE.match(line)
        if m:
            bullet_indent = indent
            out.append(BULLET + " " + line[m.end():].strip())
        elif _NUMBERED_RE.match(line):
            bullet_indent = indent
            out.append(line.strip())
        elif bullet_indent is not None and indent > bullet_indent:
            out.append(BULLET + " " + line.strip())
        else:
            bullet_indent = None
            out.append(line.strip())
    return out


def _mark_contact_block(lines: list[str]) -> list[str]:
    """Give a trailing address/phone block without a heading the heading 'Kontakt'."""
    if any(_key(ln) == "kontakt" for ln in lines):
        return lines
    # the trailing run of short lines (blank lines allowed), containing a phone or e-mail
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (not lines[start - 1].strip() or
                     (len(lines[start - 1]) <= 60 and not lines[start - 1].startswith(BULLET))):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    block = lines[start:end]
    if 2 <= len([b for b in block if b.strip()]) <= 8 and any(_CONTACT_RE.search(ln) for ln in block) \
            and start > 0:
        return lines[:start] + ["Kontakt", ""] + block + lines[end:]
    return lines
