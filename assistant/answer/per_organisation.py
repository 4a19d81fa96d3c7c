"""Answers within an organisation scope, built around ``Assistant._answer``.

- A named organisation restricts the answer to its documents. Whether *they* answer the question is
  the answer decision (answer/decision.py) on their own candidates, which also weighs how much
  closer everyone's best passage is and which words of the subject only others' documents use; a
  best quote that holds every word of the subject is the answer whatever the decision says (a
  negative claim needs evidence of absence). When they do not answer it, the answer says so
  ("Ishøj Kommunes dokumenter nævner ikke sociale medier.") and only then quotes other
  organisations, labelled as theirs, when the decision says theirs answer it.
- A comparison is answered per organisation: each named one (or, for "hvad siger kommunerne
  om …", each organisation with a relevant passage, best first, up to ``MAX_COMPARED``) gets its
  best quotes or "nævner det ikke".
- A document type ("personalepolitikken") is a preference: when documents of that type do not
  cover the question, the answer comes from the other documents, with a note.

Everything reads the one ``Question`` that ``Assistant.understand`` made: its ``scope`` (whose
documents, compared or not) and, for passages, its ``topic`` (the question *without* the
organisations' names, ``Scope.query``): the name says whose documents to read, not what they
should say. ``_answer`` (retrieval, quote extraction, the decision) is called once per scope. Visibility travels in ``Filters``: an anonymous reader's comparison columns and
"what others say" quotes come from public documents only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.answer import compose as compose_da
from assistant.answer.extract import QUOTE_PASSAGES
from assistant.answer.question import Question
from assistant.answer.retrieve import Filters, retrieve
from assistant.answer.scope import Scope, genitive, join_names
from assistant.language.vocabulary import COMMON_ZIPF, Vocabulary, _zipf, content_words
from assistant.types import Answer, Hit, OrgAnswer

MAX_COMPARED = 5


MARGIN = 0.03      # "hvad siger kommunerne om …": an organisation whose best passage is this close to the best one's is shown


def top_passage(assistant, question: Question, qvec, filters: Filters) -> float:
    """The dense similarity of the best passage for ``question`` within ``filters`` (the baseline an
    organisation's best passage is compared with: the decision's ``scope_gap``)."""
    hits = retrieve(assistant.index, question.text, qvec, k=10, filters=filters, terms=question.terms,
                    depth=assistant.settings.fetch_depth, rrf_k=assistant.settings.rrf_k)
    return max((h.dense_score or 0.0 for h in hits), default=0.0)


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
    """One organisation's own answer to a question's topic, and whether it covers it."""
    inside: Answer               # within the organisation's documents, quoted regardless of the decision
    covers: bool                 # the answer decision on its candidates, or its best quote states the subject


class ScopedAnswers:
    """Scope-aware answering for one Assistant (its index, its ``_answer``)."""

    def __init__(self, assistant):
        self.assistant = assistant

    # -- building blocks
    def _answer(self, question: Question, filters: Filters, how: Ask, abstain: bool = True,
                asked: Question | None = None) -> Answer:
        """``Assistant._answer`` within ``filters``. One organisation's documents are judged beside everyone's:
        the decision weighs how much closer all documents' best passage is (``scope_gap``) and, given the
        question as ``asked``, the words of its subject only others' documents use (``scope_missing``). Without
        ``abstain`` the best candidates are quoted whatever the decision says."""
        a = self.assistant
        baseline, scope_missing = None, 0
        if filters.organisations:
            qvec = a.embedder.embed_queries([question.text])[0]
            baseline = top_passage(a, question, qvec, replace(filters, organisations=(), exclude=(), doc_type=None))
            if asked is not None and len(filters.organisations) == 1:
                scope_missing = len(self.subject_missing(filters.organisations[0], asked, filters.internal))
        if abstain:
            return a._answer(question, filters, how.k, how.mode, how.top_hits, how.timings, baseline, scope_missing)
        with a.regardless():
            return a._answer(question, filters, how.k, how.mode, how.top_hits, how.timings, baseline, scope_missing)

    @staticmethod
    def passes(answer: Answer, question: Question) -> bool:
        """Did the answer decision say these candidates answer the question?"""
        return bool(answer.quotes) and answer.verdict is not None and answer.verdict.answers

    def judge(self, question: Question, organisation: str, filters: Filters, how: Ask) -> Judged:
        """Does ``organisation`` cover the question (its ``about``: without the organisations' names)? The
        answer decision on its own candidates, as for any answer; and a negative claim needs evidence of
        absence: when its best quote holds every word of the question's subject ("… om sociale medier"),
        that quote is the answer whatever the decision says."""
        inside = self._answer(question.about, replace(filters, organisations=(organisation,), exclude=()), how, False,
                              question)
        if not inside.quotes:
            return Judged(inside, False)
        if self.passes(inside, question):
            return Judged(inside, True)
        if self.states_subject(inside, question):      # the verdict says why it answers after all
            stated = replace(inside.verdict, answers=True, subject_stated=True) if inside.verdict else None
            return Judged(replace(inside, verdict=stated), True)
        return Judged(inside, False)

    def states_subject(self, answer: Answer, question: Question) -> bool:
        """Does the answer's first quote hold every word of the question's subject (as lemma, compound part
        or inflection: the analyser's terms)?"""
        phrase = question.scope.topic_phrase
        if not phrase or not answer.quotes:
            return False
        analyzer = self.assistant.index.analyzer
        subject = {t for w in content_words(phrase) for t in analyzer.tokens(w)[:1]}
        return bool(subject) and subject <= set(analyzer.tokens(answer.quotes[0].text))

    def subject_missing(self, organisation: str, question: Question, internal: bool = False) -> tuple[str, ...]:
        """Words of the question's subject ("om sociale medier") that other documents use and this
        organisation's never do (of the documents the reader may see): evidence of absence."""
        phrase = question.scope.topic_phrase
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

    def _not_mentioned(self, organisation: str, question: Question, internal: bool,
                       inside: Answer | None = None) -> str:
        """ "X's documents do not mention …": the subject, or the kind of detail the decision found missing
        in X's best candidates ("… et beløb, der svarer direkte på spørgsmålet"), or the specific words."""
        scope = question.scope
        verdict = inside.verdict if inside is not None else None
        if verdict is not None and verdict.outcome == "no_direct_answer" and inside.quotes:
            return compose_da.no_direct_answer_line(verdict.missing_kind, f"{genitive(organisation)} dokumenter")
        return compose_da.not_mentioned(organisation, scope.topic_phrase,
                                        () if scope.topic_phrase else self.missing_in(organisation, question, internal))

    @staticmethod
    def _head(scope: Scope, notes: list[str]) -> list[str]:
        return ([scope.understood] if scope.understood else []) + notes

    # -- one named organisation (or only a document type)
    def single(self, question: Question, filters: Filters, how: Ask) -> Answer:
        """The organisation's own candidates for the topic (``question.about``: the question without the
        organisations' names) answer, when the answer decision says they do (``judge``); otherwise the
        answer says that its documents do not mention it, and quotes other organisations, labelled, when
        theirs answer it."""
        scope = question.scope
        if not scope.organisations:
            return self._typed(question, filters, how)
        org = scope.organisations[0]
        internal = filters.internal
        typed = replace(filters, doc_type=scope.doc_type) if scope.doc_type and not filters.doc_type else filters
        r = self.judge(question, org, typed, how)
        notes = []
        if not r.covers and typed is not filters:             # the document type was only a preference
            r2 = self.judge(question, org, filters, how)
            if r2.covers:
                r = r2
                notes.append(f"Dokumenttypen «{scope.doc_type}» hos {org} nævner det ikke; "
                             f"svaret kommer fra {genitive(org)} andre dokumenter.")
        inside = r.inside
        if r.covers:
            return replace(inside, text="\n".join(self._head(scope, notes) + [inside.text]),
                           notes=inside.notes + tuple(notes), understood=scope.understood, scope=scope,
                           by_organisation=(OrgAnswer(org, inside.quotes),))
        said = self._not_mentioned(org, question, internal, inside)
        outside = self._answer(question.about, replace(filters, organisations=(), exclude=(org,)), how)
        if not outside.abstained:
            text = compose_da.compose_not_in_scope(list(question.notes), scope.understood, [said],
                                                   list(outside.quotes), [])
            return Answer(question.text, text, True, (), (), question.notes, inside.confidence, inside.hits,
                          outside.missing_terms, outside.english, scope.understood, (OrgAnswer(org, (), said),),
                          (org,), outside.quotes, scope, verdict=inside.verdict)
        # nobody's documents answer it: the organisation's closest candidates when only a detail is missing
        related = inside.quotes if inside.verdict is not None and inside.verdict.outcome == "no_direct_answer" else ()
        rest = compose_da.compose_related(list(related)) if related else outside.text
        return replace(outside, text="\n".join(self._head(scope, []) + [said, rest]), related=related or outside.related,
                       understood=scope.understood, scope=scope, by_organisation=(OrgAnswer(org, (), said),),
                       not_in_scope=(org,), verdict=inside.verdict, hits=inside.hits or outside.hits)

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
        judged = {o: self.judge(question, o, base, how) for o in named}
        for o, r in judged.items():
            if not r.covers and typed:
                r2 = self.judge(question, o, replace(base, doc_type=None), how)
                if r2.covers:
                    r = r2
            answers[o], verdicts[o] = r.inside, r.covers
        if corpus.abstained and not any(verdicts.values()):
            groups = tuple(OrgAnswer(o, (), self._not_mentioned(o, question, internal, answers[o])) for o in named)
            return replace(corpus, text="\n".join(self._head(scope, [g.note for g in groups]) + [corpus.text]),
                           understood=scope.understood, scope=scope, by_organisation=groups,
                           not_in_scope=tuple(named))
        if len(named) < 2:                                     # "hvad siger kommunerne …", "X og de andre"
            for o in self.ranked_organisations(question, base, how):
                if o in answers or len(answers) >= MAX_COMPARED:
                    continue
                answers[o] = self._answer(question.about, replace(base, organisations=(o,)), how, False, question)
            # an organisation found this way is shown when the answer decision says its quotes answer
            # the topic or its best passage is as close as the best organisation's
            found = [o for o in answers if o not in named and answers[o].quotes]
            best = max((_top(answers[o]) for o in found), default=-1.0)
            for o in found:
                verdicts[o] = (self.passes(answers[o], question.about)
                               or best - _top(answers[o]) <= MARGIN)
        groups = []
        for o, a in answers.items():
            if verdicts.get(o):
                groups.append(OrgAnswer(o, a.quotes))
            elif o in named:
                groups.append(OrgAnswer(o, (), self._not_mentioned(o, question, internal, a)))
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
