"""Hostile input to ingestion: every bad file is indexed correctly or named with its reason."""
import io
import os

import pytest
from conftest import CORPUS
from fakes import FakeEmbedder, make_pdf

from assistant.config import Settings
from assistant.language.danish import Analyzer
from assistant.store.build import build_index
from assistant.store.index import Index


def pdf_bytes(tmp_path, pages):
    make_pdf(tmp_path / "made.pdf", pages)
    return (tmp_path / "made.pdf").read_bytes()


@pytest.fixture
def hostile(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = pdf_bytes(tmp_path, [["Personalepolitik for Testby", "Vi viser hinanden tillid og respekt."]])
    (corpus / "god.pdf").write_bytes(good)
    (corpus / "korrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(4000))
    (corpus / "afkortet.pdf").write_bytes(good[: len(good) // 2])
    from pypdf import PdfReader, PdfWriter
    w = PdfWriter()
    for page in PdfReader(io.BytesIO(good)).pages:
        w.add_page(page)
    w.encrypt("hemmelig")
    with open(corpus / "krypteret.pdf", "wb") as f:
        w.write(f)
    from reportlab.pdfgen import canvas  # a drawing, no text layer (a "scan")
    c = canvas.Canvas(str(corpus / "scanning.pdf"))
    c.rect(100, 100, 300, 400, fill=1)
    c.showPage()
    c.save()
    (corpus / "binaer.txt").write_bytes(os.urandom(20000))
    with open(corpus / "kaempe.txt", "wb") as f:               # 50 MB of text
        f.write(("Vi taler pænt til hinanden. " * 40 + "\n").encode() * (50 * 2**20 // 1161 + 1))
    (corpus / "latin1.txt").write_bytes(
        "Værdier i Ærø Kommune\n\nVi møder borgerne med åbenhed og ærlighed.\n".encode("latin-1"))
    (corpus / "tom.txt").write_bytes(b"")
    (corpus / "nul.txt").write_bytes(b"Samarbejdskodeks\n\nVi holder\x00 fortrolige oplysninger for os selv.\n")
    (corpus / "nuller.txt").write_bytes(b"\x00" * 5000 + b"tekst")
    outside = tmp_path / "hemmeligt.txt"
    outside.write_text("Hemmelig løn for direktøren: 2 mio.\n", encoding="utf-8")
    os.symlink(outside, corpus / "link-ud.txt")
    os.symlink(tmp_path, corpus / "mappe-ud")
    return corpus


def test_no_crash_each_file_indexed_or_named_with_its_reason(hostile, tmp_path):
    summary = build_index(hostile, tmp_path / "index", FakeEmbedder(), Settings(), Analyzer(), progress=False)
    reasons = {s.path: s.reason for s in summary.skipped}
    assert "corrupt PDF" in reasons["korrupt.pdf"]
    assert "corrupt PDF" in reasons["afkortet.pdf"]
    assert "encrypted PDF" in reasons["krypteret.pdf"]
    assert "no text layer" in reasons["scanning.pdf"]
    assert "binary" in reasons["binaer.txt"]
    assert "too large (50 MB > 10 MB" in reasons["kaempe.txt"]
    assert reasons["tom.txt"] == "empty file"
    assert "binary" in reasons["nuller.txt"]
    assert reasons["link-ud.txt"] == "symlink points outside the corpus folder"
    assert reasons["mappe-ud"] == "symlink points outside the corpus folder"

    index = Index.load(tmp_path / "index")
    assert set(index.documents) == {"god", "latin1", "nul"}
    assert "åbenhed og ærlighed" in index.documents["latin1"].text           # Latin-1 decoded, not mangled
    assert "Vi holder fortrolige oplysninger" in index.documents["nul"].text   # stray NUL removed
    assert "tillid og respekt" in index.documents["god"].text
    everything = " ".join(c.text for c in index.chunks)
    assert "Hemmelig løn" not in everything and "direktøren" not in everything   # nothing from outside


def test_bad_files_next_to_the_seeds_do_not_stop_them(hostile, tmp_path):
    for f in CORPUS.iterdir():
        (hostile / f.name).write_bytes(f.read_bytes())
    summary = build_index(hostile, tmp_path / "index", FakeEmbedder(), Settings(), Analyzer(), progress=False)
    assert len(summary.added) == 3 + 5
