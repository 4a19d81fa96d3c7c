"""Incremental, atomic index builds (fake embedder; the real model is tested elsewhere)."""
import json
import shutil
import subprocess
import sys

import pytest
from conftest import CORPUS, ROOT
from fakes import FakeEmbedder, make_pdf

from assistant.answer.retrieve import retrieve
from assistant.config import Settings
from assistant.store.build import build_index
from assistant.store.index import Index, IndexMismatch, MissingIndex, resolve_current


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    return d


def build(corpus, root, emb=None, **settings):
    emb = emb or FakeEmbedder()
    s = Settings(**settings)
    return build_index(corpus, root, emb, s, progress=False), emb


def test_second_build_embeds_nothing(corpus, tmp_path):
    first, emb1 = build(corpus, tmp_path / "index")
    assert len(first.added) == 5 and first.embedded == first.chunks == emb1.embedded > 0
    second, emb2 = build(corpus, tmp_path / "index")
    assert (second.added, second.changed, second.removed) == ([], [], [])
    assert len(second.unchanged) == 5 and second.embedded == 0 and emb2.embedded == 0
    assert second.chunks == first.chunks


def test_edit_reembeds_only_the_changed_passages_of_that_document(corpus, tmp_path):
    first, _ = build(corpus, tmp_path / "index")
    f = corpus / "albertslund-kommune-vaerdier.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\n\nHjemmearbejde\n\nVi må arbejde hjemme om fredagen.\n",
                 encoding="utf-8")
    second, emb = build(corpus, tmp_path / "index")
    assert second.changed == ["albertslund-kommune-vaerdier"] and len(second.unchanged) == 4
    idx = Index.load(tmp_path / "index")
    n_alb = sum(c.document == "albertslund-kommune-vaerdier" for c in idx.chunks)
    assert 0 < emb.embedded < n_alb          # the new section, not the passages that did not change
    assert all("Albertslund" in t.split("\n")[0] for batch in emb.batches for t in batch)
    assert any("fredagen" in t for batch in emb.batches for t in batch)
    hits = retrieve(idx, "arbejde hjemme fredagen", None, k=1, mode="bm25")
    assert "hjemme om fredagen" in hits[0].chunk.text


def test_delete_removes_its_chunks(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    (corpus / "aalborg-kommune-ledelsespolitik.txt").unlink()
    summary, emb = build(corpus, tmp_path / "index")
    assert summary.removed == ["aalborg-kommune-ledelsespolitik"]
    # boilerplate is learned across documents: with one Aalborg page fewer, the site footer counts as
    # evidence in fewer documents, so at most a few passages near it change and are embedded again
    assert emb.embedded <= 0.1 * summary.chunks
    idx = Index.load(tmp_path / "index")
    assert not any(c.document == "aalborg-kommune-ledelsespolitik" for c in idx.chunks)
    assert "aalborg-kommune-ledelsespolitik" not in idx.manifest["documents"]


def test_added_pdf_is_findable_with_pages(corpus, tmp_path):
    build(corpus, tmp_path / "index")
    make_pdf(corpus / "testby-kommune-alkoholpolitik.pdf", [
        ["Alkoholpolitik for Testby Kommune", "", "Formaal", "", "Politikken gaelder alle ansatte."],
        ["Regler", "", "Der maa ikke drikkes alkohol i arbejdstiden.",
         "Ved reception kan lederen give lov til et glas vin."],
    ])
    summary, emb = build(corpus, tmp_path / "index")
    assert summary.added == ["testby-kommune-alkoholpolitik"]
    idx = Index.load(tmp_path / "index")
    hits = retrieve(idx, "alkohol arbejdstiden", None, k=3, mode="bm25")
    assert hits[0].chunk.document == "testby-kommune-alkoholpolitik"
    assert hits[0].chunk.page == 2
    pages = {c.page for c in idx.chunks if c.document == "testby-kommune-alkoholpolitik"}
    assert pages == {1, 2}
    doc = idx.documents["testby-kommune-alkoholpolitik"]
    assert doc.text[hits[0].chunk.start:hits[0].chunk.end] == hits[0].chunk.text


def test_unreadable_files_are_named_and_skipped(corpus, tmp_path):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\n%%EOF")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (corpus / "junk.txt").write_bytes(bytes(range(256)) * 20)
    summary, _ = build(corpus, tmp_path / "index")
    reasons = {s.path: s.reason for s in summary.skipped}
    assert set(reasons) == {"broken.pdf", "empty.txt", "picture.png", "junk.txt"}
    assert "corrupt PDF" in reasons["broken.pdf"]
    assert reasons["empty.txt"] == "empty file"
    assert "unsupported file type" in reasons["picture.png"]
    assert "binary" in reasons["junk.txt"]
    assert len(summary.added) == 5


def test_interrupted_build_leaves_previous_index(corpus, tmp_path):
    root = tmp_path / "index"
    build(corpus, root)
    before = Index.load(root)
    (corpus / "aalborg-kommune-personalepolitik.txt").write_text("Personalepolitik\n\nHelt ny tekst.\n", encoding="utf-8")

    def crash():
        raise RuntimeError("injected failure after embedding")

    with pytest.raises(RuntimeError, match="injected"):
        build_index(corpus, root, FakeEmbedder(), Settings(), progress=False, after_embed=crash)
    after = Index.load(root)
    assert after.path == before.path
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    assert not list(root.glob(".tmp-*"))
    summary, _ = build(corpus, root)
    assert "aalborg-kommune-personalepolitik" in summary.changed   # others may change with the footer evidence


def test_changed_model_or_chunking_forces_full_rebuild(corpus, tmp_path):
    root = tmp_path / "index"
    build(corpus, root)
    summary, emb = build(corpus, root, FakeEmbedder("another-model"))
    assert "embedding model changed" in summary.full_rebuild and emb.embedded == summary.chunks
    summary, emb = build(corpus, root, FakeEmbedder("another-model"), chunk_chars=400)
    assert "chunking parameters changed" in summary.full_rebuild and emb.embedded == summary.chunks


def test_mismatched_or_missing_index_is_refused(corpus, tmp_path):
    with pytest.raises(MissingIndex, match="assistant index"):
        Index.load(tmp_path / "nothing")
    build(corpus, tmp_path / "index")
    with pytest.raises(IndexMismatch, match="Rebuild it"):
        Index.load(tmp_path / "index", model_id="some-other-model")
    manifest = resolve_current(tmp_path / "index") / "manifest.json"
    data = json.loads(manifest.read_text())
    assert {"schema_version", "package_version", "model", "dim", "chunking", "documents"} <= set(data)
    assert all(len(d["sha256"]) == 64 for d in data["documents"].values())


def test_cli_index_twice_with_real_model(tmp_path):
    """The console command, end to end: the second run embeds nothing."""
    def run():
        out = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--json",
                              "--corpus", str(CORPUS), "--index", str(tmp_path / "index")],
                             capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)
    first, second = run(), run()
    assert len(first["added"]) == 5 and first["embedded"] == first["chunks"]
    assert (second["added"], second["changed"], second["removed"], second["embedded"]) == ([], [], [], 0)
    assert len(second["unchanged"]) == 5


def test_build_without_switch_leaves_current_and_switch_version_swaps_it(corpus, tmp_path):
    from assistant.store.build import switch_version
    root = tmp_path / "index"
    first, _ = build(corpus, root)
    (corpus / "aalborg-kommune-ledelsespolitik.txt").unlink()
    stages = []
    candidate = build_index(corpus, root, FakeEmbedder(), Settings(), progress=False, switch=False,
                            on_progress=lambda stage, done, total: stages.append((stage, done, total)))
    assert resolve_current(root).name == first.version != candidate.version
    assert "aalborg-kommune-ledelsespolitik" in Index.load(root).documents
    assert "aalborg-kommune-ledelsespolitik" not in Index.load_version(root / candidate.version).documents
    assert ("read", 4, 4) in stages and stages[-1] == ("write", 1, 1)
    assert any(s == "embed" for s, _, _ in stages)
    switch_version(root, candidate.version)
    assert resolve_current(root).name == candidate.version
    assert "aalborg-kommune-ledelsespolitik" not in Index.load(root).documents
    with pytest.raises(MissingIndex, match="No complete index version"):
        switch_version(root, "../elsewhere")


def test_manifest_records_unknown_metadata_per_document(corpus, tmp_path):
    (corpus / "noter.txt").write_text("noter fra et møde uden afsender\n\nvi talte om kaffe og kage.\n",
                                      encoding="utf-8")
    summary, _ = build(corpus, tmp_path / "index")
    idx = Index.load(tmp_path / "index")
    assert set(idx.manifest["documents"]["noter"]["unknown"]) >= {"organisation", "date"}
    assert {d for d, m in idx.manifest["documents"].items() if m.get("unknown")} == \
        {u["path"].removesuffix(".txt") for u in summary.unknown}
