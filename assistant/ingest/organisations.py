"""Organisation names: one canonical form per organisation, with the aliases people use.

Canonical forms: "<Town> Kommune" for a municipality and its council (Byråd,
Kommunalbestyrelse, Borgerrepræsentation), "Region <Name>" for a region and its
regionsråd, "<Name> A/S" for companies, and the name as written for agencies and
associations. Aliases are what questions and filters may say: the bare town name,
genitives ("Ishøjs", "Ishøj Kommunes"), the council ("Byrådet i Ishøj"),
abbreviations found in the text ("Kommunernes Landsforening (KL)") and the
Danish letters written out ("Aarhus" / "Århus", "Vesteraa").

Organisations are only ever *recognised* in text or metadata that names one:
never made up from a file name or from a capitalised word that the same text
also uses as an ordinary lower-case word.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.language.danish import dictionary_knows, dictionary_lemma

UNKNOWN = "Ukendt organisation"

# Well-known bodies whose everyday names are not derivable from a pattern: data, not rules.
KNOWN_ALIASES: dict[str, tuple[str, ...]] = {
    "Københavns Kommune": ("København", "Borgerrepræsentationen", "Københavns Borgerrepræsentation"),
    "Aarhus Kommune": ("Århus", "Århus Kommune"),
    "Kommunernes Landsforening": ("KL",),
    "Danske Regioner": (),
}

_UP = "A-ZÆØÅ"
_LO = "a-zæøåéü"
_NAME = rf"[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"
_COUNCIL = r"(?:Byråd|Kommunalbestyrelse|Borgerrepræsentation)"

_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"\b({_NAME}) Kommunes?\b"), "{0} Kommune"),
    (re.compile(rf"\b({_NAME}) {_COUNCIL}(?:en|s|ens)?\b"), "{0} Kommune"),
    (re.compile(rf"\b(?:Byrådet|Kommunalbestyrelsen) i ({_NAME})\b"), "{0} Kommune"),
    (re.compile(rf"\bRegion ({_NAME})s?\b"), "Region {0}"),
    (re.compile(rf"\b((?:{_NAME} ){{0,2}}{_NAME}) (?:A/S|I/S)\b"), "{0} A/S"),
    (re.compile(rf"\b([{_UP}][{_LO}]+styrelsen)\b"), "{0}"),
    (re.compile(rf"\b(Kommunernes [{_UP}][{_LO}]+|Danske Regioner)\b"), "{0}"),
]
# E-mail and web addresses (their words are no names). Each alternative may start only where a token
# starts (the look-behinds), so a long run without spaces is scanned once, not once per position:
# ``\S+@\S+`` alone is quadratic on 100 KB without spaces.
_ADDRESS = re.compile(r"(?<!\S)\S*@\S+|(?<![\w/.:])(?:https?://|www\.)\S+|(?<![\w.-])[\w.-]+\.(?:dk|com|org|eu|net)\b")
_ABBREV = re.compile(rf"\b([{_UP}][\w ]{{3,60}}?)\s*\(([{_UP}]{{2,6}})\)")


@lru_cache(maxsize=50_000)
def fold(text: str) -> str:
    """Lower case, å/aa, æ/ae, ø/oe and accents folded: the form aliases are compared in."""
    t = unicodedata.normalize("NFKD", text.lower())
    t = t.replace("aa", "å").replace("ae", "æ").replace("oe", "ø")
    t = "".join(c for c in t if not unicodedata.combining(c) or c in "\u030a")
    t = unicodedata.normalize("NFC", t)
    return re.sub(r"[^\wæøå/]+", " ", t).strip()


@lru_cache(maxsize=50_000)
def loose(folded: str) -> str:
    """A folded form with å, æ and ø as the bare vowels a keyboard without them gives ("norreby",
    "region sohojland", "vestera"): a second chance for names that ``fold`` does not match."""
    return folded.replace("å", "a").replace("æ", "a").replace("ø", "o")


def one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one letter left out, added or changed ("forvaltningstyrelsen")."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def _title_case_caps(text: str) -> str:
    """Upper-case lines ("AARHUS BYRÅDS SAMARBEJDSKODEKS") in title case so the patterns see names."""
    out = []
    for line in text.split("\n"):
        letters = [c for c in line if c.isalpha()]
        if letters and all(c.isupper() for c in letters) and len(letters) > 3:
            line = " ".join(w.capitalize() if w.isalpha() else w for w in line.split(" "))
        out.append(line)
    return "\n".join(out)


def _plausible(name: str, text_lower_words: set[str]) -> bool:
    """A town/organisation word, not a word the same text also writes in lower case (nor its genitive)."""
    first = name.split()[0].split("-")[0].lower()
    return first not in text_lower_words and not (first.endswith("s") and first[:-1] in text_lower_words)


def _common_word(word: str) -> bool:
    """An ordinary Danish word (its dictionary form is lower case), not a name: "Enkelte", "Veldrevet"."""
    w = word.lower()
    return dictionary_knows(w) and dictionary_lemma(w).islower()


def _mid_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 3):start]
    return bool(re.search(r"[a-zæøå0-9,]\s+$", before))


def find_organisations(text: str) -> Counter:
    """Canonical organisation names mentioned in ``text``, with counts.

    A town name that is also an ordinary Danish word ("Enkelte Kommune" in a title-case heading) only
    counts when the text also uses it as a name in the middle of a sentence."""
    found: Counter = Counter()
    mid: Counter = Counter()
    candidates: set[str] = set()
    plain = _ADDRESS.sub(" ", text)
    lowered = set(re.findall(rf"(?<![{_UP}\w])[{_LO}]+", plain))
    text = _title_case_caps(text)
    for pattern, template in _PATTERNS:
        for m in pattern.finditer(text):
            name = m.group(1).strip()
            if not name or not _plausible(name, lowered):
                continue
            if template == "{0} Kommune" and name.endswith("s") and name[:-1] and \
                    re.search(rf"\b{re.escape(name[:-1])} Kommune\b", text):
                name = name[:-1]                    # "Ishøjs Byråd" -> Ishøj when "Ishøj Kommune" is written too
            canon = template.format(name)
            if template in ("{0} Kommune", "Region {0}") and canon not in KNOWN_ALIASES:
                candidates.add(canon)
            found[canon] += 1
            mid[canon] += _mid_sentence(text, m.start())
    for canon in candidates:
        town = canon.split()[1] if canon.startswith("Region ") else canon.split()[0]
        if not mid[canon] and _common_word(town.split("-")[0]):
            del found[canon]
    return found


def strip_organisations(text: str) -> str:
    """``text`` without the organisation names the patterns recognise in it."""
    text = _title_case_caps(text)
    for pattern, _ in _PATTERNS:
        text = pattern.sub(" ", text)
    return text


def recognise(name: str) -> str | None:
    """The canonical organisation when ``name`` recognisably is one (a folder or metadata value), else None."""
    found = canonical(name) if name.strip() else ""
    return found if found and (found in KNOWN_ALIASES or find_organisations(name)) else None


def canonical(name: str) -> str:
    """The canonical form of an organisation name as written in metadata ("Aalborg Byråd" -> "Aalborg Kommune")."""
    name = re.sub(r"\s+", " ", name).strip()
    if not name:
        return ""
    for canon, aliases in KNOWN_ALIASES.items():
        if fold(name) in {fold(canon), *(fold(a) for a in aliases)}:
            return canon
    found = find_organisations(name)
    if found:
        return found.most_common(1)[0][0]
    return name


@dataclass
class Registry:
    """Canonical organisations of an index and every alias that names them (folded)."""
    aliases: dict[str, set[str]] = field(default_factory=dict)     # canonical -> aliases (as written)

    def add(self, canon: str, extra: tuple[str, ...] = ()) -> None:
        if not canon or canon == UNKNOWN:
            return
        names = self.aliases.setdefault(canon, set())
        names.update(alias_forms(canon))
        for e in extra:
            names.update(alias_forms(e) if e != canon else ())
            names.add(e)

    def lookup(self) -> dict[str, str]:
        """Folded alias -> canonical; aliases shared by two organisations are left out."""
        seen: dict[str, set[str]] = {}
        for canon, names in self.aliases.items():
            for n in names | {canon}:
                seen.setdefault(fold(n), set()).add(canon)
        return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1 and k}

    def resolve(self, name: str) -> str | None:
        """The canonical organisation a user's words name, or None ("aalborg" -> "Aalborg Kommune").

        A dictionary lookup of the folded words among the known names and their aliases: no pattern
        search runs on what a user typed."""
        return self.lookup().get(fold(name))

    def to_json(self) -> dict:
        return {k: sorted(v) for k, v in sorted(self.aliases.items())}

    @classmethod
    def from_json(cls, data: dict) -> "Registry":
        return cls({k: set(v) for k, v in data.items()})


def alias_forms(canon: str) -> set[str]:
    forms = {canon}
    forms.update(KNOWN_ALIASES.get(canon, ()))
    m = re.fullmatch(rf"({_NAME}) Kommune", canon)
    if m:
        town = m.group(1)
        # "Københavns Kommune" is written in the genitive; its town is "København" (a known alias).
        # "Aarhus Kommune" ends in s too, but "Aarhu" is no name.
        bare = town[:-1] if town.endswith("s") and town[:-1] in KNOWN_ALIASES.get(canon, ()) else town
        gen = f"{bare}'" if bare.endswith(("s", "x", "z")) else f"{bare}s"      # Aarhus' / Ishøjs
        forms |= {town, bare, f"{town} Kommunes", gen, f"{bare} Byråd", f"{gen} Byråd",
                  f"Byrådet i {bare}", f"{bare} Kommunalbestyrelse", f"Kommunalbestyrelsen i {bare}",
                  f"{gen} Kommunalbestyrelse"}
    m = re.fullmatch(rf"Region ({_NAME})", canon)
    if m:
        forms |= {m.group(1), f"Region {m.group(1)}s", f"Regionsrådet i Region {m.group(1)}"}
    m = re.fullmatch(r"(.+) (A/S|I/S)", canon)
    if m:
        forms |= {m.group(1), f"{m.group(1)}s"}
    if not canon.endswith("s"):
        forms.add(canon + "s")
    return forms


def abbreviations(text: str, canon: str) -> tuple[str, ...]:
    """Abbreviations the text defines for the organisation: "Kommunernes Fællesråd (KFR)" -> ("KFR",)."""
    out = []
    for m in _ABBREV.finditer(text):
        if fold(m.group(1)).endswith(fold(canon)):
            out.append(m.group(2))
    return tuple(dict.fromkeys(out))
