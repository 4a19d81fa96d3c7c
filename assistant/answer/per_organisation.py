"""Answers within an organisation scope, built around ``Assistant._answer``.

- Whether the documents answer a question at all stays the abstention rule's decision, taken as
  before #16: on the question as asked, over the whole corpus (``corpus``).
- A named organisation restricts the answer to its documents. Whether *they* cover the question
  is decided against everyone else's documents (``CoverRule``): when they do not, the answer says
  so ("Ishøj Kommunes dokumenter nævner ikke sociale medier.") and only then quotes other
  organisations, labelled as theirs.
- A comparison is answered per organisation: each named one (or, for "hvad siger kommunerne
  om …", each organisation with a relevant passage, best first, up to ``MAX_COMPARED``) gets its
  best quotes or "nævner det ikke".
- A document type ("personalepolitikken") is a preference: when documents of that type do not
  cover the question, the answer comes from the other documents, with a note.

Everything reads the one ``Question`` that ``Assistant.understand`` made: its ``scope`` (whose
documents, compared or not) and, for passages, its ``topic`` (the question *without* the
organisations' names, ``Scope.query``): the name says whose documents to read, not what they
should say. ``_answer`` (retrieval, quote extraction, abstention) is called once per scope and is
not changed. Visibility travels in ``Filters``: an anonymous reader's comparison columns and
"what others say" quotes come from public documents only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.answer import compose as compose_da
from assistant.answer.decision import NEVER_ABSTAIN
from assistant.answer.extract import QUOTE_PASSAGES
from assistant.answer.question import Question
from assistant.answer.retrieve import Filters, retrieve
from assistant.answer.scope import Scope, genitive, join_names
from assistant.language.vocabulary import COMMON_ZIPF, Vocabulary, _zipf, content_words
from assistant.types import Answer, Hit, OrgAnswer

MAX_COMPARED = 5


@dataclass(frozen=True)
class CoverRule:
    """Do an organisation's documents cover a question that the corpus as a whole answers?

    No, when none of its passages is among the ``gate`` best passages of the whole corpus for the
    question and the best passage of the other organisations is more than ``margin`` closer to the
    question (dense similarity) than the organisation's best; or when a word of the question's
    subject ("… om sociale medier") never occurs in the organisation's documents, though it does in
    others', and the other organisations' best candidate quotes are more than ``topic_margin`` closer
    (``Assistant.confidence``). The numbers were chosen on the development corpus (docs/decisions.md,
    "Answers"); the second test matters in small corpora, where every organisation has a
    passage among the first ``gate``.

    In a comparison the first test leaves the other compared organisations out of "everyone else"
    (they are answered beside it, not instead of it) and asks, too, that the organisation be clearly
    below the best of them: "nævner det ikke" beside the organisations it is compared with, not only
    beside a third party's guidance. The second test counts them: a subject word one compared
    organisation never uses and another does is what "nævner det ikke" means (``rivals``).
    """
    gate: int = 10
    margin: float = 0.03
    topic_margin: float = 0.02

    def covers(self, judged: "Judged", rivals: tuple[Answer, ...] = ()) -> bool:
        """``rivals``: the other compared organisations' answers (within their own documents)."""
        inside, outside = judged.inside, judged.outside
        closer = _top(outside)
        if rivals:       # a comparison: clearly below the organisations it is compared with, too
            closer = min(closer, max(_top(r) for r in rivals))
        if (judged.rank is None or judged.rank > self.gate) and closer - _top(inside) > self.margin:
            return False
        closest = max([outside.confidence, *(r.confidence for r in rivals if r.quotes)])
        if judged.topic_missing and closest - inside.confidence > self.topic_margin:
            return False
        return bool(inside.quotes)


def _top(answer: Answer) -> float:
    """Dense similarity of the answer's best passage to the question (-1 without passages)."""
    return max((h.dense_score or 0.0 for h in answer.hits[:1]), default=-1.0)


@dataclass(frozen=True)
class Ask:
    """The parameters of one ``Assistant.ask`` passed down to every ``_answer`` call."""
    k: int = 3
    mode: str = "hybrid"
    top_hits: int = QUOTE_PASSAGES
    timings: dict | None = None


@dataclass(frozen=True)
class Judged:
    """What ``CoverRule`` weighs for one organisation and a question."""
    inside: Answer               # within the organisation's documents (no abstention: the corpus decided that)
    outside: Answer              # within everyone else's (but a comparison's other organisations)
    rank: int | None             # place of its best passage in the whole corpus (None: below the gate)
    topic_missing: tuple[str, ...]   # words of the question's subject its documents never use


class ScopedAnswers:
    """Scope-aware answering for one Assistant (its index, its ``_answer``)."""

    def __init__(self, assistant, rule: CoverRule | None = None):
        self.assistant = assistant
        self.rule = rule or CoverRule()

    # -- building blocks
    def _answer(self, question: Question, filters: Filters, how: Ask, abstain: bool = True) -> Answer:
        a = self.assistant
        if abstain:
            return a._answer(question, filters, how.k, how.mode, how.top_hits, how.timings)
        with a.abstaining(NEVER_ABSTAIN):
            return a._answer(question, filters, how.k, how.mode, how.top_hits, how.timings)

    def passes(self, answer: Answer, question: Question) -> bool:
        """Would the abstention rule answer with these candidates? (the rule as is; only asked here)"""
        coverage = self.assistant.index.vocabulary.check_words(question.words, question.english)
        return bool(answer.quotes) and not self.assistant.abstain.abstains(answer.confidence, coverage)

    def rank_of(self, organisation: str, question: Question, filters: Filters, how: Ask) -> int | None:
        """Place of the organisation's best passage in the whole corpus's ranking (None: below the gate)."""
        a = self.assistant
        qvec = a.embedder.embed_queries([question.text])[0]
        hits = retrieve(a.index, question.text, qvec, k=self.rule.gate, mode=how.mode,
                        filters=replace(filters, organisations=()), terms=question.terms,
                        depth=a.settings.fetch_depth, rrf_k=a.settings.rrf_k)
        docs = a.index.documents
        return next((i for i, h in enumerate(hits, start=1) if docs[h.chunk.document].organisation == organisation),
                    None)

    def judge(self, question: Question, organisation: str, filters: Filters, how: Ask,
              beside: tuple[str, ...] = ()) -> Judged:
        """Does ``organisation`` cover the question (its ``about``: without the organisations' names),
        compared with everyone except it (and ``beside``: the other organisations of a comparison)?"""
        topic = question.about
        inside = self._answer(topic, replace(filters, organisations=(organisation,), exclude=()), how, False)
        others = replace(filters, organisations=(), exclude=(organisation, *beside))
        outside = self._answer(topic, others, how, False)
        rank = self.rank_of(organisation, topic, replace(filters, exclude=beside), how)
        return Judged(inside, outside, rank, self.topic_missing(organisation, question.scope, filters.internal))

    def topic_missing(self, organisation: str, scope: Scope, internal: bool = False) -> tuple[str, ...]:
        """Words of the question's subject ("om sociale medier") that other documents use and this
        organisation's never do (of the documents the reader may see)."""
        phrase = scope.topic_phrase
        if not phrase:
            return ()
        index = self.assistant.index
        vocab = self.vocabulary(organisation, internal)
        return tuple(w for w in content_words(phrase)
                     if _zipf(w, "da") < COMMON_ZIPF and index.vocabulary.covers(w) and not vocab.covers(w))

    def missing_in(self, organisation: str, question: Question, internal: bool = False) -> tuple[str, ...]:
        """Specific question words the corpus uses and this organisation's documents never do (named in the
        "does not mention" sentence when the question has no "om …" subject)."""
        topic = question.about
        cov = self.assistant.index.vocabulary.check_words(topic.words, topic.english)
        if cov.english:
            return ()
        names = {w for m in question.scope.org_mentions for w in content_words(m.text)}
        vocab = self.vocabulary(organisation, internal)
        return tuple(w for w in cov.words
                     if w not in names and _zipf(w, "da") < COMMON_ZIPF and w not in cov.missing
                     and not vocab.covers(w))[:3]

    def vocabulary(self, organisation: str, internal: bool = False) -> Vocabulary:
        """The words of one organisation's documents that the reader may see (cached per index version)."""
        index = self.assistant.index
        cache = getattr(self, "_vocab", None)
        if cache is None or cache[0] != index.version:
            cache = self._vocab = (index.version, {})
        key = (organisation, bool(internal))
        if key not in cache[1]:
            docs = [d for d in index.visible_documents(internal).values() if d.organisation == organisation]
            cache[1][key] = Vocabulary([d.text for d in docs] + [f"{d.title} {d.organisation}" for d in docs])
        return cache[1][key]

    def _covered_somewhere(self, question: Question, judged: list[Judged]) -> bool:
        """Does some document cover the question read without the organisations' names? The question as
        asked abstained; its topic may still pass the rule inside an organisation or outside it (the name
        is not something passages say, and lowers their similarity)."""
        return any(self.passes(a, question.about) for j in judged for a in (j.inside, j.outside))

    def _not_mentioned(self, organisation: str, question: Question, internal: bool) -> str:
        scope = question.scope
        return compose_da.not_mentioned(organisation, scope.topic_phrase,
                                        () if scope.topic_phrase else self.missing_in(organisation, question, internal))

    @staticmethod
    def _head(scope: Scope, notes: list[str]) -> list[str]:
        return ([scope.understood] if scope.understood else []) + notes

    # -- one named organisation (or only a document type)
    def single(self, question: Question, filters: Filters, how: Ask) -> Answer:
        """The question as asked decides the corpus's abstention; its topic (``question.about``) is what
        the organisation's passages are compared with."""
        scope = question.scope
        if not scope.organisations:
            return self._typed(question, filters, how)
        org = scope.organisations[0]
        internal = filters.internal
        corpus = self._answer(question, filters, how)
        typed = replace(filters, doc_type=scope.doc_type) if scope.doc_type and not filters.doc_type else filters
        r = self.judge(question, org, typed, how)
        covered = self.rule.covers(r)
        if corpus.abstained and not self._covered_somewhere(question, [r]):
            said = self._not_mentioned(org, question, internal)   # no document covers it: as before #16
            return replace(corpus, text="\n".join(self._head(scope, []) + [said, corpus.text]),
                           understood=scope.understood, scope=scope, by_organisation=(OrgAnswer(org, (), said),),
                           not_in_scope=(org,))
        notes = []
        if not covered and typed is not filters:             # the document type was only a preference
            r = self.judge(question, org, filters, how)
            covered = self.rule.covers(r)
            if covered:
                notes.append(f"Dokumenttypen «{scope.doc_type}» hos {org} nævner det ikke; "
                             f"svaret kommer fra {genitive(org)} andre dokumenter.")
        if covered:
            inside = r.inside
            return replace(inside, text="\n".join(self._head(scope, notes) + [inside.text]),
                           notes=inside.notes + tuple(notes), confidence=corpus.confidence,
                           missing_terms=corpus.missing_terms, understood=scope.understood, scope=scope,
                           by_organisation=(OrgAnswer(org, inside.quotes),))
        said = self._not_mentioned(org, question, internal)
        others = r.outside.quotes
        text = compose_da.compose_not_in_scope(list(question.notes), scope.understood, [said], list(others), [])
        return Answer(corpus.question, text, True, (), (), question.notes, corpus.confidence, r.inside.hits,
                      corpus.missing_terms, corpus.english, scope.understood, (OrgAnswer(org, (), said),), (org,),
                      tuple(others), scope)

    def _typed(self, question: Question, filters: Filters, how: Ask) -> Answer:
        """A document type named without an organisation: that type first, everything when it does not cover it."""
        scope, topic = question.scope, question.about
        notes = []
        if filters.doc_type:
            a = self._answer(topic, filters, how)
        else:
            a = self._answer(topic, replace(filters, doc_type=scope.doc_type), how)
            if a.abstained:
                b = self._answer(topic, filters, how)
                if not b.abstained:
                    notes.append(f"Dokumenttypen «{scope.doc_type}» nævner det ikke; svaret kommer fra andre dokumenter.")
                    a = b
        return replace(a, text="\n".join(self._head(scope, notes) + [a.text]), notes=a.notes + tuple(notes),
                       understood=scope.understood, scope=scope)

    # -- comparisons
    def compare(self, question: Question, filters: Filters, how: Ask) -> Answer:
        scope = question.scope
        named = list(scope.organisations)
        internal = filters.internal
        corpus = self._answer(question, filters, how)
        typed = bool(scope.doc_type and not filters.doc_type)     # the question's type is only a preference
        base = replace(filters, doc_type=filters.doc_type or scope.doc_type, organisations=(), exclude=())
        answers: dict[str, Answer] = {}
        verdicts: dict[str, bool] = {}
        judged = {o: self.judge(question, o, base, how, tuple(x for x in named if x != o)) for o in named}
        for o, r in judged.items():
            rivals = tuple(judged[x].inside for x in named if x != o)
            covered = self.rule.covers(r, rivals)
            if not covered and typed:
                r2 = self.judge(question, o, replace(base, doc_type=None), how, tuple(x for x in named if x != o))
                if self.rule.covers(r2, rivals):
                    r, covered = r2, True
            answers[o], verdicts[o] = r.inside, covered
        if corpus.abstained and not self._covered_somewhere(question, list(judged.values())):
            groups = tuple(OrgAnswer(o, (), self._not_mentioned(o, question, internal)) for o in named)
            return replace(corpus, text="\n".join(self._head(scope, [g.note for g in groups]) + [corpus.text]),
                           understood=scope.understood, scope=scope, by_organisation=groups,
                           not_in_scope=tuple(named))
        if len(named) < 2:                                     # "hvad siger kommunerne …", "X og de andre"
            for o in self.ranked_organisations(question, base, how):
                if o in answers or len(answers) >= MAX_COMPARED:
                    continue
                answers[o] = self._answer(question.about, replace(base, organisations=(o,)), how, False)
            # an organisation found this way is shown when its quotes would be answered on their own
            # (the abstention rule) or its best passage is as close as the best organisation's
            found = [o for o in answers if o not in named and answers[o].quotes]
            best = max((_top(answers[o]) for o in found), default=-1.0)
            for o in found:
                verdicts[o] = (self.passes(answers[o], question.about)
                               or best - _top(answers[o]) <= self.rule.margin)
        groups = []
        for o, a in answers.items():
            if verdicts.get(o):
                groups.append(OrgAnswer(o, a.quotes))
            elif o in named:
                groups.append(OrgAnswer(o, (), self._not_mentioned(o, question, internal)))
        quotes = tuple(q for g in groups for q in g.quotes)
        text = compose_da.compose_by_organisation(groups, list(question.notes), scope.understood)
        hits = _interleave([answers[g.organisation].hits for g in groups if g.quotes]) or corpus.hits
        return Answer(corpus.question, text, not quotes, quotes, () if quotes else corpus.related, question.notes,
                      corpus.confidence, hits, corpus.missing_terms, corpus.english, scope.understood, tuple(groups),
                      tuple(g.organisation for g in groups if not g.quotes), (), scope)

    def ranked_organisations(self, question: Question, filters: Filters, how: Ask) -> list[str]:
        """Organisations (of the kind asked about, with documents the reader may see) in the order of
        their best passage for the question's topic."""
        a = self.assistant
        index = a.index
        kind = question.scope.each_kind or ""
        visible = {d.organisation for d in index.visible_documents(filters.internal).values()}
        allowed = tuple(o for o in sorted(visible) if o in index.organisations.aliases and _of_kind(o, kind))
        if not allowed:
            return []
        topic = question.about
        qvec = a.embedder.embed_queries([topic.text])[0]
        hits = retrieve(index, topic.text, qvec, k=50, mode=how.mode, filters=replace(filters, organisations=allowed),
                        terms=topic.terms, depth=a.settings.fetch_depth, rrf_k=a.settings.rrf_k)
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
