"""The server under load, hostile questions, and no network: one server, started with a socket
guard that refuses and records any connection that leaves the machine."""
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT
from serving import ask, build_index, content_text, running_server

from assistant.answer.assistant import Assistant
from assistant.evaluation.evaluate import load_gold
from assistant.web.chat import answer_markdown

GUARD = Path(__file__).parent / "netguard"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    index = tmp_path_factory.mktemp("index")
    build_index(CORPUS, index)
    log = tmp_path_factory.mktemp("net") / "attempts.log"
    log.write_text("")
    env = {"PYTHONPATH": os.pathsep.join([str(GUARD), os.environ.get("PYTHONPATH", "")]),
           "NETGUARD_LOG": str(log)}
    env_clean = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env_clean)           # the server must be offline by itself, not by our settings
    try:
        with running_server(index, data=tmp_path_factory.mktemp("data"), env=env) as url:
            yield url, index, log
    finally:
        os.environ.clear()
        os.environ.update(old)


def expected_text(assistant, question):
    return answer_markdown(assistant.ask(question))


@pytest.mark.load
def test_concurrent_clients_get_the_same_answers_as_alone(guarded, e5_embedder, capsys):
    from gradio_client import Client
    url, index, _ = guarded
    clients = int(os.environ.get("LOAD_CLIENTS", "8"))
    per_client = int(os.environ.get("LOAD_QUESTIONS", "3"))
    questions = [g.question for g in load_gold([ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "test.jsonl"])]
    alone = Assistant(index_dir=index, embedder=e5_embedder)
    plan = [[questions[(c * per_client + i) % len(questions)] for i in range(per_client)] for c in range(clients)]
    expected = {q: expected_text(alone, q) for q in {q for qs in plan for q in qs}}

    def run(qs):
        client = Client(url, verbose=False)
        out = []
        for q in qs:
            t = time.perf_counter()
            text = ask(client, q)
            out.append((q, text, time.perf_counter() - t))
        return out

    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [r for rs in pool.map(run, plan) for r in rs]
    assert len(results) == clients * per_client                       # zero errors: every call returned
    for q, text, _ in results:
        assert text == expected[q], q
    lat = sorted(s for _, _, s in results)
    with capsys.disabled():
        print(f"\nload: {clients} clients x {per_client} questions, p50 {statistics.median(lat):.2f} s, "
              f"p95 {lat[int(0.95 * (len(lat) - 1))]:.2f} s, max {lat[-1]:.2f} s")


def test_hostile_questions_neither_crash_nor_block_others_nor_render(guarded, e5_embedder):
    from gradio_client import Client
    url, index, _ = guarded
    hostile = {
        "empty": "",
        "huge": "sociale medier " * 70_000,                      # about 1 MB
        "control": "hvad\x00 siger\x07 kodekset\x1b[31m om\r\n tillid\u202e?",
        "html": "<script>alert(1)</script><img src=x onerror=alert(2)> hvad siger kodekset om respekt?",
        "mixed": "ما هو 行为准则 кодекс 🙂 om sociale medier?",
    }
    normal = "hvad siger kodekset om sociale medier?"
    expected_normal = expected_text(Assistant(index_dir=index, embedder=e5_embedder), normal)

    def one(item):
        name, q = item
        return name, ask(Client(url, verbose=False), q)

    with ThreadPoolExecutor(max_workers=len(hostile) + 1) as pool:
        futures = [pool.submit(one, item) for item in hostile.items()]
        normal_answer = pool.submit(one, ("normal", normal))
        answers = dict(f.result() for f in futures)
        assert normal_answer.result()[1] == expected_normal          # others still get their answer
    assert "Skriv et spørgsmål" in answers["empty"]
    assert "første 1000 tegn" in answers["huge"]
    # 1000 characters of one repeated phrase is not a question the abstain rule was calibrated
    # on: it may be answered or abstained, but either way it points at the right section
    assert "Aalborg Kommune · Byrådets adfærdskodeks · Respekt og ligebehandling" in answers["huge"]
    assert answers["control"] and "\x00" not in answers["control"] and "\x1b" not in answers["control"]
    for text in answers.values():
        assert "<script" not in text and "<img" not in text
    client = Client(url, verbose=False)
    chat = client.predict(hostile["html"], [], "Alle", "Alle", {}, api_name="/ask")[0]
    user = content_text([m for m in chat if m["role"] == "user"][-1]["content"])
    assert "&lt;script&gt;" in user and "<script>" not in user


def test_server_makes_no_network_calls(guarded):
    from gradio_client import Client
    url, _, log = guarded
    assert "Vi taler og skriver" in ask(Client(url, verbose=False), "hvad siger kodekset om sociale medier?")
    assert log.read_text() == "", "the server tried to reach the network:\n" + log.read_text()
