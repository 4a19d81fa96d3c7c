"""Candidate-quote vectors stored with the index: incremental, used by ask, optional (fake embedder)."""
import shutil

import numpy as np
import pytest
from conftest import CORPUS
from fakes import FakeEmbedder

from assistant.answer.assistant import Assistant
from assistant.answer.decision import ALWAYS
from assistant.config import Settings
from assistant.store.build import build_index
from assistant.store.index import Index, resolve_current
from assistant.store.spans import KEYS, VECTORS, SpanStore, chunk_span_texts

QUESTIONS = ["hvad siger kodekset om sociale medier?", "må jeg modtage gaver?",
             "hvordan håndterer vi konflikter?", "hvad er tavshedspligt?"]


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    return d


def build(corpus, root, emb=None):
    emb = emb or FakeEmbedder()
    return build_index(corpus, root, emb, Settings(), progress=False), emb


def test_build_stores_every_candidate_once_and_reuses_them(corpus, tmp_path):
    first, emb = build(corpus, tmp_path / "index")
    idx = Index.load(tmp_path / "index")
    texts = chunk_span_texts(idx.chunks)
    assert first.spans == len(texts) == emb.spans_embedded == first.spans_embedded > 100
    assert set(idx.spans.get(texts)) == set(texts)
    second, emb2 = build(corpus, tmp_path / "index")
    assert second.spans == first.spans and second.spans_embedded == 0 == emb2.spans_embedded

    # a new section before "Trivsel" (appended at the end it would follow the site footer, where the
    # cleaner reads its heading as a plain line, a third candidate)
    f = corpus / "albertslund-kommune-vaerdier.txt"
    text = f.read_text(encoding="utf-8")
    assert text.count("\n\nTrivsel\n\n") == 1
    f.write_text(text.replace("\n\nTrivsel\n\n", "\n\nHjemmearbejde\n\nVi må arbejde hjemme om fredagen. "
                              "Lederen skal godkende det på forhånd.\n\nTrivsel\n\n"), encoding="utf-8")
    third, emb3 = build(corpus, tmp_path / "index")
    assert third.spans_embedded == emb3.spans_embedded == 2 and first.spans < third.spans <= first.spans + 2
    store = Index.load(tmp_path / "index").spans
    assert "Vi må arbejde hjemme om fredagen." in store.get(["Vi må arbejde hjemme om fredagen."])


def test_other_model_reembeds_the_candidates(corpus, tmp_path):
    first, _ = build(corpus, tmp_path / "index")
    again, emb = build(corpus, tmp_path / "index", FakeEmbedder("another-model"))
    assert again.full_rebuild and again.spans_embedded == first.spans == emb.spans_embedded


def test_ask_embeds_only_the_question_and_answers_as_without_the_store(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    emb = FakeEmbedder()
    stored = Assistant(Settings(), tmp_path / "index", emb, decision=ALWAYS)
    answers = [stored.ask(q) for q in QUESTIONS]
    assert emb.spans_embedded == 0
    on_sight = Assistant(Settings(), tmp_path / "index", FakeEmbedder(), decision=ALWAYS)
    on_sight.use_stored_spans = False
    for q, a in zip(QUESTIONS, answers):
        b = on_sight.ask(q)
        assert [x.text for x in a.quotes] == [x.text for x in b.quotes]
        assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
    assert on_sight.embedder.spans_embedded > 0


def test_index_without_stored_candidates_still_answers(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    version = resolve_current(tmp_path / "index")
    (version / KEYS).unlink()
    (version / VECTORS).unlink()
    emb = FakeEmbedder()
    a = Assistant(Settings(), tmp_path / "index", emb, decision=ALWAYS).ask(QUESTIONS[0])
    assert a.quotes and emb.spans_embedded > 0
    assert Index.load(tmp_path / "index").spans is None


def test_store_lookup_misses_and_empty_store():
    store = SpanStore(np.zeros(0, np.uint64), np.zeros((0, 2, 4), np.float32))
    assert store.get(["x"]) == {} and list(store.rows(["a", "b"])) == [-1, -1]
