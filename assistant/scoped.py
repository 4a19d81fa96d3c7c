"""Answers within an organisation scope, built around ``Assistant._answer``.

- A named organisation restricts the answer to its documents. Whether they cover the question is
  decided against the rest of the corpus (``CoverRule``): when they do not, the answer says so
  ("Ishøj Kommunes dokumenter nævner ikke sociale medier.") and only then quotes other
  organisations, labelled as theirs.
- A comparison is answered per organisation: each named one (or, for "hvad siger kommunerne
  om …", each organisation with a relevant passage, best first, up to ``MAX_COMPARED``) gets its
  best quotes or "nævner det ikke".
- A document type ("personalepolitikken") is a preference: when documents of that type do not
  cover the question, the answer comes from the organisation's other documents, with a note.

``_answer`` (retrieval, quote extraction, abstention) is called once per scope and is not changed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import answer as compose_da
from .coverage import COMMON_ZIPF, Vocabulary, _zipf, content_words
from .retrieve import Filters, retrieve
from .scope import Scope, genitive, join_names
from .types import Answer, Hit, OrgAnswer

MAX_COMPARED = 5


@dataclass(frozen=True)
class CoverRule:
    """Do an organisation's documents cover a question that names it?

    Whether the documents answer the question at all stays the abstention rule's decision, asked of
    the whole corpus: when neither the organisation's documents nor anyone else's pass it, nothing
    covers the question. Whose documents answer it is decided relatively: the organisation's
    documents do not cover it when none of its passages is among the best ``share`` of the corpus's
    passages for the question (``gate``: 20 of the development corpus's 674) *and* the other
    organisations' best candidate quotes are more than ``margin`` closer to it
    (``Assistant.confidence``) than the organisation's own. Chosen on the development corpus
    (README, "Organisations").
    """
    share: float = 0.03
    margin: float = 0.01

    def gate(self, passages: int) -> int:
        return max(1, round(self.share * passages))

    def covers(self, rank: int | None, gate: int, inside: float, outside: float) -> bool:
        """``rank``: place of the organisation's best passage in the whole corpus (None: not in the first ``gate``)."""
        return not ((rank is None or rank > gate) and outside - inside > self.margin)


@dataclass(frozen=True)
class Ask:
    """The parameters of one ``Assistant.ask`` passed down to every ``_answer`` call."""
    k: int = 3
    mode: str = "hybrid"
    top_hits: int = 4
    timings: dict | None = None


@dataclass(frozen=True)
class InScope:
    """One organisation's answer to a question, and the verdict."""
    inside: Answer               # within the organisation's documents
    outside: Answer              # within everyone else's
    covered: bool                # the organisation's documents cover the question
    corpus_covers: bool          # some documents do (the abstention rule, on the whole corpus)


class ScopedAnswers:
    """Scope-aware answering for one Assistant (its index, its ``_answer``)."""

    def __init__(self, assistant, rule: CoverRule | None = None):
        self.assistant = assistant
        self.rule = rule or CoverRule()

    def _answer(self, prepared, filters: Filters, how: Ask) -> Answer:
        return self.assistant._answer(prepared, filters, how.k, how.mode, how.top_hits, how.timings)

    def rank_of(self, organisation: str, question: str, filters: Filters, how: Ask) -> int | None:
        """Place of the organisation's best passage in the whole corpus's ranking (None: not within the gate)."""
        a = self.assistant
        qvec = a.embedder.embed_queries([question])[0]
        hits = retrieve(a.index, question, qvec, k=self.rule.gate(len(a.index.chunks)), mode=how.mode,
                        filters=replace(filters, organisations=(), exclude=()) or None,
                        depth=a.settings.fetch_depth, rrf_k=a.settings.rrf_k)
        docs = a.index.documents
        return next((i for i, h in enumerate(hits, start=1) if docs[h.chunk.document].organisation == organisation),
                    None)

    def _in_scope(self, prepared, scope: Scope, organisation: str, filters: Filters, how: Ask) -> InScope:
        from .pipeline import NEVER_ABSTAIN
        mine = replace(filters, organisations=(organisation,), exclude=())
        inside = self._answer(prepared, mine, how)
        outside = self._answer(prepared, replace(filters, organisations=(), exclude=(organisation,)), how)
        if inside.abstained and outside.abstained:
            return InScope(inside, outside, False, False)
        rank = self.rank_of(organisation, prepared.question, filters, how)
        covered = self.rule.covers(rank, self.rule.gate(len(self.assistant.index.chunks)), inside.confidence,
                                   outside.confidence)
        if covered and inside.abstained:
            # the corpus answers the question and this organisation's passages hold their own: quote them
            with self.assistant.abstaining(NEVER_ABSTAIN):
                inside = self._answer(prepared, mine, how)
        return InScope(inside, outside, covered and bool(inside.quotes), True)

    def missing_in(self, organisation: str, scope: Scope, question: str) -> tuple[str, ...]:
        """Specific question words that the whole corpus uses and this organisation's documents never do
        (named in the "does not mention" sentence when the question has no "om …" topic)."""
        index = self.assistant.index
        cov = index.vocabulary.check(question)
        if cov.english:
            return ()
        names = {w for m in scope.org_mentions for w in content_words(m.text)}
        vocab = self.vocabulary(organisation)
        return tuple(w for w in cov.words
                     if w not in names and _zipf(w, "da") < COMMON_ZIPF and w not in cov.missing
                     and not vocab.covers(w))[:3]

    def vocabulary(self, organisation: str) -> Vocabulary:
        """The words of one organisation's documents (cached per index version)."""
        index = self.assistant.index
        cache = getattr(self, "_vocab", None)
        if cache is None or cache[0] != index.version:
            cache = self._vocab = (index.version, {})
        if organisation not in cache[1]:
            docs = [d for d in index.documents.values() if d.organisation == organisation]
            cache[1][organisation] = Vocabulary([d.text for d in docs] + [f"{d.title} {d.organisation}" for d in docs])
        return cache[1][organisation]

    # -- one named organisation (or only a document type)
    def single(self, prepared, scope: Scope, filters: Filters, how: Ask) -> Answer:
        notes = list(prepared.notes)
        if not scope.organisations:
            return self._typed(prepared, scope, filters, how, notes)
        org = scope.organisations[0]
        typed = replace(filters, doc_type=scope.doc_type) if scope.doc_type and not filters.doc_type else filters
        r = self._in_scope(prepared, scope, org, typed, how)
        if not r.covered and typed is not filters:             # the document type was only a preference
            r2 = self._in_scope(prepared, scope, org, filters, how)
            if r2.covered:
                notes.append(f"Dokumenttypen «{scope.doc_type}» hos {org} nævner det ikke; "
                             f"svaret kommer fra {genitive(org)} andre dokumenter.")
            r = r2 if r2.covered or r2.corpus_covers else r
        inside, outside = r.inside, r.outside
        if r.covered:
            head = ([scope.understood] if scope.understood else []) + notes[len(prepared.notes):]
            return replace(inside, text="\n".join(head + [inside.text]), notes=tuple(notes),
                           understood=scope.understood, scope=scope, by_organisation=(OrgAnswer(org, inside.quotes),))
        said = compose_da.not_mentioned(org, scope.topic_phrase, self.missing_in(org, scope, prepared.question))
        others = () if outside.abstained else outside.quotes
        related = outside.related if outside.abstained else ()
        text = compose_da.compose_not_in_scope(list(prepared.notes), scope.understood, [said], list(others),
                                               list(related))
        return Answer(inside.question, text, True, (), tuple(related), prepared.notes, inside.confidence,
                      inside.hits, inside.missing_terms, inside.english, scope.understood,
                      (OrgAnswer(org, (), said),), (org,), tuple(others), scope)

    def _typed(self, prepared, scope: Scope, filters: Filters, how: Ask, notes: list[str]) -> Answer:
        """A document type named without an organisation: that type first, everything when it does not cover it."""
        if filters.doc_type:
            a = self._answer(prepared, filters, how)
        else:
            a = self._answer(prepared, replace(filters, doc_type=scope.doc_type), how)
            if a.abstained:
                b = self._answer(prepared, filters, how)
                if not b.abstained:
                    notes.append(f"Dokumenttypen «{scope.doc_type}» nævner det ikke; svaret kommer fra andre dokumenter.")
                    a = b
        head = ([scope.understood] if scope.understood else []) + notes[len(prepared.notes):]
        return replace(a, text="\n".join(head + [a.text]), notes=tuple(notes), understood=scope.understood,
                       scope=scope)

    # -- comparisons
    def compare(self, prepared, scope: Scope, filters: Filters, how: Ask) -> Answer:
        base = replace(filters, doc_type=filters.doc_type or scope.doc_type, organisations=(), exclude=())
        named = list(scope.organisations)
        if len(named) >= 2:
            orgs = named
        else:
            orgs = named + [o for o in self.ranked_organisations(prepared.question, scope, base, how)
                            if o not in named][:MAX_COMPARED - len(named)]
        typed = bool(base.doc_type and not filters.doc_type)    # the question's type is only a preference
        answers, verdicts = self._per_organisation(prepared, scope, base, orgs, named, how, typed)
        if typed and not any(verdicts.values()) and not named:
            base = replace(base, doc_type=None)
            answers, verdicts = self._per_organisation(prepared, scope, base, orgs, named, how, False)
        groups = []
        for o in orgs:
            a = answers[o]
            if verdicts[o]:
                groups.append(OrgAnswer(o, a.quotes))
            elif o in named:
                missing = self.missing_in(o, scope, prepared.question)
                groups.append(OrgAnswer(o, (), compose_da.not_mentioned(o, scope.topic_phrase, missing)))
        if not named:                                         # "hvad siger kommunerne …": only those with a passage
            groups = [g for g in groups if g.quotes]
        quotes = tuple(q for g in groups for q in g.quotes)
        first = next(iter(answers.values()), None)
        if not quotes:
            fallback = self._answer(prepared, base, how)
            said = [g.note for g in groups]
            text = compose_da.compose_not_in_scope(list(prepared.notes), scope.understood, said, [],
                                                   list(fallback.related))
            return Answer(fallback.question, text, True, (), fallback.related, prepared.notes, fallback.confidence,
                          fallback.hits, fallback.missing_terms, fallback.english, scope.understood, tuple(groups),
                          tuple(named), (), scope)
        text = compose_da.compose_by_organisation(groups, list(prepared.notes), scope.understood)
        hits = _interleave([answers[g.organisation].hits for g in groups if g.quotes])
        confidence = max(answers[g.organisation].confidence for g in groups if g.quotes)
        return Answer(first.question, text, False, quotes, (), prepared.notes, confidence, hits,
                      first.missing_terms, first.english, scope.understood, tuple(groups),
                      tuple(g.organisation for g in groups if not g.quotes), (), scope)

    def _per_organisation(self, prepared, scope: Scope, base: Filters, orgs: list[str], named: list[str], how: Ask,
                          typed: bool):
        """Each organisation's answer and whether it covers the question. A named organisation is judged
        like a single named one (against everyone else's documents; without the document type when
        ``typed`` says that type was only a preference and it does not cover it); an organisation found
        by ranking ("hvad siger kommunerne …") counts when it answers within ``margin`` of the best one."""
        answers, verdicts = {}, {}
        for o in orgs:
            if o in named:
                r = self._in_scope(prepared, scope, o, base, how)
                if not r.covered and typed:
                    r2 = self._in_scope(prepared, scope, o, replace(base, doc_type=None), how)
                    r = r2 if r2.covered else r
                answers[o], verdicts[o] = r.inside, r.covered
            else:
                answers[o] = self._answer(prepared, replace(base, organisations=(o,)), how)
        ranked = [o for o in orgs if o not in named and not answers[o].abstained and answers[o].quotes]
        best = max((answers[o].confidence for o in ranked), default=0.0)
        for o in orgs:
            if o not in named:
                verdicts[o] = o in ranked and best - answers[o].confidence <= self.rule.margin
        return answers, verdicts

    def ranked_organisations(self, question: str, scope: Scope, filters: Filters, how: Ask) -> list[str]:
        """Organisations (of the kind asked about) in the order of their best passage for the question."""
        a = self.assistant
        index = a.index
        kind = scope.each_kind or ""
        allowed = tuple(o for o in sorted({d.organisation for d in index.documents.values()})
                        if o in index.organisations.aliases and _of_kind(o, kind))
        if not allowed:
            return []
        qvec = a.embedder.embed_queries([question])[0]
        hits = retrieve(index, question, qvec, k=50, mode=how.mode, filters=replace(filters, organisations=allowed),
                        depth=a.settings.fetch_depth, rrf_k=a.settings.rrf_k)
        seen: list[str] = []
        for h in hits:
            o = index.documents[h.chunk.document].organisation
            if o not in seen:
                seen.append(o)
        return seen


def _of_kind(organisation: str, kind: str) -> bool:
    if kind == "Kommune":
        return organisation.endswith(" Kommune")
    if kind == "Region":
        return organisation.startswith("Region ")
    return True


def _interleave(lists: list[tuple[Hit, ...]]) -> tuple[Hit, ...]:
    """Round robin over each organisation's ranked hits (no duplicates)."""
    out, seen = [], set()
    for i in range(max((len(x) for x in lists), default=0)):
        for x in lists:
            if i < len(x) and x[i].chunk.id not in seen:
                seen.add(x[i].chunk.id)
                out.append(x[i])
    return tuple(out)


def describe_scope(scope: Scope | None, organisation: str | None = None) -> str:
    """Which organisation scope applied to a quote from ``organisation``, in plain Danish ("why this passage")."""
    if scope is None or not scope.scoped:
        return "Spørgsmålet nævner ingen bestemt organisation, så der blev søgt i alle dokumenter."
    if scope.compare:
        whom = join_names(scope.organisations) if len(scope.organisations) > 1 else "hver organisation"
        return (f"Spørgsmålet sammenligner, så der blev søgt i dokumenterne fra {whom} hver for sig; "
                f"dette er et af de bedste citater fra {organisation or 'organisationen'}.")
    parts = []
    if scope.organisations:
        if scope.from_filter:
            why = "filteret er sat til " + join_names(scope.organisations)
        elif scope.follow_up:
            why = f"du spurgte »{scope.asked}«"
        else:
            why = "spørgsmålet nævner " + join_names([m.text for m in scope.org_mentions] or scope.organisations)
        whose = join_names(scope.organisations)
        if organisation and organisation not in scope.organisations:
            parts.append(f"Spørgsmålet gælder {whose}, fordi {why}; deres dokumenter dækker det ikke, så der blev "
                         f"søgt hos de andre organisationer. Citatet er fra {organisation}, ikke fra {whose}.")
        else:
            parts.append(f"Der blev kun søgt i dokumenterne fra {whose}, fordi {why}.")
    if scope.doc_type:
        parts.append(f"Dokumenter af typen «{scope.doc_type}» blev foretrukket.")
    return " ".join(parts)
