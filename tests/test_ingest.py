"""Ingestion on documents shaped like what public bodies publish: metadata, page furniture, pages."""
import re

import pytest
from conftest import ROOT

from assistant.evaluation.evaluate import collapse, load_gold
from assistant.evaluation.ingest import evaluate_ingest
from assistant.ingest.corpus import load_corpus
from assistant.ingest.load import read_document
from assistant.ingest.metadata import MetadataError, read_catalogue

DEV = ROOT / "evals" / "devcorpus"


@pytest.fixture(scope="module")
def ingest():
    return evaluate_ingest(DEV, DEV / "expected.jsonl")


def test_metadata_accuracy_on_the_development_corpus(ingest):
    s = ingest["summary"]
    assert s["loaded"] == s["documents"]
    assert s["organisation_wrong"] == 0                  # never invented, never misattributed
    assert s["organisation_right"] >= 0.95
    assert s["title_right"] >= 0.90
    assert s["date_right"] >= 0.90


def test_no_page_furniture_in_any_chunk(ingest):
    left = {r["id"]: r["chrome_left"] for r in ingest["rows"] if r.get("chrome_left")}
    assert not left


def test_a_contact_block_keeps_its_address_though_every_page_repeats_it(tmp_path):
    # three pages of one site: each names its own unit and phone under the same widget and address
    page = ("Spring til hovedindhold\n\n{title}\n\n{body}\n\nKontakt\n\n{unit}\n\n"
            "Rådhustorvet 4, 8100 Fjernby\n\nRing til os\n\n{phone}\n\n"
            "Har du set...\n\nFjernby Kommune\n\nRådhustorvet 4\n8100 Fjernby\n")
    units = {"gaver": ("Jura", "33 44 55 61"), "bijob": ("HR", "33 44 55 62"), "stress": ("Arbejdsmiljø", "33 44 55 63")}
    for topic, (unit, phone) in units.items():
        body = f"Medarbejdere i Fjernby Kommune skal altid følge reglerne om {topic}, som er beskrevet her."
        (tmp_path / f"{topic}.txt").write_text(page.format(title=f"Regler om {topic}", body=body, unit=unit,
                                                           phone=phone))
    docs, _ = load_corpus(tmp_path)
    assert len(docs) == 3
    for doc, _meta in docs:
        assert "Spring til hovedindhold" not in doc.text          # repeated chrome goes
        unit, phone = units[doc.id]
        assert f"Kontakt\n\n{unit}\n\nRådhustorvet 4, 8100 Fjernby\n\n{phone}" in doc.text  # the block stays whole
        assert "Har du set" not in doc.text and not doc.text.rstrip().endswith("8100 Fjernby")  # the footer goes


def test_pdf_quotes_have_the_right_page():
    """Every gold passage in a PDF: the page the index cites is the PDF page that holds its words."""
    docs = {d.id: d for d, _ in load_corpus(DEV)[0]}
    pages: dict[str, tuple[str, ...]] = {}          # each PDF read once
    checked = 0
    for g in load_gold([DEV / "gold.jsonl"]):
        for doc_id, text in g.relevant:
            doc = docs[doc_id]
            if not doc.page_starts:
                continue
            m = re.search(r"\s+".join(map(re.escape, text.split())), doc.text, re.I)
            page = doc.page_at(m.start())
            if doc_id not in pages:
                pages[doc_id] = read_document(DEV / doc.path).pages
            raw = collapse(pages[doc_id][page - 1].replace("-\n", ""))
            first_words = " ".join(text.split()[:2])
            assert first_words in raw, (g.id, doc_id, page, text)
            checked += 1
    assert checked >= 30


def test_pdf_sections_come_from_the_type_and_cover_lines_are_text():
    """An office PDF has no heading tags: its headings are found from the type size, so a passage cites
    its numbered section; the adoption line on the cover is text that can be quoted, not a section."""
    from assistant.ingest.chunk import chunk_document
    docs = {d.id: d for d, _ in load_corpus(DEV)[0]}
    chunks = chunk_document(docs["personalepolitik-fjordby"], 900, 1)
    [pool] = [c for c in chunks if "15.000 kr." in c.text]
    assert pool.headings == ("5. Kompetenceudvikling",)
    assert not any(c.text.lstrip().startswith(("1. Forord", "5. Kompetenceudvikling")) for c in chunks)
    assert any("Godkendt af Byrådet den 24. oktober 2022" in c.text for c in chunks)
    for doc in docs.values():       # no section is a date line or a table of contents
        for c in chunk_document(doc, 900, 1):
            assert not any(re.search(r"\b(vedtaget|godkendt|opdateret)\b.*\b20\d\d\b", h, re.I) for h in c.headings), \
                (doc.id, c.headings)
            assert "Indholdsfortegnelse" not in c.headings, doc.id


def test_pdf_tables_are_read_row_by_row():
    """pypdf reads a table cell by cell, so an office PDF's rows used to run together into one paragraph
    and its bold header row became a section. Each row is now one line, its cells joined by ' | ' as in
    HTML and Word tables, so a row can be quoted on its own, under the section the table stands in."""
    from assistant.ingest.chunk import chunk_document
    text = read_document(DEV / "forvaltningsstyrelsen-etik-gaver-bijob.pdf").pages[1]
    lines = text.split("\n")
    assert "Situation | Må du tage imod? | Hvad skal du gøre?" in lines
    assert "En flaske vin fra en leverandør, der byder på en opgave | Nej | Send den tilbage med et venligt brev" in lines
    assert "En æske chokolade eller blomster til afdelingen efter et kursus | Ja | Del den med kollegerne" in lines
    docs = {d.id: d for d, _ in load_corpus(DEV)[0]}
    [row] = [c for c in chunk_document(docs["personalepolitik-fjordby"], 900, 1) if "Trivselsmåling | Hvert andet år" in c.text]
    assert row.headings == ("8. Hvad kan du forvente?",)
    assert "Trivselsmåling | Hvert andet år | HR & Udvikling" in row.text.split("\n")


def test_a_pdf_whose_tables_cannot_be_found_keeps_its_text(monkeypatch):
    """Finding tables is an improvement on pypdf's text, never a condition for reading the file."""
    import pdfplumber

    def broken(*args, **kwargs):
        raise RuntimeError("pdfminer could not parse this file")

    monkeypatch.setattr(pdfplumber, "open", broken)
    text = read_document(DEV / "forvaltningsstyrelsen-etik-gaver-bijob.pdf").pages[1]
    assert " | " not in text and "En flaske vin fra en" in text


def test_unknown_metadata_is_listed_and_a_catalogue_line_fixes_it(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pol-x-stress.txt").write_text(
        "Politik om stress\n\nVi tager stress alvorligt, og du skal tale med din leder, hvis du oplever symptomer.\n",
        encoding="utf-8")
    loaded, _ = load_corpus(corpus)
    doc, meta = loaded[0]
    assert doc.organisation == "Ukendt organisation" and "organisation" in meta.unknown()
    from assistant.ingest.metadata import catalogue_line
    line = catalogue_line("pol-x-stress.txt", meta)
    assert line.startswith("pol-x-stress.txt,<organisation>,Politik om stress")
    (corpus / "katalog.csv").write_text("file,organisation,title,type,date,url\n"
                                        "pol-x-stress.txt,Byrådet i Testrup,Stresspolitik,politik,2024-02-01,\n",
                                        encoding="utf-8")
    doc, meta = load_corpus(corpus)[0][0]
    assert (doc.organisation, doc.title, doc.date) == ("Testrup Kommune", "Stresspolitik", "2024-02-01")
    assert meta.unknown() == []


def test_index_prints_the_unknown_metadata_list(tmp_path):
    from fakes import FakeEmbedder

    from assistant.config import Settings
    from assistant.store.build import build_index
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gaver.txt").write_text("Regler for gaver\n\nDu må ikke modtage gaver fra borgere, der har en sag hos os.\n",
                                      encoding="utf-8")
    summary = build_index(corpus, tmp_path / "index", FakeEmbedder(), Settings(), progress=False)
    text = summary.text()
    assert "unknown metadata" in text and "gaver.txt: unknown organisation, date" in text
    assert "gaver.txt,<organisation>,Regler for gaver" in text


def test_catalogue_errors_name_line_and_column(tmp_path):
    (tmp_path / "katalog.csv").write_text("file,organisation,title,type,date,url\na.txt,X Kommune,T,politik,i går,\n",
                                          encoding="utf-8")
    with pytest.raises(MetadataError, match=r"line 2, column 5"):
        read_catalogue(tmp_path)
    (tmp_path / "katalog.csv").write_text("fil,organisation\n", encoding="utf-8")
    with pytest.raises(MetadataError, match=r"line 1, column 1"):
        read_catalogue(tmp_path)


def test_organisations_are_never_made_from_file_names_or_stray_words(tmp_path):
    (tmp_path / "kl-medst-kommune.txt").write_text(
        "Enkelte Kommune\n\nEnkelte kommuner har regler. En Veldrevet Kommune er en veldrevet arbejdsplads.\n",
        encoding="utf-8")
    doc = load_corpus(tmp_path)[0][0][0]
    assert doc.organisation == "Ukendt organisation"


def test_junk_file_metadata_is_rejected_and_folders_name_organisations(tmp_path):
    import docx
    folder = tmp_path / "Testrup Kommune"
    folder.mkdir()
    d = docx.Document()
    d.core_properties.title = "Microsoft Word - Dokument1"
    d.core_properties.author = "Skabelon"
    d.add_heading("Retningslinjer for bijob", 1)
    d.add_paragraph("Du skal orientere din leder skriftligt, før du påtager dig et bijob ved siden af dit arbejde.")
    d.save(folder / "bijob.docx")
    doc = load_corpus(tmp_path)[0][0][0]
    assert (doc.organisation, doc.title) == ("Testrup Kommune", "Retningslinjer for bijob")
