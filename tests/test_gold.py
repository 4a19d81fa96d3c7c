"""The gold set is well-formed and every gold text really occurs in its document."""
import pytest
from conftest import CORPUS, ROOT

from assistant.evaluation.evaluate import collapse, load_gold
from assistant.ingest.chunk import chunk_document
from assistant.ingest.corpus import list_corpus, load_document

DEV, TEST = ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "test.jsonl"


@pytest.fixture(scope="module")
def docs():
    files, _ = list_corpus(CORPUS)
    return {f.stem: load_document(f, CORPUS) for f in files}


def test_size_and_split():
    dev, test = load_gold([DEV]), load_gold([TEST])
    both = dev + test
    assert len(both) >= 120
    assert sum(not g.answerable for g in both) >= 20
    assert sum(not g.answerable for g in test) >= 10 and sum(not g.answerable for g in dev) >= 10
    assert len({g.id for g in both}) == len(both)
    assert not {g.question for g in dev} & {g.question for g in test}


def test_every_gold_text_occurs_in_its_document_and_in_a_passage(docs):
    chunks = [c for d in docs.values() for c in chunk_document(d)]
    for g in load_gold([DEV, TEST]):
        for doc_id, text in g.relevant:
            assert doc_id in docs, (g.id, doc_id)
            assert text in collapse(docs[doc_id].text), (g.id, text)
            assert any(g.matches(c.document, c.text) for c in chunks), (g.id, text)
