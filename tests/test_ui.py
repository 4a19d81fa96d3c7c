"""The Gradio chat: API round trip against a running server, and safe rendering."""
import html

import pytest

from assistant.types import Answer, Document, Quote
from assistant.ui import answer_markdown, resolve_follow_up, source_html

from conftest import CORPUS
from serving import ask, build_index, running_server


def test_document_and_question_html_render_as_text():
    payload = "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    q = Quote("d", "T", "Org", "politik", "Afsnit", 0, len(payload), None, payload, 1.0)
    md = answer_markdown(Answer("?", "", False, (q,)))
    assert "<script>" not in md and "<img" not in md and "&lt;script&gt;" in md

    class Fake:
        class index:
            documents = {"d": Document("d", "d.txt", payload + "\nmere tekst", "T", "Org", "politik", None)}
    page = source_html(Fake, q)
    assert "<script>" not in page and "<img" not in page and "&lt;img src" in page
    assert payload in html.unescape(page)
    assert "<mark id='citat'>" in page


def test_follow_up_questions_borrow_the_previous_one():
    prev = "hvad siger kodekset om fortrolighed?"
    assert resolve_follow_up("hvad med Aarhus?", prev) == f"{prev} hvad med Aarhus?"
    assert resolve_follow_up("og i personalepolitikken?", prev).startswith(prev)
    assert resolve_follow_up("hvad er den gensidige initiativpligt?", prev) == "hvad er den gensidige initiativpligt?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index = tmp_path_factory.mktemp("index")
    build_index(CORPUS, index)
    with running_server(index, data=tmp_path_factory.mktemp("data")) as url:
        yield url


def test_gradio_api_answers_with_quote_and_citation(server):
    from gradio_client import Client
    text = ask(Client(server, verbose=False), "hvad siger kodekset om sociale medier?")
    assert "Vi taler og skriver ordentligt til, om og med hinanden" in text
    assert "Aalborg Kommune · Byrådets adfærdskodeks · Respekt og ligebehandling" in text


def test_gradio_api_says_not_covered_with_related_passages(server):
    from gradio_client import Client
    text = ask(Client(server, verbose=False), "hvor mange feriedage har jeg")
    assert "Det kan jeg ikke finde et svar på" in text and "«feriedage»" in text
    assert "Måske relateret" in text and "Kilde:" in text
