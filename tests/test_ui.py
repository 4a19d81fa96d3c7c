"""The Gradio chat: API round trip against a running server, and safe rendering."""
import os
import socket
import subprocess
import sys
import time

import pytest

from assistant.types import Answer, Document, Quote
from assistant.ui import answer_markdown, resolve_follow_up, source_html

from conftest import CORPUS, ROOT


def test_document_and_question_html_render_as_text():
    payload = "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    q = Quote("d", "T", "Org", "politik", "Afsnit", 0, len(payload), None, payload, 1.0)
    md = answer_markdown(Answer("?", "", False, (q,)))
    assert "<script>" not in md and "<img" not in md and "&lt;script&gt;" in md

    class Fake:
        class index:
            documents = {"d": Document("d", "d.txt", payload + "\nmere tekst", "T", "Org", "politik", None)}
    page = source_html(Fake, q)
    assert "<script>" not in page and "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<mark id='citat'>" in page


def test_follow_up_questions_borrow_the_previous_one():
    prev = "hvad siger kodekset om fortrolighed?"
    assert resolve_follow_up("hvad med Aarhus?", prev) == f"{prev} hvad med Aarhus?"
    assert resolve_follow_up("og i personalepolitikken?", prev).startswith(prev)
    assert resolve_follow_up("hvad er den gensidige initiativpligt?", prev) == "hvad er den gensidige initiativpligt?"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index = tmp_path_factory.mktemp("index")
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--corpus", str(CORPUS), "--index", str(index)],
                   check=True, cwd=ROOT, capture_output=True, timeout=600)
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--index", str(index), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read())
            time.sleep(1)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_gradio_api_answers_with_quote_and_citation(server):
    from gradio_client import Client
    client = Client(server, verbose=False)
    result = client.predict("hvad siger kodekset om sociale medier?", [], "Alle", "Alle", {}, api_name="/ask")
    chat = result[0]
    text = str(chat[-1]["content"])
    assert "Vi taler og skriver ordentligt til, om og med hinanden" in text
    assert "Aalborg Byråd · Byrådets adfærdskodeks · Respekt og ligebehandling" in text
