"""The running server against hostile requests, hostile files and damaged index versions
(real model). One server for the module; every test checks it still answers."""
import os
import shutil
import sys
import threading
import time

import pytest
from bounded import run_bounded
from conftest import CORPUS, ROOT
from damage import DAMAGE, point_current_at, point_current_at_itself
from serving import ask, build_index, running_server

QUESTION = "hvad siger kodekset om sociale medier?"
SOCIAL = "Vi taler og skriver ordentligt til, om og med hinanden ved møder, uden for møder og på sociale medier"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-server")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(CORPUS, corpus)
    build_index(corpus, index)
    with running_server(index, data=root / "data") as url:
        yield url, corpus, index


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client
    return Client(server[0], verbose=False)


def test_monitoring_is_off(server):
    import httpx
    url = server[0]
    for path in ("monitoring", "monitoring/summary", "gradio_api/monitoring/summary"):
        r = httpx.get(url + path)
        assert r.status_code in (403, 404), (path, r.status_code, r.text[:200])
        assert "avg_duration" not in r.text and "success" not in r.text.lower()


def test_the_running_chat_page_may_not_be_framed_or_stored(server):
    import httpx
    r = httpx.get(server[0])
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_uploads_are_limited_and_foreign_origins_refused(server, tmp_path):
    import httpx
    url = server[0]
    upload = url + "gradio_api/upload"
    uploads_before = _upload_dir_size()
    big = httpx.post(upload, files={"files": ("x.bin", b"\0" * (3 * 2**20))})
    assert big.status_code == 413, big.text
    foreign = httpx.post(upload, files={"files": ("x.txt", b"hej")}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    raw = httpx.post(upload, content=b"\0" * 1000, headers={"Content-Type": "application/octet-stream"})
    assert raw.status_code == 415
    join = httpx.post(url + "gradio_api/queue/join", json={"data": [QUESTION], "fn_index": 0, "session_hash": "x"},
                      headers={"Origin": "http://evil.example"})
    assert join.status_code == 403
    assert _upload_dir_size() - uploads_before < 2**20          # nothing big was kept in the temp folder


def _upload_dir_size():
    import tempfile
    folder = os.environ.get("GRADIO_TEMP_DIR") or os.path.join(tempfile.gettempdir(), "gradio")
    return sum(f.stat().st_size for f in __import__("pathlib").Path(folder).rglob("*") if f.is_file()) \
        if os.path.isdir(folder) else 0


def test_punctuation_and_template_questions_ask_to_rephrase(client):
    for q in ("???", "%s{0}", "{{ title }}"):
        assert "Omformulér spørgsmålet" in ask(client, q), q
    assert SOCIAL in ask(client, QUESTION)


def test_a_huge_organisation_filter_is_refused_at_once_and_stalls_no_one(server, client):
    """One anonymous request with a 1 MB organisation value (no spaces) used to reach a quadratic
    pattern search and hold every other request for minutes."""
    from gradio_client import Client

    from assistant.web.chat import FILTER_REFUSED
    start = time.perf_counter()
    assert SOCIAL in ask(client, QUESTION)
    normal = time.perf_counter() - start
    huge, other = {}, {}

    def send_huge():
        t0 = time.perf_counter()
        huge["answer"] = ask(Client(server[0], verbose=False), QUESTION, org="Aalborg" + "a" * 2**20)
        huge["seconds"] = time.perf_counter() - t0

    def ask_parallel():
        t0 = time.perf_counter()
        other["answer"] = ask(Client(server[0], verbose=False), QUESTION)
        other["seconds"] = time.perf_counter() - t0

    threads = [threading.Thread(target=send_huge), threading.Thread(target=ask_parallel)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert huge["answer"] == FILTER_REFUSED
    assert SOCIAL in other["answer"]
    # no stall: both are done within what ten ordinary questions take (before the fix, minutes)
    assert huge["seconds"] < 10 * normal + 5 and other["seconds"] < 10 * normal + 5, (huge["seconds"], other["seconds"], normal)


def test_server_keeps_answering_while_hostile_files_are_indexed(server, client, hostile_dir):
    import hostile_files
    url, corpus, index = server
    for fname, _, _, _ in hostile_files.CASES.values():
        shutil.copy(hostile_dir / fname, corpus / fname)
    answers, stop = [], threading.Event()

    def keep_asking():
        from gradio_client import Client
        c = Client(url, verbose=False)
        while not stop.wait(1.0):            # a user asking now and then, not a load test on 2 cores
            answers.append(ask(c, QUESTION))

    t = threading.Thread(target=keep_asking)
    t.start()
    try:
        run = run_bounded([sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus),
                           "--index", str(index)], cwd=ROOT, env={"ASSISTANT_PDF_SECONDS": "0.2"})
    finally:
        stop.set()
        t.join()
    print(f"assistant index with every hostile file: {run.seconds:.1f} s, peak {run.peak_mb:.0f} MB")
    run.check_bounded()
    assert run.returncode == 0, run.stderr
    for fname, _, limit, _ in hostile_files.CASES.values():
        if limit:
            assert f"skipped {fname}: " in run.stdout and limit in run.stdout
    assert answers and all(SOCIAL in a for a in answers)
    assert SOCIAL in ask(client, QUESTION)
    for fname, _, _, _ in hostile_files.CASES.values():
        (corpus / fname).unlink()


def test_server_keeps_its_last_good_version_for_every_kind_of_damage(server, client):
    url, corpus, index = server
    good = (index / "current").resolve()
    baseline = ask(client, QUESTION)
    assert SOCIAL in baseline
    for n, (kind, damage) in enumerate(DAMAGE.items()):
        if damage is None:
            point_current_at_itself(index)
        else:
            bad = index / f"v-99999999T999999-damaged-{n:02d}"
            shutil.copytree(good, bad)
            damage(bad)
            point_current_at(index, bad.name)
        assert ask(client, QUESTION) == baseline, kind
        assert ask(client, "hvordan defineres ledelse") , kind
    # assistant index (real model) builds a fresh version beside the damaged one; the server takes it
    run = run_bounded([sys.executable, "-m", "assistant.cli", "index", "--corpus", str(corpus), "--index", str(index)],
                      cwd=ROOT, timeout=600)
    run.check_bounded(seconds=300)
    assert run.returncode == 0 and "damaged" in run.stdout + run.stderr, run.stderr
    fresh = (index / "current").resolve()
    assert fresh != good and fresh.name.startswith("v-2")
    assert SOCIAL in ask(client, QUESTION)


def _raw_request(url: str, head: str, body: bytes = b"") -> int:
    """Send ``head`` (request line and headers) and ``body`` on a plain socket; the response's status."""
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=20) as s:
        s.sendall(head.encode("latin-1") + b"\r\n" + body)
        return int(s.recv(200).split(b" ", 2)[1])


def test_the_running_server_refuses_bodies_it_would_have_to_read_unbounded(server):
    """A declared 200 MB event body is refused before it is sent; an upload without a Content-Length
    and an event body streamed past its limit are refused, and nothing is kept."""
    import httpx
    url = server[0]
    host = url.split("//")[1].rstrip("/")
    status = _raw_request(url, f"POST /gradio_api/queue/join HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
                               f"\r\nContent-Length: {200 * 2**20}\r\n")
    assert status == 413
    uploads_before = _upload_dir_size()

    def chunks(n):
        for _ in range(n):
            yield b"\0" * 2**16

    chunked = httpx.post(url + "gradio_api/upload", content=chunks(32),
                         headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert chunked.status_code == 411
    streamed = httpx.post(url + "gradio_api/queue/join", content=chunks(64), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert _upload_dir_size() - uploads_before < 2**20
    assert httpx.get(url).status_code == 200                                 # and still serving


def test_an_old_cookie_is_anonymous_after_a_new_password_and_after_remove_and_add(server):
    """`assistant user password` and `user remove` + `user add --role admin` from another process end the
    running server's sessions of that account at once."""
    import html
    import re

    import httpx

    from assistant.state.users import UserStore
    url, _, index = server
    users = UserStore(index.parent / "data")
    users.add("bodil", "korrekt-hest-batteri")

    def log_in(password):
        c = httpx.Client(base_url=url, follow_redirects=False)
        token = html.unescape(re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1))
        assert c.post("/login", data={"csrf": token, "name": "bodil", "password": password}).status_code == 303
        return c

    old = log_in("korrekt-hest-batteri")
    assert old.get("/whoami").text == "bodil (medarbejder)"
    users.set_password("bodil", "en-helt-ny-hest-batteri")
    assert old.get("/whoami").text == "ikke logget ind"
    staff = log_in("en-helt-ny-hest-batteri")
    users.remove("bodil")
    users.add("bodil", "tredje-hest-batteri-kode", "admin")
    assert staff.get("/whoami").text == "ikke logget ind"
    assert staff.get("/admin").status_code == 303                       # to the log-in, not the admin page
    old.close()
    staff.close()
