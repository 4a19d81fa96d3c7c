"""Assistant: the one entry point the CLI, the UI and the eval suite call."""
from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.answer.compose import compose, compose_no_direct_answer, compose_not_covered, make_quote
from assistant.answer.decision import DECISION_PATH, TOP, Decision, Verdict, evidence, literal_coverage, load_decision
from assistant.answer.extract import CONFIDENCE_PASSAGES, QUOTE_PASSAGES, gather, select_quotes
from assistant.answer.per_organisation import Ask, ScopedAnswers, describe_scope
from assistant.answer.question import Question, analyse
from assistant.answer.rank import FEATURES, WEIGHTS_PATH, load_ranker, terms_of
from assistant.answer.retrieve import Filters, Stopwatch, retrieve
from assistant.answer.scope import Scope, ScopeReader
from assistant.answer.why import Why, matched_words
from assistant.config import Settings
from assistant.ingest.organisations import Registry
from assistant.language.danish import Analyzer
from assistant.limits import QUESTION_CHARS
from assistant.store.build import BuildSummary, build_index
from assistant.store.embed import Embedder
from assistant.store.index import Index, IndexDamaged, reader_scope, resolve_current
from assistant.types import Answer, Hit, Quote

MAX_QUESTION_CHARS = QUESTION_CHARS


class EmptyQuestion(ValueError):
    pass


class UnclearQuestion(EmptyQuestion):
    """Only punctuation, symbols or template placeholders ("???", "%s{0}"): nothing to look up."""


REPHRASE = "Jeg kan ikke se, hvad der spørges om. Omformulér spørgsmålet med ord, fx »hvad siger kodekset om sociale medier?«"
_PLACEHOLDER = re.compile(r"%[-+ #0-9.]*[sdifxXorc]|\{\{[^{}]*\}\}|\$\{[^{}]*\}|\{[^{}]*\}|<[^<>]*>")
_WORD = re.compile(r"[^\W_]{2,}")


@dataclass(frozen=True)
class Prepared:
    question: str
    notes: tuple[str, ...]


def prepare_question(question: str | None) -> Prepared:
    q = " ".join((question or "").split())
    q = "".join(c for c in q if c.isprintable())
    if not q.strip():
        raise EmptyQuestion("empty question")
    if not _WORD.search(_PLACEHOLDER.sub(" ", q)):
        raise UnclearQuestion(f"no words to look up in {q[:80]!r}; rephrase the question in words")
    notes = ()
    if len(q) > MAX_QUESTION_CHARS:
        q = q[:MAX_QUESTION_CHARS]
        notes = (f"Spørgsmålet var meget langt; jeg har kun brugt de første {MAX_QUESTION_CHARS} tegn.",)
    return Prepared(q, notes)


class SpanVectors:
    """Embeddings of candidate quotes in both modes, keyed by their text.

    Quote extraction compares the sentences of the top passages as passages (for ranking them);
    the abstention confidence compares the best of them as queries. The index stores both for
    every candidate (``Index.spans``, computed at build time), so a question embeds nothing but
    itself. A text missing from the store (an index built before the store, or a candidate rule
    changed since the build) is embedded in both modes in one batch the first time it comes up
    and memoised here (bounded, LRU).
    """

    def __init__(self, embedder, max_items: int = 100_000):
        self.embedder, self.max_items = embedder, max_items
        self._vecs: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def _embed(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(*self.embedder.embed_both(texts)))

    def both(self, texts: list[str], store=None) -> tuple[np.ndarray, np.ndarray]:
        """The passage and the query vectors of ``texts`` (two arrays, a row per text), from the
        index's store where it holds them (one lookup for both), else embedded once and memoised."""
        if store is not None:
            rows = store.rows(texts)
            if len(texts) and (rows >= 0).all():
                block = np.asarray(store.vectors[rows], dtype=np.float32)
                return np.ascontiguousarray(block[:, 0]), np.ascontiguousarray(block[:, 1])
        stored = store.get(texts) if store is not None else {}
        rest = [t for t in texts if t not in stored]
        found = {**stored, **dict(zip(rest, self._memoised(rest)))} if rest else stored
        pairs = [found[t] for t in texts]
        return np.stack([p for p, _ in pairs]), np.stack([q for _, q in pairs])

    def _memoised(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vecs))
        if missing:
            fresh = self._embed(missing)
            with self._lock:
                for t, v in zip(missing, fresh):
                    self._vecs[t] = v
                while len(self._vecs) > self.max_items:
                    self._vecs.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                v = self._vecs.get(t)
                if v is None:                       # evicted meanwhile by another thread
                    v = self._embed([t])[0]
                else:
                    self._vecs.move_to_end(t)
                out.append(v)
        return out

    def passages(self, texts: list[str], store=None) -> np.ndarray:
        return self.both(texts, store)[0]

    def clear(self) -> None:
        with self._lock:
            self._vecs.clear()


class QueryMemo:
    """An embedder that remembers the last questions' query vectors (LRU), delegating everything else.

    A scoped question runs ``Assistant._answer`` once per organisation (and once outside it), each
    embedding the same question; with this, the question is embedded once.
    """

    def __init__(self, embedder, max_items: int = 256):
        self._embedder, self._max = embedder, max_items
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self._embedder.embed_queries(texts)
        with self._lock:
            vec = self._memo.get(texts[0])
            if vec is not None:
                self._memo.move_to_end(texts[0])
                return vec[None, :]
        vec = self._embedder.embed_queries(texts)[0]
        with self._lock:
            self._memo[texts[0]] = vec
            while len(self._memo) > self._max:
                self._memo.popitem(last=False)
        return vec[None, :]

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()

    def __getattr__(self, name):
        return getattr(self._embedder, name)


def _reader_scoped(method):
    """Run ``method(self, question, filters, …)`` inside the reader's scope (``Filters.internal``):
    what reads ``Index.vocabulary`` meanwhile (the coverage check) sees only the words of
    documents this reader may see."""
    @functools.wraps(method)
    def scoped(self, question, filters: Filters | None = None, *args, **kwargs):
        with reader_scope(filters is not None and filters.internal), self.one_version():
            return method(self, question, filters, *args, **kwargs)
    return scoped


class Assistant:
    """Load the index once; answer questions with verbatim quotes; rebuild on demand.

    When another process swaps in a new index version, the next question loads it
    (and keeps serving the old one if the new one cannot be loaded).
    """

    def __init__(self, settings: Settings | None = None, index_dir: Path | None = None,
                 embedder: Embedder | None = None, decision: Decision | None = None):
        self.settings = settings or Settings.from_env()
        self.index_dir = Path(index_dir or self.settings.index_dir)
        self.embedder = QueryMemo(embedder or Embedder(self.settings))
        # the answer decision; without weights (only while training them) every best candidate is quoted
        self.decision = decision or (load_decision(DECISION_PATH) if DECISION_PATH.exists() else None)
        self._local = threading.local()           # per thread: quote regardless of the decision (``regardless``)
        self.span_vectors = SpanVectors(self.embedder)
        self.scoped = ScopedAnswers(self)
        self._reader: tuple[tuple[str, bool], ScopeReader] | None = None
        self.ranker = load_ranker(str(WEIGHTS_PATH)) if WEIGHTS_PATH.exists() else None
        self.use_stored_spans = True      # False: embed candidates on first sight (for the benchmark)
        self._index: Index | None = None
        self._refused: Path | None = None          # a damaged version `current` pointed at
        self._pinned = threading.local()            # the version one question reads (one_version)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def regardless(self):
        """Within the block, ``_answer`` in this thread quotes its best candidates whatever the decision says
        (an organisation's own candidates, weighed against others'); the answer still carries the verdict."""
        old = getattr(self._local, "regardless", False)
        self._local.regardless = True
        try:
            yield
        finally:
            self._local.regardless = old

    def warm_up(self) -> None:
        """Load everything the first question needs: the model in a background thread (ONNX Runtime
        and the tokenizer load in native code), the index and the Danish word lists meanwhile.
        A failure to load either is raised here, in the caller's thread (one message, no thread traceback)."""
        failed: list[BaseException] = []

        def load_model():
            try:
                getattr(self.embedder, "encoder", None)   # an embedder without lazy loading has nothing to warm
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                failed.append(exc)

        loader = threading.Thread(target=load_model, daemon=True)
        loader.start()
        try:
            index = self.index
            index.analyzer.tokens("kodekset")            # the lemmatiser's dictionary
            index.vocabulary.check("kodekset")            # the documents' words and word frequencies
        finally:
            loader.join()
        if failed:
            raise failed[0]

    # -- index
    @contextlib.contextmanager
    def one_version(self):
        """Everything one question reads comes from one index version: ``current`` is checked once
        when the question starts (a rebuild switching meanwhile serves the next question)."""
        if getattr(self._pinned, "index", None) is not None:       # already inside a question
            yield
            return
        self._pinned.index = self.index
        try:
            yield
        finally:
            self._pinned.index = None

    @property
    def index(self) -> Index:
        pinned = getattr(self._pinned, "index", None)
        if pinned is not None:
            return pinned
        try:
            current = resolve_current(self.index_dir)
        except IndexDamaged:
            if self._index is None:
                raise
            current = None                        # e.g. a symlink loop: keep serving the version we have
        idx = self._index
        if idx is None or (current is not None and current != idx.path and current != self._refused):
            with self._lock:
                if self._index is None or (current is not None and current != self._index.path
                                           and current != self._refused):
                    try:
                        self._index = Index.load(self.index_dir, self.embedder.model_id, self.settings)
                    except Exception as exc:
                        if self._index is None:
                            raise
                        # keep serving the version we have; versions never change, so do not retry this one
                        self._refused = current
                        print(f"keeping index {self._index.version}: {exc}", file=sys.stderr, flush=True)
            idx = self._index
        return idx

    def build(self, corpus: Path | None = None, progress: bool = False, **kw) -> BuildSummary:
        return build_index(Path(corpus or self.settings.corpus_dir), self.index_dir, self.embedder,
                           self.settings, Analyzer(), progress=progress, **kw)

    # -- questions
    def search(self, question: str, k: int = 10, filters: Filters | None = None,
               mode: str = "hybrid") -> list[Hit]:
        q = prepare_question(question).question
        qvec = self.embedder.embed_queries([q])[0] if mode != "bm25" else None
        return retrieve(self.index, q, qvec, k=k, mode=mode, filters=filters,
                        depth=self.settings.fetch_depth, rrf_k=self.settings.rrf_k)

    @_reader_scoped
    def ask(self, question: str, filters: Filters | None = None, k: int = 3,
            mode: str = "hybrid", top_hits: int = QUOTE_PASSAGES, timings: dict | None = None,
            previous: Scope | dict | None = None) -> Answer:
        """Answer with up to ``k`` verbatim quotes, or abstain. ``timings`` (when given) receives
        seconds per stage: embed, dense, bm25, fusion, extract. Internal documents are in scope only
        with ``Filters(internal=True)``; the reader's scope also limits the coverage check's words.

        The question is read once (``understand``) into a ``Question`` whose ``scope`` decides whose
        documents answer: a named organisation (or the ``filters`` organisation, given by name or
        alias) restricts the answer to its documents, or says they do not cover it and then quotes
        others, labelled; a comparison is answered per organisation (``assistant/answer/per_organisation.py``).
        ``previous`` (the previous answer's ``scope``, or its JSON form) lets a follow-up such as
        "hvad med Aarhus?" keep the previous topic.
        """
        filters = self.resolve_filters(filters)
        q = self.understand(question, previous, filters)
        filters = replace(filters, organisations=())      # the scope says whose documents, per step
        scope = q.scope
        how = Ask(k, mode, top_hits, timings)
        if scope.compare:
            answer = self.scoped.compare(q, filters, how)
        elif scope.organisations or scope.doc_type:
            answer = self.scoped.single(q, filters, how)
        else:
            answer = self._answer(q, filters, k, mode, top_hits, timings)
            if scope.understood:                            # a follow-up: say what was understood
                answer = replace(answer, text=f"{scope.understood}\n{answer.text}", understood=scope.understood)
        return replace(answer, question=q.text, scope=scope)

    def understand(self, question: str, previous: Scope | dict | None = None,
                   filters: Filters | None = None) -> Question:
        """The question read once: prepared (``prepare_question``), its organisation scope (the
        organisations and document types this reader may see; a follow-up resolved against
        ``previous``; the ``filters`` organisation when the question names none), and analysed
        (terms, focus, answer kind, language). Every later step reads this value."""
        prepared = prepare_question(question)
        filters = Filters() if filters is None else filters      # (Filters(internal=True) is falsy)
        reader = self.scope_reader(filters.internal)
        if isinstance(previous, dict):
            previous = reader.restore(previous) if previous.get("answered") else None
        scope = reader.read(prepared.question, previous)
        if filters.organisations and not scope.organisations:
            scope = replace(scope, organisations=filters.organisations, from_filter=True,
                            compare=scope.compare and len(filters.organisations) > 1)
        return analyse(prepared.question, self.index.analyzer, scope, prepared.notes)

    def scope_reader(self, internal: bool = False) -> ScopeReader:
        """The organisations and document types a reader may see in the current index version, for
        reading questions (an organisation or type only internal documents have is not recognised
        for an anonymous reader)."""
        index = self.index
        key = (index.version, bool(internal))
        cached = self._reader
        if cached is None or cached[0] != key:
            docs = index.visible_documents(internal).values()
            seen = {d.organisation for d in docs}
            registry = Registry({o: set(a) for o, a in index.organisations.aliases.items() if o in seen})
            cached = (key, ScopeReader(registry, {d.doc_type for d in docs}))
            self._reader = cached
        return cached[1]

    def read_scope(self, question: str, filters: Filters | None = None) -> Scope:
        """The scope of ``question`` alone (``assistant ask --after``: the question a follow-up follows)."""
        return self.understand(question, None, self.resolve_filters(filters)).scope

    def resolve_filters(self, filters: Filters | None) -> Filters:
        """A typed organisation filter ("aalborg", "Borgerrepræsentationen", "KFR") as its canonical name,
        when that organisation has documents the reader may see (otherwise the typed words stay a
        substring filter, which then matches nothing the reader may see)."""
        filters = Filters() if filters is None else filters      # (Filters(internal=True) is falsy)
        if filters.organisation:
            canon = self.index.organisations.resolve(filters.organisation)
            visible = {d.organisation for d in self.index.visible_documents(filters.internal).values()}
            if canon in visible:
                filters = replace(filters, organisation=None, organisations=(canon,))
        return filters

    def why(self, question: str, quote: Quote, scope: Scope | dict | None = None,
            hits: tuple[Hit, ...] = (), internal: bool = False) -> Why:
        """Why ``quote`` answers ``question`` (the question as answered), in plain Danish, on demand."""
        if isinstance(scope, dict):
            scope = self.scope_reader(internal).restore(scope) if scope.get("answered") else None
        q = prepare_question(question).question
        qvec = self.embedder.embed_queries([q])[0]
        similarity = float((self.span_vectors.passages([quote.text]) @ qvec)[0])
        rank = next((i for i, h in enumerate(hits, start=1) if h.chunk.document == quote.document
                     and h.chunk.start <= quote.start and quote.end <= h.chunk.end), None)
        return Why(matched_words(q, quote.text, self.index.analyzer), similarity,
                   describe_scope(scope, quote.organisation), rank)

    def _answer(self, question: Question, filters: Filters | None, k: int, mode: str, top_hits: int,
                timings: dict | None, baseline: float | None = None, scope_missing: int = 0) -> Answer:
        """Retrieve, extract, decide and compose for one analysed question within ``filters``: an answer,
        no direct answer (a detail asked for that the best candidates do not hold) or not covered.
        ``baseline``: within an organisation's documents, the best passage of all documents' similarity;
        ``scope_missing``: the question's specific words other documents use and the organisation's never do."""
        q = question.text
        index = self.index
        clock = Stopwatch(timings)
        qvec = self.embedder.embed_queries([q])[0]
        clock.lap("embed")
        hits = retrieve(index, q, qvec, k=max(10, top_hits), mode=mode, filters=filters,
                        depth=self.settings.fetch_depth, rrf_k=self.settings.rrf_k, timings=timings,
                        terms=question.terms)
        clock = Stopwatch(timings)
        store = index.spans if self.use_stored_spans else None
        cands = gather(question, qvec, hits[:top_hits], self.span_vectors, index.documents, index.analyzer,
                       self.ranker_for(len(qvec)), store)
        chosen = select_quotes(cands.scored, cands.vectors, max_quotes=k)
        docs = index.documents
        confidence = self.confidence(cands.scored)
        coverage = index.vocabulary.check_words(question.words, question.english)
        verdict = self.decide(question, qvec, cands, hits[:top_hits], len(coverage.missing), baseline, scope_missing)
        clock.lap("extract")
        notes = question.notes
        quotes = [make_quote(docs[s.hit.chunk.document], s.hit.chunk.heading, s.span.start, s.span.end, s.score,
                             (s.hit.chunk.start, s.hit.chunk.end)) for s in chosen]
        if chosen and (verdict.answers or getattr(self._local, "regardless", False)):
            return Answer(q, compose(quotes, list(notes)), False, tuple(quotes), (), notes,
                          confidence, tuple(hits), coverage.missing, coverage.english, verdict=verdict)
        if coverage.missing:          # a word of the question no document uses: not covered, not a missing detail
            verdict = replace(verdict, missing_kind=None)
        if chosen and verdict.outcome == "no_direct_answer":
            # the subject is in the documents, the detail asked for is not: the closest candidates, as related
            text = compose_no_direct_answer(verdict.missing_kind, quotes, list(notes))
            return Answer(q, text, True, (), tuple(quotes), notes, confidence, tuple(hits),
                          coverage.missing, coverage.english, verdict=verdict)
        related = [make_quote(docs[h.chunk.document], h.chunk.heading, h.chunk.start,
                              _first_line_end(h.chunk), h.dense_score or 0.0) for h in hits[:3]]
        text = compose_not_covered(related, list(notes), coverage.missing)
        return Answer(q, text, True, (), tuple(related), notes, confidence, tuple(hits),
                      coverage.missing, coverage.english, verdict=verdict)

    def decide(self, question: Question, qvec: np.ndarray, cands, hits: list[Hit], missing_words: int,
               baseline: float | None = None, scope_missing: int = 0) -> Verdict:
        """The answer decision (answer/decision.py) on these candidates (``regardless`` does not change it)."""
        scored = cands.scored
        scores = np.array([s.score for s in scored], np.float64)
        literal = np.zeros(len(scored), np.float32)     # evidence reads only the best candidates' (decision.TOP)
        best = np.argsort(-scores, kind="stable")[:TOP]
        literal[best] = literal_coverage(question, [terms_of(self.index.analyzer, scored[i].span.text) for i in best])
        top_passage = max((h.dense_score or 0.0 for h in hits), default=0.0)
        gap = baseline - top_passage if baseline is not None else 0.0
        ev = evidence(question, cands.X, scores, literal, top_passage, missing_words, FEATURES, qvec, cands.vectors, gap,
                      scope_missing)
        if self.decision is None:
            return Verdict(True, 1.0, ev.missing_kind)
        return self.decision.for_dimension(len(qvec)).decide(ev)

    def ranker_for(self, dim: int):
        """The quote ranker for vectors of ``dim`` dimensions: its meaning interaction was learned on the
        default model's vectors, so with another model (another dimension) only its other features weigh."""
        r = self.ranker
        if r is not None and r.inter is not None and len(r.inter.coef) != dim:
            return replace(r, inter=None)
        return r

    def confidence(self, scored) -> float:
        """How sure we are that the best candidates answer the question, for abstention.

        The best candidate quotes by meaning and word overlap (three by default,
        ``Settings.confidence_spans``, chosen on the dev split; not by the quote ranker, so that
        retraining it does not move the calibrated thresholds) are compared with the question as *queries* too (E5's symmetric mode, meant
        for similarity between two texts of the same kind), not as passages: on the dev split
        this separates answerable from unanswerable questions better than the asymmetric score
        used for ranking (docs/evaluation.md, "Abstention").
        """
        pool = [s for s in scored if s.span.hit_rank < CONFIDENCE_PASSAGES]
        best = sorted(pool, key=lambda s: -s.similarity)[:self.settings.confidence_spans]
        return max((s.sym for s in best), default=0.0)


def _first_line_end(chunk) -> int:
    nl = chunk.text.find("\n")
    return chunk.start + (nl if nl > 0 else len(chunk.text))
