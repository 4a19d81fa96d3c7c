"""Visibility: offentlig (default) or intern, from sidecar or catalogue; retrieval keeps internal
documents out of scope unless the caller is staff (fake embedder; the server is tested in
test_internal_server.py)."""
import json
import shutil

import pytest
from conftest import CORPUS
from fakes import FakeEmbedder

from assistant.answer.assistant import Assistant
from assistant.answer.retrieve import Filters, retrieve
from assistant.config import Settings
from assistant.ingest.metadata import MetadataError, read_catalogue
from assistant.store.build import build_index
from assistant.store.index import Index

SECRET = "Krænkelsessager behandles af trivselsudvalget inden for ti arbejdsdage"
INTERNAL_DOC = ("Procedure ved krænkende adfærd\n\nBehandling\n\n"
                f"{SECRET}. Sagen journaliseres fortroligt i personalesystemet.\n")


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    (d / "kraenkelser.txt").write_text(INTERNAL_DOC, encoding="utf-8")
    (d / "kraenkelser.meta.json").write_text(json.dumps({"organisation": "Aalborg Kommune",
                                                         "visibility": "intern"}), encoding="utf-8")
    return d


def build(corpus, root):
    return build_index(corpus, root, FakeEmbedder(), Settings(), progress=False)


def test_sidecar_marks_a_document_internal_and_the_rest_stay_public(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    idx = Index.load(tmp_path / "index")
    assert idx.documents["kraenkelser"].visibility == "intern" and idx.documents["kraenkelser"].internal
    assert all(d.visibility == "offentlig" for k, d in idx.documents.items() if k != "kraenkelser")
    assert idx.has_internal and "kraenkelser" not in idx.visible_documents(internal=False)
    assert "kraenkelser" in idx.visible_documents(internal=True)


def test_catalogue_column_sets_visibility_and_bad_values_name_line_and_column(corpus, tmp_path):
    (corpus / "kraenkelser.meta.json").unlink()
    (corpus / "katalog.csv").write_text("file,organisation,visibility\nkraenkelser.txt,Aalborg Kommune,intern\n",
                                        encoding="utf-8")
    build(corpus, tmp_path / "index")
    assert Index.load(tmp_path / "index").documents["kraenkelser"].internal
    (corpus / "katalog.csv").write_text("file,organisation,visibility\nkraenkelser.txt,Aalborg Kommune,hemmelig\n",
                                        encoding="utf-8")
    with pytest.raises(MetadataError, match=r"line 2, column 3: visibility must be one of \['offentlig', 'intern'\]"):
        read_catalogue(corpus)


def test_bad_sidecar_visibility_skips_the_document_with_the_reason(corpus, tmp_path):
    (corpus / "kraenkelser.meta.json").write_text('{"visibility": "secret"}', encoding="utf-8")
    summary = build(corpus, tmp_path / "index")
    [skip] = [s for s in summary.skipped if s.path == "kraenkelser.txt"]
    assert "visibility must be one of" in skip.reason
    assert "kraenkelser" not in Index.load(tmp_path / "index").documents


def test_retrieval_leaves_internal_documents_out_unless_the_reader_is_staff(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    idx = Index.load(tmp_path / "index")
    question = "krænkelsessager trivselsudvalget arbejdsdage"
    assert retrieve(idx, question, None, k=50, mode="bm25")           # public passages still answer
    for filters in (None, Filters(), Filters(organisation="aalborg"), Filters(doc_type="dokument")):
        hits = retrieve(idx, question, None, k=50, mode="bm25", filters=filters)
        assert all(h.chunk.document != "kraenkelser" for h in hits)
    staff = retrieve(idx, question, None, k=1, mode="bm25", filters=Filters(internal=True))
    assert staff[0].chunk.document == "kraenkelser"
    # Filters(internal=True) is falsy (no narrowing chosen) and must still count as staff
    assert not Filters(internal=True) and Filters(internal=True).allows(idx.documents["kraenkelser"])


def test_ask_quotes_internal_text_to_staff_only(corpus, tmp_path):
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb, Settings(), progress=False)
    a = Assistant(Settings(), index_dir=tmp_path / "index", embedder=emb)
    question = "hvem behandler krænkelsessager i trivselsudvalget?"
    for answer in (a.ask(question), a.ask(question, Filters(organisation="Aalborg Kommune"))):
        shown = json.dumps(answer.to_json(), ensure_ascii=False) + answer.text
        assert "trivselsudvalget inden for" not in shown and "fortroligt" not in shown
        assert all(h.chunk.document != "kraenkelser" for h in answer.hits)
    staff = a.ask(question, Filters(internal=True))
    assert any(h.chunk.document == "kraenkelser" for h in staff.hits)


def test_index_without_visibility_field_loads_as_public(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    version = Index.load(tmp_path / "index").path
    rows = [json.loads(x) for x in (version / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows:
        r.pop("visibility")
    (version / "documents.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                             encoding="utf-8")
    idx = Index.load(tmp_path / "index")
    assert not idx.has_internal and all(d.visibility == "offentlig" for d in idx.documents.values())


def test_words_only_internal_documents_hold_count_as_missing_for_anonymous_readers(corpus, tmp_path):
    """"Ingen af dokumenterne nævner «…»" must not reveal which words internal documents contain."""
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb, Settings(), progress=False)
    a = Assistant(Settings(), index_dir=tmp_path / "index", embedder=emb)
    question = "hvordan journaliseres sagen?"
    assert "journaliseres" in a.ask(question).missing_terms
    assert "journaliseres" in a.ask(question, Filters(organisation="aalborg")).missing_terms
    assert "journaliseres" not in a.ask(question, Filters(internal=True)).missing_terms
    assert "journaliseres" in a.ask(question).missing_terms      # the staff scope ended with its question


def test_feedback_export_leaves_out_votes_on_internal_quotes(corpus, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    from assistant.state.feedback import FeedbackStore
    build(corpus, tmp_path / "index")
    data = tmp_path / "data"
    store = FeedbackStore(data)
    store.record("hvem behandler krænkelsessager?", True, False,
                 [{"document": "kraenkelser", "text": SECRET, "start": 0, "end": 10}])
    store.record("hvad siger kodekset om sociale medier?", True, False,
                 [{"document": "aalborg-byraad-adfaerdskodeks", "text": "sociale medier", "start": 0, "end": 10}])
    store.record("og krænkelser?", False, False, [{"document": "kraenkelser", "text": SECRET, "start": 0, "end": 10}])

    def export(*extra):
        out, review = tmp_path / "gold.jsonl", tmp_path / "review.jsonl"
        r = subprocess.run([sys.executable, "-m", "assistant.cli", "feedback", "export", "--data", str(data),
                            "--out", str(out), "--review", str(review), *extra],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
        return r, (out.read_text(encoding="utf-8") + review.read_text(encoding="utf-8") if r.returncode == 0 else "")

    r, text = export("--index", str(tmp_path / "index"))
    assert r.returncode == 0, r.stderr
    assert "sociale medier" in text and SECRET not in text and "krænkelse" not in text
    assert "left out 2 rated answer(s) quoting internal documents" in r.stderr
    r, text = export("--index", str(tmp_path / "index"), "--include-internal")
    assert SECRET in text
    r, _ = export("--index", str(tmp_path / "no-index"))       # cannot tell what is internal: refuses
    assert r.returncode == 2 and "--include-internal" in r.stderr
