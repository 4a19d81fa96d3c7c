"""Cleaning, metadata and chunking on the five seed documents."""
import pytest
from conftest import CORPUS

from assistant.ingest.chunk import chunk_document
from assistant.ingest.clean import clean_text
from assistant.ingest.corpus import list_corpus, load_document

CHROME = ["Skip til hoved indholdet", "Let digital adgang", "CVR-nummer", "Har du set",
          "Hjem Om kommunen", "Ring til os", "Skriv til os", "Åbningstider"]


@pytest.fixture(scope="module")
def docs():
    files, skipped = list_corpus(CORPUS)
    assert skipped == []
    return {f.stem: load_document(f, CORPUS) for f in files}


@pytest.fixture(scope="module")
def chunks(docs):
    return {d: chunk_document(doc) for d, doc in docs.items()}


def test_the_five_seeds_are_the_corpus(docs):
    assert sorted(docs) == ["aalborg-byraad-adfaerdskodeks", "aalborg-kommune-ledelsespolitik",
                            "aalborg-kommune-personalepolitik", "aarhus-byraad-samarbejdskodeks-2018-2021",
                            "albertslund-kommune-vaerdier"]


def test_no_chunk_contains_site_chrome(chunks):
    for doc_chunks in chunks.values():
        for c in doc_chunks:
            for chrome in CHROME:
                assert chrome not in c.text, (c.document, chrome)


def test_contact_details_are_kept_in_their_own_section(chunks):
    contact = [c for c in chunks["aalborg-byraad-adfaerdskodeks"] if c.heading == "Kontakt"]
    assert len(contact) == 1 and "99 31 15 06" in contact[0].text and "Byrådssekretariatet" in contact[0].text
    albertslund = [c for c in chunks["albertslund-kommune-vaerdier"] if c.heading == "Kontakt"]
    assert albertslund and "43 68 68 68" in albertslund[0].text


def test_each_respect_bullet_is_whole_in_a_respect_chunk(docs, chunks):
    raw = (CORPUS / "aalborg-byraad-adfaerdskodeks.txt").read_text(encoding="utf-8")
    section = raw.split("Respekt og ligebehandling\n")[1].split("\nTillid")[0]
    bullets = [ln.strip(" •") for ln in section.splitlines() if ln.strip().startswith("•")]
    assert len(bullets) == 6
    respect = [c for c in chunks["aalborg-byraad-adfaerdskodeks"] if c.heading == "Respekt og ligebehandling"]
    for b in bullets:
        assert any(b in c.text for c in respect), b


def test_chunk_offsets_map_to_the_cleaned_text(docs, chunks):
    for d, doc_chunks in chunks.items():
        for c in doc_chunks:
            assert docs[d].text[c.start:c.end] == c.text
            assert c.page is None


def test_headings_are_detected(chunks):
    headings = {c.heading for cs in chunks.values() for c in cs}
    for h in ["Respekt og ligebehandling", "Tillid", "Troværdighed", "Den gensidige initiativpligt",
              "Vi sætter borgerne først", "Helheder og sammenhænge", "Engagement"]:
        assert h in headings
    nested = [c.headings for c in chunks["aalborg-kommune-personalepolitik"] if c.heading == "Helheder og sammenhænge"]
    assert nested == [("De 4 principper", "Helheder og sammenhænge")]


def test_metadata(docs):
    code = docs["aalborg-byraad-adfaerdskodeks"]
    # the council's code belongs to the municipality: one canonical organisation, the council an alias
    assert (code.organisation, code.doc_type, code.title) == ("Aalborg Kommune", "adfærdskodeks", "Byrådets adfærdskodeks")
    policy = docs["aalborg-kommune-personalepolitik"]
    assert (policy.date, policy.date_phrase) == ("2018-08", "Opdateret: August 2018")
    assert docs["aalborg-kommune-ledelsespolitik"].date == "2019-10"
    assert docs["aalborg-kommune-ledelsespolitik"].title == "Aalborg Kommunes ledelsespolitik"
    aarhus = docs["aarhus-byraad-samarbejdskodeks-2018-2021"]
    assert (aarhus.organisation, aarhus.doc_type, aarhus.date) == ("Aarhus Kommune", "samarbejdskodeks", "2018/2021")
    assert docs["albertslund-kommune-vaerdier"].organisation == "Albertslund Kommune"
    assert docs["albertslund-kommune-vaerdier"].doc_type == "værdigrundlag"


def test_sidecar_overrides_metadata(tmp_path):
    (tmp_path / "kodeks.txt").write_text("Kodeks\n\nVi taler pænt.\n", encoding="utf-8")
    (tmp_path / "kodeks.meta.json").write_text('{"organisation": "Testby Byråd", "date": "2024"}', encoding="utf-8")
    doc = load_document(tmp_path / "kodeks.txt", tmp_path)
    assert (doc.organisation, doc.date) == ("Testby Kommune", "2024")
    files, _ = list_corpus(tmp_path)
    assert [f.name for f in files] == ["kodeks.txt"]     # the sidecar is not a document


def test_cleaning_normalises_unicode_bullets_and_hyphens():
    text = "Titel\n\n  - første punkt\n  * andet punkt\nmedarbej-\nderne arbejder"
    out = clean_text(text.replace("ø", "o\u0338"), dehyphenate=True)
    assert "• første punkt" in clean_text(text) and "• andet punkt" in out
    assert "medarbejderne arbejder" in out


def test_a_word_broken_at_a_line_end_is_whole_again_and_a_shared_part_keeps_its_hyphen():
    text = "Vi sender aldrig CPR-\nnummer og § 56-\naftaler med mail. Se alkohol-\nog rusmiddelpolitikken."
    out = clean_text(text, dehyphenate=True)
    assert "CPR-nummer" in out and "§ 56-aftaler" in out
    assert "alkohol- og rusmiddelpolitikken" in out      # not "alkoholog", not "alkohol-og"


def test_a_wrapped_item_on_a_short_page_is_one_line():
    # the top of a PDF page: too few lines to know the column's width, but a line that starts in
    # lower case still continues the one before
    page = ("3. Ved et fysisk møde, som afholdes senest 14 dage efter, at du har bedt om\ndet.\n"
            "Beskriv forholdet så præcist som muligt.\n3/4")
    lines = clean_text(page, dehyphenate=True).split("\n")
    assert "3. Ved et fysisk møde, som afholdes senest 14 dage efter, at du har bedt om det." in lines
    assert "Beskriv forholdet så præcist som muligt." in lines      # a sentence of its own stays one


def test_long_paragraph_is_split_at_sentences():
    from assistant.types import Document
    text = "Overskrift\n\n" + " ".join(f"Dette er sætning nummer {i} om tillid." for i in range(80))
    doc = Document("x", "x.txt", text, "Overskrift", "X Kommune", "politik", None)
    cs = chunk_document(doc, max_chars=300)
    assert len(cs) > 5 and all(len(c.text) <= 300 for c in cs)
    assert all(c.text.endswith(".") for c in cs)
    assert all(doc.text[c.start:c.end] == c.text for c in cs)
