"""Log-ins and votes against a running server, as an attacker sends them (real model). The tests run in
file order on one server: the flood comes last, since it leaves this address paused for a while."""
import html
import json
import re
import shutil
import uuid

import httpx
import pytest
from conftest import CORPUS
from serving import build_index, running_server
from test_internal_server import call, dependencies

from assistant.limits import Limits
from assistant.state.users import UserStore
from assistant.web.sessions import ADDRESS_FAILURES, LOGIN_FAILURES

PASSWORD = "korrekt-hest-batteri"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-logins")
    corpus, index, data = root / "corpus", root / "index", root / "data"
    shutil.copytree(CORPUS, corpus)
    build_index(corpus, index)
    users = UserStore(data)
    users.add("vagn", PASSWORD)
    users.add("adm", PASSWORD, "admin")
    with running_server(index, data=data) as url:
        yield url, data


def login_form(url) -> tuple[httpx.Client, str]:
    """A client with the log-in page's cookie, and its CSRF token."""
    c = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    return c, html.unescape(CSRF.search(c.get("/login").text).group(1))


def test_forwarded_addresses_from_loopback_are_not_believed(server):
    """Each guess claiming a new X-Forwarded-For address still counts against the one real address."""
    url, _ = server
    c, token = login_form(url)
    codes = [c.post("/login", data={"csrf": token, "name": "vagn", "password": f"forkert-{i}"},
                    headers={"X-Forwarded-For": f"10.9.0.{i}"}).status_code for i in range(LOGIN_FAILURES + 1)]
    assert codes == [401] * LOGIN_FAILURES + [429]
    right = c.post("/login", data={"csrf": token, "name": "vagn", "password": PASSWORD},
                   headers={"X-Forwarded-For": "10.9.0.200"})
    assert right.status_code == 429                 # paused, whatever address the client claims
    c.close()


def test_guesses_sent_together_are_counted_before_any_password_is_checked(server):
    """Twelve wrong passwords for one name at once: the pause still comes after five, not after the
    first check ends (counted after the check, every guess in flight passed the limit)."""
    import asyncio
    url, data = server
    UserStore(data).add("tove", PASSWORD)

    async def guesses():
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            token = html.unescape(CSRF.search((await c.get("/login")).text).group(1))
            return await asyncio.gather(*(c.post("/login", data={"csrf": token, "name": "tove",
                                                                  "password": f"forkert-{i}"}) for i in range(12)))

    codes = sorted(r.status_code for r in asyncio.run(guesses()))
    assert codes == [401] * LOGIN_FAILURES + [429] * (12 - LOGIN_FAILURES)


def test_a_chat_answer_does_not_wait_for_the_password_checks_queued_before_it(server):
    """Twenty failed log-ins sent at once (about a second of Argon2 on two threads), then a question: its
    answer comes before the last log-in's, since no password check runs on the event loop."""
    import asyncio
    import threading
    import time

    from gradio_client import Client
    from serving import ask
    url, _ = server
    client = Client(url, verbose=False)
    done: list[float] = []

    async def guesses():
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            token = html.unescape(CSRF.search((await c.get("/login")).text).group(1))

            async def one(i):
                r = await c.post("/login", data={"csrf": token, "name": f"ukendt{i}", "password": "forkert-kodeord"})
                done.append(time.monotonic())
                return r.status_code
            return await asyncio.gather(*(one(i) for i in range(20)))

    codes: list[int] = []
    flood = threading.Thread(target=lambda: codes.extend(asyncio.run(guesses())))
    flood.start()
    time.sleep(0.2)                                 # the guesses are in, waiting for their checks
    text = ask(client, "hvad siger kodekset om sociale medier?")
    answered = time.monotonic()
    flood.join()
    assert "sociale medier" in text and codes == [401] * 20
    assert answered < max(done), "the chat answer waited for every password check"


def test_votes_are_limited_per_address_whatever_session_the_client_claims(server):
    """A new Gradio session for every vote (each with an answer to vote on) stores no more votes than
    one session may."""
    url, data = server
    fns = dependencies(url)
    limit = Limits().votes_per_minute
    for _ in range(limit + 5):
        session = uuid.uuid4().hex[:10]
        answer = call(url, fns["ask"], ["hvad siger kodekset om sociale medier?", [], "Alle", "Alle", None], session)
        assert answer["success"], answer
        call(url, fns["like"], [None], session, event_data={"index": 1, "value": "", "liked": True})
    stored = (data / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(stored) == limit


def test_ten_thousand_failed_logins_leave_the_admin_actions_in_recent_changes(server):
    url, data = server
    admin, token = login_form(url)
    assert admin.post("/login", data={"csrf": token, "name": "adm", "password": PASSWORD}).status_code == 303
    attacker, token = login_form(url)
    codes = {}
    for i in range(10_000):                         # names of the attacker's choosing
        r = attacker.post("/login", data={"csrf": token, "name": f"<b>angriber{i}</b>", "password": "forkert"})
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
    assert codes[429] >= 10_000 - ADDRESS_FAILURES and set(codes) <= {401, 429}
    page = admin.get("/admin")
    assert page.status_code == 200
    recent = page.text[page.text.index("Seneste ændringer"):]
    assert "<td>adm</td><td>login</td>" in recent and "angriber" not in recent
    logged = [json.loads(line) for line in (data / "logins.jsonl").read_text(encoding="utf-8").splitlines()]
    flood = [e for e in logged if "angriber" in e["details"]["typed"]]
    assert len(flood) == 10_000 and all(e["user"] == "?" for e in flood)        # each counted, as typed, apart
    attacker.close()
    admin.close()
