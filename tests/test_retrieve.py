"""Filtered retrieval: the fused ranking within an organisation, without one, or of one document type
is the whole ranking with the other chunks struck out (fake embedder)."""
import pytest
from conftest import CORPUS
from fakes import FakeEmbedder

from assistant.answer.retrieve import Filters, retrieve, rrf
from assistant.config import Settings
from assistant.store.build import build_index
from assistant.store.index import Index

QUESTIONS = ("hvad siger kodekset om sociale medier?", "må jeg tage imod gaver?",
             "hvordan håndteres fortrolige oplysninger", "ytringsfrihed for ansatte")


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    build_index(CORPUS, root, FakeEmbedder(), Settings(), progress=False)
    return Index.load(root)


def struck_out(index, question, qvec, filters, k, mode):
    """The definition: rank every chunk on each side, keep the allowed ones, fuse their ranks."""
    ok = lambda i: filters.allows(index.documents[index.chunks[i].document])
    n = len(index.chunks)
    dense = [(i, s) for i, s in index.dense_search(qvec, n) if ok(i)]
    sparse = [(i, s) for i, s in index.bm25_search(question, n) if ok(i)]
    if mode == "dense":
        fused = dict(dense)
    elif mode == "bm25":
        fused = dict(sparse)
    else:
        fused = rrf([[i for i, _ in dense], [i for i, _ in sparse]])
    return [(index.chunks[i].id, fused[i]) for i in sorted(fused, key=lambda i: (-fused[i], i))[:k]]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_a_filtered_ranking_is_the_whole_ranking_with_the_other_chunks_struck_out(index, mode):
    organisations = sorted({d.organisation for d in index.documents.values()})
    assert len(organisations) >= 2
    filters = [Filters(organisations=(organisations[0],)), Filters(exclude=(organisations[0],)),
               Filters(doc_type="kodeks"), Filters(organisation=organisations[-1].split()[0].lower())]
    embedder = FakeEmbedder()
    for question in QUESTIONS:
        qvec = embedder.embed_queries([question])[0]
        for f in filters:
            hits = retrieve(index, question, qvec, k=8, mode=mode, filters=f)
            assert hits or mode == "bm25", (question, f)     # BM25 finds only chunks sharing a word
            assert all(f.allows(index.documents[h.chunk.document]) for h in hits)
            assert [(h.chunk.id, h.score) for h in hits] == struck_out(index, question, qvec, f, 8, mode)
            for h in hits:                # every hit carries its dense similarity and its ranks
                assert h.dense_score == pytest.approx(float(index.vectors[index.chunks.index(h.chunk)] @ qvec),
                                                      abs=1e-5)
                assert mode == "bm25" or h.dense_rank is not None


def test_a_filter_that_allows_nothing_finds_nothing(index):
    qvec = FakeEmbedder().embed_queries(["gaver"])[0]
    assert retrieve(index, "gaver", qvec, filters=Filters(organisations=("Ingen Kommune",))) == []
