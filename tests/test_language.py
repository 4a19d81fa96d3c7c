"""The language of documents and questions (language/detect.py), kept in the index and cited."""
import json
import shutil

from conftest import CORPUS, ROOT
from fakes import FakeEmbedder

from assistant.answer.compose import citation, make_quote
from assistant.config import Settings
from assistant.evaluation.evaluate import load_gold
from assistant.language.detect import language_of
from assistant.store.build import build_index
from assistant.store.index import Index, resolve_current

ENGLISH_PAGE = """Code of conduct for international staff

Gifts

Staff may accept gifts of modest value, up to 300 DKK, from partners they work with.
Any gift of higher value must be declined politely and reported to your manager.
"""


def test_the_development_questions_are_told_english_or_danish_as_their_writers_marked_them():
    gold = load_gold([ROOT / "evals" / "devcorpus" / "gold.jsonl"])
    styles = {json.loads(line)["id"]: json.loads(line)["style"]
              for line in (ROOT / "evals" / "devcorpus" / "gold.jsonl").read_text(encoding="utf-8").splitlines()}
    wrong = [g.question for g in gold if (language_of(g.question) == "en") != (styles[g.id] == "english")]
    assert len(gold) > 1000 and sum(s == "english" for s in styles.values()) > 40
    assert len(wrong) <= len(gold) // 200, wrong          # at most 0.5 % (none when measured)


def test_danish_documents_are_told_by_their_words_and_the_model_agrees():
    from assistant.language import detect
    texts = [f.read_text(encoding="utf-8") for f in sorted(CORPUS.glob("*.txt"))]
    quick = [len(detect.DANISH_ONLY.intersection(detect._WORD.findall(t[:detect.SAMPLE].lower()))) >= 3 for t in texts]
    assert all(quick)                                       # no model needed for them
    assert {str(detect._identifier().classify(t[:detect.SAMPLE])[0]) for t in texts} == {"da"}
    assert language_of(ENGLISH_PAGE) == "en"


def test_an_english_page_is_kept_as_english_in_the_index_and_cited_so(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "international-staff.txt").write_text(ENGLISH_PAGE, encoding="utf-8")
    build_index(corpus, tmp_path / "index", FakeEmbedder(), Settings(), progress=False)
    index = Index.load(tmp_path / "index")
    languages = {d.id: d.language for d in index.documents.values()}
    assert languages.pop("international-staff") == "en" and set(languages.values()) == {"da"}
    doc = index.documents["international-staff"]
    start = doc.text.index("Staff may")
    quote = make_quote(doc, "Gifts", start, doc.text.index("work with.") + 10, 0.9)
    assert citation(quote).endswith("· på engelsk") and quote.to_json()["language"] == "en"
    danish = next(d for d in index.documents.values() if d.language == "da")
    assert "engelsk" not in citation(make_quote(danish, "", 0, 20, 0.9))

    # an index written before languages were detected: its documents are detected when it loads
    version = resolve_current(tmp_path / "index")
    rows = [json.loads(line) for line in (version / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        del row["language"]
    (version / "documents.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                             encoding="utf-8")
    again = Index.load(tmp_path / "index")
    assert again.documents["international-staff"].language == "en"
