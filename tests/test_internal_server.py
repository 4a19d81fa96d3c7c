"""An anonymous client cannot get a single internal sentence from a running server by any route:
the chat API with every filter, forged event calls, the page and its config, the source view
by id, Gradio's file route. Staff get the same sentences through the same routes (real model,
`assistant serve` in a subprocess)."""
import html
import json
import re
import shutil
import uuid

import httpx
import pytest
from conftest import CORPUS
from serving import ask, build_index, content_text, running_server

from assistant.state.users import UserStore

TITLE = "Procedure ved krænkende adfærd"
SENTENCES = [
    "Krænkelsessager behandles af trivselsudvalget inden for ti arbejdsdage.",
    "Sagen journaliseres fortroligt i personalesystemet under kode K-17.",
    "Den krænkede kan altid tage en bisidder med til samtalen med HR-partneren.",
    "Chikane på sociale medier mellem kolleger meldes til nærmeste leder og HR-partneren samme dag.",
]
INTERNAL = f"{TITLE}\n\nBehandling af sager\n\n" + "\n\n".join(SENTENCES) + "\n"
QUESTIONS = SENTENCES + ["hvem behandler krænkelsessager?", "hvad er proceduren ved krænkende adfærd?",
                         "må jeg have en bisidder med til samtalen?", "hvad gør jeg ved chikane på sociale medier?",
                         "hvordan journaliseres en krænkelsessag?"]
PASSWORD = "korrekt-hest-batteri"


def leaked(text: str) -> list[str]:
    """Internal passages (any 24 characters of a sentence, or the title) found in ``text``."""
    t = " ".join(html.unescape(text).split()).lower()      # pages escape punctuation as &#45; etc.
    out = [TITLE] if TITLE.lower() in t else []
    for s in SENTENCES:
        s = s.lower()
        out += [s[i:i + 24] for i in range(0, len(s) - 24, 8) if s[i:i + 24] in t]
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    for f in CORPUS.iterdir():
        shutil.copy(f, corpus / f.name)
    (corpus / "kraenkelser.txt").write_text(INTERNAL, encoding="utf-8")
    (corpus / "kraenkelser.meta.json").write_text(json.dumps(
        {"organisation": "Aalborg Kommune", "type": "retningslinje", "visibility": "intern"}), encoding="utf-8")
    index, data = tmp_path_factory.mktemp("index"), tmp_path_factory.mktemp("data")
    build_index(corpus, index)
    UserStore(data).add("ole", PASSWORD, "staff")
    with running_server(index, data=data, args=["--corpus", str(corpus)]) as url:
        yield url, corpus


def session_cookie(url) -> dict:
    with httpx.Client(base_url=url, follow_redirects=False) as c:
        page = c.get("/login")
        token = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page.text).group(1))
        r = c.post("/login", data={"csrf": token, "name": "ole", "password": PASSWORD})
        assert r.status_code == 303
        return {"kodeks_session": c.cookies["kodeks_session"]}


def dependencies(url) -> dict:
    """fn_index of the chat's events by what triggers them (the browser calls them this way)."""
    config = httpx.get(url + "config").json()
    out = {}
    for i, d in enumerate(config["dependencies"]):
        for _, event in d["targets"]:
            out.setdefault(d.get("api_name") if d.get("api_name") == "ask" else event, i)
    return out


def call(url, fn_index, data, session, cookies=None, event_data=None) -> dict:
    """One event through Gradio's queue, as the browser sends it; the completed message."""
    with httpx.Client(base_url=url, cookies=cookies or {}, timeout=120) as c:
        r = c.post("gradio_api/queue/join", json={"data": data, "event_data": event_data, "fn_index": fn_index,
                                                  "trigger_id": None, "session_hash": session})
        assert r.status_code == 200, r.text
        with c.stream("GET", f"gradio_api/queue/data?session_hash={session}") as s:
            for line in s.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        return msg


def test_anonymous_client_cannot_get_an_internal_sentence_by_any_route(server):
    from gradio_client import Client
    url, corpus = server
    assert len(leaked(INTERNAL)) > 20 and not leaked("Vi taler og skriver ordentligt til hinanden")   # the check bites
    anonymous = Client(url, verbose=False)
    seen = ""
    for q in QUESTIONS:
        for org, dtype in (("Alle", "Alle"), ("Aalborg Kommune", "Alle"), ("aalborg", "retningslinje"),
                           ("Alle", "retningslinje")):
            text = ask(anonymous, q, org, dtype)
            assert not leaked(text), (q, org, dtype, leaked(text))
            seen += text
    assert "Kilde:" in seen                                     # public passages were quoted meanwhile

    staff = Client(url, verbose=False, headers={"Cookie": f"kodeks_session={session_cookie(url)['kodeks_session']}"})
    assert SENTENCES[0] in html.unescape(ask(staff, "hvem behandler krænkelsessager?"))   # the same route works for staff

    # the page, its config (initial filter choices and overview) and the API description
    for path in ("", "config", "gradio_api/info", "gradio_api/info?all_endpoints=true"):
        r = httpx.get(url + path)
        assert r.status_code == 200 and not leaked(r.text) and "kraenkelser" not in r.text, path

    # the chat's own events as the browser calls them: page load (user line, filters, overview)
    fns = dependencies(url)
    load = call(url, fns["load"], [], uuid.uuid4().hex[:10])
    assert "Aalborg Kommune" in json.dumps(load, ensure_ascii=False)
    assert not leaked(json.dumps(load, ensure_ascii=False))
    types = json.dumps(load["output"]["data"][2], ensure_ascii=False)
    assert "adfærdskodeks" in types and "retningslinje" not in types     # only the internal document has it
    staff_load = call(url, fns["load"], [], uuid.uuid4().hex[:10], session_cookie(url))
    assert TITLE in html.unescape(json.dumps(staff_load, ensure_ascii=False))
    assert "retningslinje" in json.dumps(staff_load["output"]["data"][2], ensure_ascii=False)

    # a staff member asks, logs out (the page keeps its state), then clicks the quote: refused
    session, cookies = uuid.uuid4().hex[:10], session_cookie(url)
    answer = call(url, fns["ask"], ["hvem behandler krænkelsessager?", [], "Alle", "Alle", None], session, cookies)
    chat = answer["output"]["data"][0]
    assert SENTENCES[0] in html.unescape(content_text(chat[1]["content"]))
    select = {"index": 1, "value": chat[1]["content"], "selected": True}
    opened = call(url, fns["select"], [None], session, cookies, select)
    assert SENTENCES[0] in html.unescape(json.dumps(opened, ensure_ascii=False))
    anonymous_click = call(url, fns["select"], [None], session, None, select)
    assert not leaked(json.dumps(anonymous_click, ensure_ascii=False))
    assert "findes ikke" in json.dumps(anonymous_click, ensure_ascii=False)
    # forged arguments: a state naming the internal document, sent with the event
    forged = {"messages": {"1": {"question": "x", "abstained": False, "quotes": [], "quote": {
        "document": "kraenkelser", "title": "", "organisation": "", "doc_type": "", "heading": "", "start": 0,
        "end": 60, "page": None, "text": "", "score": 0.0}}}}
    for data in ([forged], [json.dumps(forged)]):
        r = call(url, fns["select"], data, uuid.uuid4().hex[:10], None, select)
        assert not leaked(json.dumps(r, ensure_ascii=False))

    # the source view by id, and Gradio's file route on the stored file
    hidden, missing = httpx.get(url + "kilde/kraenkelser?start=0&end=60"), httpx.get(url + "kilde/findes-ikke")
    assert hidden.status_code == missing.status_code == 404 and hidden.text.split("<main>")[1] == \
        missing.text.split("<main>")[1]
    assert httpx.get(url + "kilde/kraenkelser", cookies=session_cookie(url)).status_code == 200
    for path in (f"gradio_api/file={corpus / 'kraenkelser.txt'}", "gradio_api/file=kraenkelser.txt",
                 f"file={corpus / 'kraenkelser.txt'}"):
        r = httpx.get(url + path)
        assert r.status_code != 200 and not leaked(r.text), path
