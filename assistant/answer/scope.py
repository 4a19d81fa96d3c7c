"""What a question is scoped to: the organisations it names, a document type, comparison, follow-ups.

Pure text analysis against what the index knows (its organisation registry and its document
types); no model. ``ScopeReader(registry, doc_types).read(question, previous)`` returns a frozen
``Scope``:

- organisations named in any form the registry knows (canonical name, aliases, genitives,
  "i Ishøj", "Ishøj Kommunes", "KL's", "Borgerrepræsentationen"), in the order named; a generic
  "regionen" / "regionsrådet" / "styrelsen" names the organisation when the index holds exactly
  one of that kind;
- a document type ("personalepolitikken", "kodekset"): a family matched against
  ``Document.doc_type`` as a substring ("kodeks" covers adfærdskodeks and samarbejdskodeks);
- a comparison: two or more organisations, a comparison word ("sammenlign", "forskel",
  "adskiller", "henholdsvis", "compare") with one organisation, or a plural that means "each of
  them" ("kommunerne", "regionerne", "organisationerne");
- a follow-up that only changes the scope ("hvad med Aarhus?", "og i Albertslund?",
  "og personalepolitikken?"): it keeps the previous question's topic and replaces its
  organisation or document type; a follow-up with a new topic is a new question.

A word that is an ordinary Danish word as well as a town name ("Vejen", "Odder") only names the
organisation when capitalised; an abbreviation ("KL", "KFR") only in capitals (so "kl. 14" is a time),
unless it has three letters or more and is no Danish word ("kfr"). A name written without æ, ø and å
("norreby", "region sohojland") is recognised when no other organisation's name reads the same way, and a
long one-word name with one letter wrong ("forvaltningstyrelsen") when it is no Danish word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable

from assistant.ingest.organisations import Registry, fold, loose, one_edit
from assistant.language.danish import _known, _lemma, dictionary_lemma, split_compound
from assistant.language.vocabulary import _zipf

_TOKEN = re.compile(r"[^\W_]+(?:/[^\W_]+)*")
# Inflection endings of a document-type noun: kodeks|et|er|erne, politik|ken|ker|kerne, retningslinje|n|r|rne
_TYPE_SUFFIXES = ("", "s", "t", "n", "r", "et", "en", "er", "ne", "ets", "ens", "rne", "ern", "erne", "ernes",
                  "ken", "kens", "ker", "kerne", "kernes")
_COMPARE_WORDS = frozenset({"sammenlign", "sammenligne", "sammenlignet", "sammenligner", "sammenligning",
                            "sammenligningen", "forskel", "forskellen", "forskelle", "forskellene",
                            "adskiller", "adskille", "adskil", "henholdsvis", "versus", "vs",
                            "compare", "compared", "comparing", "comparison", "difference", "differences",
                            "differ", "differs"})
# Plurals that ask about each organisation of a kind: kind -> words
_EACH_WORDS = {"Kommune": ("kommunerne", "kommunernes", "municipalities"),
               "Region": ("regionerne", "regionernes", "regions"),
               "": ("organisationerne", "organisationernes", "organisations", "organizations")}
_EACH_AFTER = frozenset({"alle", "forskellige", "flere", "hver", "de", "andre", "all", "each", "different"})
_EACH_BARE = {"Kommune": ("kommuner", "kommune"), "Region": ("regioner", "region"),
              "": ("organisationer", "organisation")}
# A generic definite word names the only organisation of its kind in the index.
_ONLY_ONE = (("region", ("regionen", "regionens", "regionsråd", "regionsrådet", "regionsrådets",
                         "regionsrådsmedlem", "regionsrådsmedlemmer", "regionsrådsmedlemmerne")),
             ("styrelse", ("styrelsen", "styrelsens")))
# Words a follow-up may consist of besides the new organisation or document type.
_FOLLOW_UP_WORDS = frozenset({"og", "men", "hvad", "med", "så", "i", "hos", "for", "ved", "om", "også", "gælder",
                              "det", "den", "samme", "der", "dér", "er", "end", "hvordan", "siger", "står",
                              "hvis", "man", "kigger", "ser", "på", "vi", "tager", "deres", "dens", "sin",
                              "sit", "sine", "kommune", "kommunes", "kommunen", "mon",
                              "and", "what", "about", "how", "in", "at", "for", "the", "then", "of"})
_COMPARE_CUE = re.compile(r"\b(?:" + "|".join(sorted(_COMPARE_WORDS, key=len, reverse=True)) +
                          r")\b(?:\s+(?:med|mellem|with|to|between|på))?", re.I)
_CUE = re.compile(r"^\s*(og|men|hvad med|hvad så med|hvad så|hvad i|hvad hos|gælder det også|også|samme|"
                  r"what about|how about|and)\b", re.I)


@dataclass(frozen=True)
class Mention:
    """Where ``text`` names ``value`` (a canonical organisation or a document-type family)."""
    start: int
    end: int
    text: str
    value: str
    genitive: bool = False          # "Ishøj Kommunes", "Aarhus'", "KL's": the name governs the next noun


@dataclass(frozen=True)
class Scope:
    """What one question is about, besides its topic: whose documents, which kind, compared or not."""
    asked: str                                  # the message as asked
    text: str                                   # the question actually answered (follow-ups resolved)
    organisations: tuple[str, ...] = ()         # canonical names, in the order named
    doc_type: str | None = None                 # document-type family, matched as a substring of doc_type
    compare: bool = False                       # answer per organisation
    each_kind: str | None = None                # "kommunerne" etc.: compare every organisation of this kind
    follow_up: bool = False                     # resolved against the previous question
    org_mentions: tuple[Mention, ...] = ()      # in ``text``
    type_mentions: tuple[Mention, ...] = ()     # in ``text``
    from_filter: bool = False                   # organisations came from the filter, not the question

    @property
    def scoped(self) -> bool:
        return bool(self.organisations or self.doc_type or self.compare)

    @property
    def topic(self) -> str:
        """``text`` without the organisation names (the words that say what is asked about)."""
        return _strip(self.text, self.org_mentions, keep_council=True)

    @property
    def query(self) -> str:
        """What passages are compared with: the topic, without a comparison's own words ("sammenlignet med")."""
        if not self.compare:
            return self.topic
        q = _COMPARE_CUE.sub(" ", self.topic)
        return _strip(q, []) or self.topic

    @property
    def topic_phrase(self) -> str | None:
        """The subject after a final "om …" ("hvad siger kodekset om sociale medier?" -> "sociale medier")."""
        m = re.search(r"\bom\s+([^?.!]{3,80}?)\s*[?.!]*\s*$", self.topic, re.I)
        if not m:
            return None
        phrase = m.group(1).strip()
        return phrase if len(phrase.split()) <= 6 else None

    @property
    def understood(self) -> str | None:
        """The question as understood, for the chat ("Jeg har forstået: …"): for follow-ups, named
        organisations and comparisons (a document type alone is only a preference and is not shown).
        The question itself is repeated only for a follow-up, where it is not what was typed."""
        if not (self.organisations or self.compare or self.follow_up):
            return None
        scope = []
        if self.compare and len(self.organisations) == 1:
            scope.append(f"{self.organisations[0]} sammenlignet med andre organisationer")
        elif self.compare and self.organisations:
            scope.append("sammenlignet mellem " + join_names(self.organisations))
        elif self.compare:
            scope.append("sammenlignet på tværs af " + _each_phrase(self.each_kind))
        elif self.organisations:
            scope.append("kun dokumenter fra " + join_names(self.organisations))
        if self.doc_type:
            scope.append(f"helst dokumenttypen «{self.doc_type}»")
        if not self.follow_up:
            return "Jeg har forstået: " + ", ".join(scope) + "."
        return f"Jeg har forstået: »{self.text}«" + (" – " + ", ".join(scope) if scope else "") + "."

    def to_json(self) -> dict:
        return {"asked": self.asked, "answered": self.text, "organisations": list(self.organisations),
                "doc_type": self.doc_type, "compare": self.compare, "each_kind": self.each_kind,
                "follow_up": self.follow_up, "understood": self.understood}


def join_names(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def genitive(name: str) -> str:
    """Danish genitive of a name: "Aarhus Kommunes", "Forvaltningsstyrelsens", "Fjordby Havn A/S'"."""
    return name + ("'" if name[-1:].lower() in "sxz" or not name[-1:].isalpha() else "s")


def _each_phrase(kind: str | None) -> str:
    return {"Kommune": "kommunerne", "Region": "regionerne"}.get(kind or "", "organisationerne")


_JOINER = re.compile(r"\s*(?:,|\bog\b|\beller\b|\bsamt\b|\band\b|&)?\s*(?:\b(?:i|hos|and)\s+)?", re.I)
_COUNCIL = re.compile(r"\b(byråd\w*|kommunalbestyrelse\w*|borgerrepræsentation\w*|regionsråd\w*)", re.I)


# A preposition that only ties the name to the sentence ("ansat i Ishøj", "an employee in Egeskov")
# goes with it; before a genitive ("i Ishøj Kommunes personalepolitik") it governs the noun and stays.
_PREPOSITION_BEFORE = re.compile(r"\b(?:i|hos|for|fra|ved|in|at|from|of)\s*$", re.I)


_DEFINITE = {"byråd": "byrådet", "byråds": "byrådets", "regionsråd": "regionsrådet", "regionsråds": "regionsrådets",
             "kommunalbestyrelse": "kommunalbestyrelsen", "kommunalbestyrelses": "kommunalbestyrelsens",
             "borgerrepræsentation": "borgerrepræsentationen", "borgerrepræsentations": "borgerrepræsentationens"}


def _definite(word: str) -> str:
    """"Aalborg Byråd" without the town reads "byrådet" ("hvor mange medlemmer har byrådet?")."""
    return _DEFINITE.get(word, word)


def _strip(text: str, mentions: Iterable[Mention], keep_council: bool = False) -> str:
    """``text`` without the mentions (and the "i"/"hos" left dangling). With ``keep_council`` a mention of a
    council ("Byrådet i Solbjerg", "Havnsø Kommunalbestyrelses") leaves its council word: that is topic."""
    out, pos = [], 0
    for m in sorted(mentions, key=lambda m: m.start):
        gap = text[pos:m.start]
        council = _COUNCIL.search(m.text) if keep_council else None
        genitive_mark = re.match(r"['’]s?\b|['’]", text[m.end:m.end + 2])     # "Aarhus'", "KL's"
        if out and _JOINER.fullmatch(gap):
            gap = " "                                                # "Aalborg og Aarhus": the "og" goes too
        elif not (council or m.genitive or genitive_mark):
            gap = _PREPOSITION_BEFORE.sub("", gap)                   # "en ansat i Vesterå Kommune gå hen"
        out.append(gap)
        out.append(_definite(council.group(1).lower()) if council else "")
        pos = m.end + (genitive_mark.end() if genitive_mark else 0)
    out.append(text[pos:])
    s = "".join(out)
    s = re.sub(r"\b(i|hos|for|fra|ved)\s+(?=(og\b|,|[?.!]|$))", "", s)     # "i Ishøj og i Albertslund" -> "…"
    s = re.sub(r"(\s*(,|\bog\b)\s*)+(?=[?.!]|$)", "", s)
    s = re.sub(r"\s+([?.!,])", r"\1", s)
    s = re.sub(r"^[\s,:;.–-]+", "", s)
    return " ".join(s.split())


ORDINARY_ZIPF = 4.0     # a lower-case word at least this frequent in Danish may be a word, not a name
MISSPELT_MIN = 10       # a one-word name this long may be recognised with one letter wrong


@lru_cache(maxsize=4096)
def _ordinary_word(word: str) -> bool:
    """A frequent Danish word whose dictionary form is lower case ("vejen", "ringe", "odder"): written in
    lower case it is that word, so only a capital makes it a town. Names the dictionary knows as names
    ("aarhus" -> "Aarhus") and rare words ("egeskov") are names in any case."""
    from wordfreq import zipf_frequency
    w = word.lower()
    return dictionary_lemma(w).islower() and zipf_frequency(w, "da") >= ORDINARY_ZIPF


def _known_word(word: str) -> bool:
    """Does the dictionary know ``word`` (in lower case) as a Danish word, or is it in common use?
    (Both lookups are memoised where they live.)"""
    w = word.lower()
    return _known(w) or _zipf(w, "da") >= 2.0


def _inflects(word: str, family: str) -> bool:
    """``word`` is a form of ``family`` ("kodekset", "politikken"), not another word ("politiker")."""
    return word == family or _lemma(word) == family or not _known(word)


class ScopeReader:
    """Reads the scope of questions against one index's organisations and document types."""

    def __init__(self, registry: Registry, doc_types: Iterable[str]):
        self.organisations = tuple(sorted(registry.aliases))
        table: dict[tuple[str, ...], set[str]] = {}
        written: dict[tuple[str, ...], str] = {}
        for canon, names in registry.aliases.items():
            for name in names | {canon}:
                key = tuple(fold(name).split())
                if key:
                    table.setdefault(key, set()).add(canon)
                    written.setdefault(key, name)
        # aliases shared by two organisations name neither
        self._aliases = {k: next(iter(v)) for k, v in table.items() if len(v) == 1}
        self._written = written
        # the same without æ, ø and å, where that names one organisation still (a second chance)
        loosened: dict[tuple[str, ...], list[tuple[tuple[str, ...], set[str]]]] = {}
        for key, canons in table.items():
            loosened.setdefault(tuple(loose(w) for w in key), []).append((key, canons))
        self._loose: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}    # -> (canonical, its key)
        for lkey, entries in loosened.items():
            canons = set().union(*(c for _, c in entries))
            if len(canons) == 1:
                self._loose[lkey] = (next(iter(canons)), entries[0][0])
        self._long_single = tuple((k[0], canon) for k, (canon, _) in self._loose.items()
                                  if len(k) == 1 and len(k[0]) >= MISSPELT_MIN)
        self._longest = max((len(k) for k in self._aliases), default=0)
        types = {t.lower() for t in doc_types if t and t.lower() != "dokument"}
        families = set(types)
        heads: dict[str, int] = {}
        for t in types:
            parts = split_compound(t)
            if parts and parts[-1] != t:
                heads[parts[-1]] = heads.get(parts[-1], 0) + 1
        # a head names a family when it is a type itself or shared by two types ("kodeks": adfærds-, samarbejds-)
        families |= {h for h, n in heads.items() if n >= 2 or h in types}
        self.doc_types = tuple(sorted(types))
        self._families = tuple(sorted(families, key=len, reverse=True))

    # -- recognition
    def organisation_mentions(self, text: str) -> list[Mention]:
        toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        folded = [fold(t) for _, _, t in toks]
        loosed = [loose(f) for f in folded]
        out: list[Mention] = []
        i = 0
        while i < len(toks):
            found = None
            for n in range(min(self._longest, len(toks) - i), 0, -1):
                key = tuple(folded[i:i + n])
                canon = self._aliases.get(key)
                if canon is None:
                    canon, key = self._loose.get(tuple(loosed[i:i + n]), (None, key))
                if canon and self._written_ok(key, [t for _, _, t in toks[i:i + n]]):
                    found = (n, canon)
                    break
            if not found and len(folded[i]) >= MISSPELT_MIN:
                canon = self._misspelt(folded[i])
                if canon:
                    found = (1, canon)
            if found:
                n, canon = found
                start, end = toks[i][0], toks[i + n - 1][1]
                out.append(Mention(start, end, text[start:end], canon, self._genitive(tuple(folded[i:i + n]), canon)))
                i += n
                continue
            only = self._only_one(folded[i])
            if only:
                out.append(Mention(toks[i][0], toks[i][1], toks[i][2], only))
            i += 1
        return out

    def _misspelt(self, word: str) -> str | None:
        """The organisation a long word names with one letter wrong, when it is no Danish word and only
        one organisation's one-word name is that close ("forvaltningstyrelsen")."""
        w = loose(word)
        near = {canon for name, canon in self._long_single if one_edit(w, name)}
        return next(iter(near)) if len(near) == 1 and not _known_word(word) else None

    def _genitive(self, key: tuple[str, ...], canon: str) -> bool:
        """"ishøj kommunes", "hemmeligbys": the same name without its final s names the same organisation."""
        last = key[-1]
        if last in fold(canon).split():                  # "Aarhus" is the name itself, not "Aarhu"'s
            return False
        return last.endswith("s") and self._aliases.get(key[:-1] + (last[:-1],)) == canon

    def _written_ok(self, key: tuple[str, ...], words: list[str]) -> bool:
        alias = self._written[key]
        if len(words) == 1:
            letters = [c for c in alias if c.isalpha()]
            if letters and all(c.isupper() for c in letters) and len(letters) <= 6:
                # "KL", "KFR": not "kl." (klokken); "kfr" is no word, so it is the abbreviation
                return words[0].isupper() or (len(letters) >= 3 and not _known_word(words[0]))
            if _ordinary_word(words[0]):
                return words[0][:1].isupper()                # "Vejen", not "vejen"
        return True

    def _only_one(self, word: str) -> str | None:
        for kind, words in _ONLY_ONE:
            if word in words:
                matches = [o for o in self.organisations
                           if (o.startswith("Region ") if kind == "region" else fold(o).endswith(kind + "n"))]
                return matches[0] if len(matches) == 1 else None
        return None

    def type_mentions(self, text: str, skip: Iterable[Mention] = ()) -> list[Mention]:
        taken = [(m.start, m.end) for m in skip]
        out = []
        for m in _TOKEN.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            word = m.group().lower()
            for fam in self._families:
                if word.startswith(fam) and word[len(fam):] in _TYPE_SUFFIXES and _inflects(word, fam):
                    out.append(Mention(m.start(), m.end(), m.group(), fam))
                    break
        return out

    def each_kind(self, text: str, skip: Iterable[Mention] = ()) -> str | None:
        """"kommunerne", "alle kommuner", "hver region": the kind of organisation asked about one by one."""
        taken = [(m.start, m.end) for m in skip]
        words = [fold(m.group()) for m in _TOKEN.finditer(text) if not any(a <= m.start() < b for a, b in taken)]
        for i, w in enumerate(words):
            for kind, plural in _EACH_WORDS.items():
                if w in plural:
                    return kind
            for kind, bare in _EACH_BARE.items():
                if w in bare and i and words[i - 1] in _EACH_AFTER:
                    return kind
        return None

    # -- the whole question
    def read(self, question: str, previous: Scope | None = None) -> Scope:
        text = " ".join(question.split())
        orgs_m = self.organisation_mentions(text)
        types_m = self.type_mentions(text, orgs_m)
        each = self.each_kind(text, orgs_m)
        if previous is not None and self._only_scope(text, orgs_m, types_m, each):
            return self._follow(text, previous, orgs_m, types_m, each)
        return self._scope(text, text, orgs_m, types_m, each)

    def _scope(self, asked: str, text: str, orgs_m, types_m, each, follow_up: bool = False) -> Scope:
        names = tuple(dict.fromkeys(m.value for m in orgs_m))
        words = {fold(t) for t in _TOKEN.findall(text)}
        cue = bool(words & _COMPARE_WORDS)
        compare = len(names) >= 2 or each is not None or (cue and len(names) == 1)
        doc_type = types_m[0].value if types_m else None
        return Scope(asked, text, names, doc_type, compare, each if compare and not names else None,
                     follow_up, tuple(orgs_m), tuple(types_m))

    def _only_scope(self, text: str, orgs_m, types_m, each) -> bool:
        """A short message that names a scope and nothing else to ask about."""
        if not (orgs_m or types_m or each):
            return False
        rest = _strip(text, list(orgs_m) + list(types_m))
        words = [fold(w) for w in _TOKEN.findall(rest)]
        words = [w for w in words if w not in _FOLLOW_UP_WORDS and not self.each_kind(w)]
        return not words and (bool(_CUE.match(text)) or len(_TOKEN.findall(text)) <= 4)

    def _follow(self, asked: str, prev: Scope, orgs_m, types_m, each) -> Scope:
        """The previous question's topic with this message's organisation and/or document type."""
        text = prev.text
        if orgs_m or each:
            text = _replace(text, self.organisation_mentions(text), [m.text for m in orgs_m])
        if types_m:
            old = self.type_mentions(text, self.organisation_mentions(text))
            text = _replace(text, old, [types_m[0].text])
        orgs2 = self.organisation_mentions(text)
        scope = self._scope(asked, text, orgs2, self.type_mentions(text, orgs2), None, follow_up=True)
        names = tuple(dict.fromkeys(m.value for m in orgs_m)) if orgs_m else (() if each else prev.organisations)
        compare = len(names) >= 2 or each is not None
        return replace(scope, organisations=names, doc_type=types_m[0].value if types_m else prev.doc_type,
                       compare=compare, each_kind=each if compare and not names else None)

    def restore(self, data: dict) -> Scope:
        """A previous scope from its ``to_json`` form (what the chat keeps between messages)."""
        text = str(data.get("answered") or "")
        orgs_m = self.organisation_mentions(text)
        known = set(self.organisations)
        return Scope(str(data.get("asked") or text), text,
                     tuple(o for o in data.get("organisations") or () if o in known),
                     data.get("doc_type") or None, bool(data.get("compare")), data.get("each_kind") or None,
                     bool(data.get("follow_up")), tuple(orgs_m), tuple(self.type_mentions(text, orgs_m)))


def _replace(text: str, old: Iterable[Mention], new: list[str]) -> str:
    """``text`` with the mentions ``old`` replaced by the words ``new``: pairwise when the counts agree,
    else the first one replaced and the others removed; without ``new`` all are removed."""
    old = sorted(old, key=lambda m: m.start)
    if not old:
        return text
    if len(old) == len(new):
        out, pos = [], 0
        for m, w in zip(old, new):
            out += [text[pos:m.start], w]
            pos = m.end
        return "".join(out + [text[pos:]])
    if not new:
        return _strip(text, old)
    first = old[0]
    marked = text[:first.start] + "\x00" + text[first.end:]
    shift = 1 - (first.end - first.start)
    rest = [Mention(m.start + shift, m.end + shift, m.text, m.value) for m in old[1:]]
    return _strip(marked, rest).replace("\x00", new[0])
