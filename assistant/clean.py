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

# Whole lines that are site navigation or button labels, never content.
_CHROME_LINES = {
    "skip til hoved indholdet", "spring til indhold", "gå til indhold", "let digital adgang",
    "ring til os", "skriv til os", "åbningstider", "har du set...", "har du set…", "har du set",
    "hurtig adgang", "oversigt", "del på facebook", "del på linkedin", "print", "udskriv",
    "til toppen", "tilbage til toppen", "cookies", "cookieindstillinger",
}
_CHROME_PATTERNS = [
    re.compile(r"^cvr[- ]?(nummer|nr\.?)?:?\s*\d[\d ]{6,}$", re.I),
    re.compile(r"^(hjem|forside)\s+\S.*$", re.I),   # breadcrumb, only near the top (see below)
    re.compile(r"^ean[- ]?(nummer|nr\.?)?:?\s*\d+$", re.I),
]
# A footer starts at these lines; what follows is dropped when it is only short lines
# (the site-wide address block), so real content after them would be kept.
_FOOTER_START = {"har du set...", "har du set…", "har du set"}
_CONTACT_RE = re.compile(r"(\btlf\.?|\btelefon\b|@[\w-]+\.\w+|\b\d{2} \d{2} \d{2} \d{2}\b)", re.I)


def clean_text(text: str, *, dehyphenate: bool = False) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = text.replace("\u00a0", " ").replace("\u00ad", "").replace("\ufeff", "")
    text = "".join(c for c in text if c in "\n" or unicodedata.category(c) != "Cc")
    if dehyphenate:
        # "medarbej-\nderne" -> "medarbejderne" (only before a lower-case letter)
        text = re.sub(r"(\w)-\n[ ]*(?=[a-zæøå])", r"\1", text)
    lines = [ln.rstrip() for ln in text.split("\n")]
    lines = _drop_chrome(lines)
    lines = _normalise_bullets(lines)
    lines = _mark_contact_block(lines)
    out = "\n".join(lines)
    out = re.sub(r"[ ]{2,}", " ", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


def _key(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip()).lower()


def _drop_chrome(lines: list[str]) -> list[str]:
    out: list[str] = []
    content_seen = 0
    for i, line in enumerate(lines):
        key = _key(line)
        if key in _FOOTER_START:
            rest = [ln for ln in lines[i + 1:] if ln.strip()]
            if all(len(ln.strip()) <= 60 for ln in rest):
                break
            continue
        if key in _CHROME_LINES:
            continue
        if _CHROME_PATTERNS[0].match(key) or _CHROME_PATTERNS[2].match(key):
            continue
        if content_seen < 2 and _CHROME_PATTERNS[1].match(key) and len(key.split()) >= 3 \
                and not key.endswith((".", "?", "!")):
            continue  # breadcrumb such as "Hjem Om kommunen Politikker ..."
        if key:
            content_seen += 1
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
