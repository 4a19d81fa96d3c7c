"""Log-in, sessions, CSRF, --require-login and the administration page, in process (fake embedder;
the real model and a real browser are in test_admin_browser.py and test_internal_server.py)."""
import html
import json
import re

import pytest
from fakes import FakeEmbedder, make_pdf
from webclient import PASSWORD, csrf, login, make_site

from assistant.state.audit import AuditLog
from assistant.state.users import UserStore
from assistant.store.index import Index, resolve_current
from assistant.web.sessions import LOGIN_WINDOW

NEW_POLICY = ("Retningslinjer for hjemmearbejde\n\nHjemmearbejde\n\n"
              "Medarbejdere kan arbejde hjemme to dage om ugen efter aftale med lederen.\n")


@pytest.fixture
def site(tmp_path):
    client, app, assistant = make_site(tmp_path, FakeEmbedder())
    with client:
        yield client, app, assistant, tmp_path


def flash(client) -> str:
    return html.unescape(" ".join(re.findall(r'class="flash [^"]*"[^>]*>([^<]*)<', client.get("/admin").text)))


def test_login_sets_a_strict_httponly_cookie_and_logout_needs_the_csrf_token(site):
    client, app, _, tmp = site
    assert client.get("/whoami").text == "ikke logget ind"
    page = client.get("/login")
    token = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page.text).group(1))
    r = client.post("/login", data={"name": "hanne", "password": PASSWORD, "next": "/admin"})
    assert r.status_code == 400 and "forældet" in r.text                     # no CSRF token
    r = client.post("/login", data={"csrf": token, "name": "hanne", "password": "forkert-kodeord"})
    assert r.status_code == 401 and "Forkert brugernavn eller adgangskode." in r.text
    r = client.post("/login", data={"csrf": token, "name": "hanne", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/"              # only local redirects
    cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith("kodeks_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/whoami").text == "hanne (administrator)"

    client.post("/logout", data={"csrf": "wrong"})
    assert client.get("/whoami").text == "hanne (administrator)"             # a forged log-out does nothing
    client.post("/logout", data={"csrf": csrf(client)})
    assert client.get("/whoami").text == "ikke logget ind"
    actions = [(e["user"], e["action"]) for e in AuditLog(tmp / "data").entries()]
    assert actions == [("hanne", "login"), ("hanne", "logout")]
    failed = AuditLog(tmp / "data", "logins.jsonl").entries()
    assert [(e["user"], e["action"], e["details"]["typed"]) for e in failed] == [("?", "login_failed", "hanne")]


def test_repeated_wrong_passwords_pause_that_name_and_foreign_origins_are_refused(site):
    client, *_ = site
    for _ in range(5):
        assert login(client, password="forkert-kodeord").status_code == 401
    r = login(client)                                                       # right password, but paused
    assert r.status_code == 429 and "vent et kvarter" in r.text
    assert login(client, name="ole").status_code == 303                    # another name is not affected
    for path in ("/login", "/logout", "/admin/genopbyg", "/gradio_api/queue/join"):
        r = client.post(path, data={"csrf": "x"}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403, path
    assert client.get("/whoami").text == "ole (medarbejder)"


def test_removed_user_loses_the_session_on_the_next_request(site):
    client, app, _, tmp = site
    login(client, name="ole")
    assert client.get("/whoami").text == "ole (medarbejder)"
    app.state.users.remove("ole")
    assert client.get("/whoami").text == "ikke logget ind"


def test_a_new_password_or_a_recreated_account_ends_the_old_sessions(site):
    """What `assistant user password` and `user remove` + `user add` do from another process: the old
    cookie is anonymous at once, and a staff cookie never becomes an administrator's."""
    client, _, _, tmp = site
    users = UserStore(tmp / "data")                 # another process's view of users.json
    login(client, name="ole")
    assert client.get("/whoami").text == "ole (medarbejder)"
    users.set_password("ole", PASSWORD + "-ny")
    assert client.get("/whoami").text == "ikke logget ind"
    assert login(client, name="ole", password=PASSWORD + "-ny").status_code == 303
    assert client.get("/whoami").text == "ole (medarbejder)"
    users.remove("ole")
    users.add("ole", "et-helt-andet-kodeord", "admin")
    assert client.get("/whoami").text == "ikke logget ind"
    assert client.get("/admin").status_code == 303


def test_login_throttling_has_no_reset_counts_accounts_across_addresses_and_refuses_long_passwords(site, monkeypatch):
    _, app, _, _ = site
    sessions = app.state.sessions
    for _ in range(5):
        sessions.login_failed("hanne", "10.0.0.1")
    assert not sessions.login_allowed("hanne", "10.0.0.1")
    for i in range(10_050):                         # a flood of new names and addresses
        sessions.login_failed(f"x{i}", f"10.1.{i // 250}.{i % 250}")
    assert not sessions.login_allowed("hanne", "10.0.0.1")          # nothing was cleared
    for i in range(20):                             # one account from many addresses
        sessions.login_failed("ole", f"10.2.0.{i}")
    assert not sessions.login_allowed("ole", "10.2.0.99")
    # the table is full (a real client has one address, allowed 50 failures): new keys wait for the window
    assert not sessions.login_allowed("hanne", "10.3.0.1")
    # and after it, everyone may try again: the expired records make room (no lock-out for good)
    now = sessions.clock()
    monkeypatch.setattr(sessions, "clock", lambda: now + LOGIN_WINDOW + 1)
    assert sessions.login_allowed("nyt-navn", "10.4.0.1") and sessions.login_allowed("hanne", "10.0.0.1")
    assert app.state.users.verify("hanne", PASSWORD + "x" * 5000) is None
    # an office behind one address: sixty right passwords in a row are never paused (each attempt is
    # counted when it starts, and taken back when the password was right)
    for _ in range(60):
        at = sessions.begin_login("ole", "10.5.0.1")
        assert at is not None
        sessions.login_succeeded("ole", "10.5.0.1", at)


def test_the_password_check_runs_off_the_event_loop(site, monkeypatch):
    """Argon2 takes a core for a while; on the event loop, failed log-ins would stall every page and answer."""
    import asyncio
    client, app, _, _ = site
    seen = []
    verify = app.state.users.verify

    def spy(name, password):
        try:
            asyncio.get_running_loop()
            seen.append("on the event loop")
        except RuntimeError:
            seen.append("in a worker thread")
        return verify(name, password)

    monkeypatch.setattr(app.state.users, "verify", spy)
    assert login(client, password="forkert-kodeord").status_code == 401
    assert login(client).status_code == 303
    assert seen == ["in a worker thread"] * 2


def test_a_flood_of_failed_logins_leaves_the_admin_actions_in_recent_changes(site):
    client, app, _, tmp = site
    login(client)                                   # hanne's log-in is an admin action on record
    other = type(client)(app, follow_redirects=False)
    for i in range(60):                             # another client fails 60 times, names of its choosing
        assert login(other, name=f"<b>angriber{i}</b>"[:20], password="forkert-kodeord").status_code in (401, 429)
    page = client.get("/admin").text
    recent = page[page.index("Seneste ændringer"):]
    assert "<td>hanne</td><td>login</td>" in recent and "angriber" not in recent
    assert "Mislykkede log-ind det seneste døgn: " in recent
    rotated = AuditLog(tmp / "data", "logins.jsonl", max_bytes=2000)
    for _ in range(50):
        rotated.record("?", "login_failed", typed="x" * 100)
    assert rotated.path.stat().st_size <= 2000 and rotated.path.with_name("logins.1.jsonl").exists()
    assert [e["action"] for e in AuditLog(tmp / "data").entries()] == ["login"]


def test_administration_is_for_admins_only(site):
    client, *_ = site
    r = client.get("/admin")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin"
    assert client.post("/admin/genopbyg", data={}).status_code == 303         # anonymous: to the log-in
    assert client.get("/admin/status").status_code == 403
    login(client, name="ole")
    assert client.get("/admin").status_code == 403 and "administrator" in client.get("/admin").text
    assert client.post("/admin/genopbyg", data={"csrf": "x"}).status_code == 403
    client.cookies.clear()
    login(client)
    page = client.get("/admin")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for heading in ("Indekset", "Upload dokument", "Dokumenter", "Manglende metadata", "Seneste ændringer"):
        assert f"<h2>{heading}</h2>" in page.text


def test_require_login_closes_the_chat_and_its_api(tmp_path):
    client, *_ = make_site(tmp_path, FakeEmbedder(), require_login=True)
    with client:
        r = client.get("/", headers={"Accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        for path in ("/config", "/gradio_api/info", "/kilde/aalborg-byraad-adfaerdskodeks", "/theme.css"):
            assert client.get(path).status_code == 401, path
        assert client.post("/gradio_api/queue/join", json={}).status_code == 401
        assert client.get("/login").status_code == 200
        login(client, name="ole")
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
        assert client.get("/config").status_code == 200


def upload(client, name, data, **fields):
    return client.post("/admin/dokumenter", data={"csrf": csrf(client), **fields},
                       files={"fil": (name, data, "application/octet-stream")})


def test_uploads_are_checked_by_content_stored_under_generated_names_and_never_served_raw(site, monkeypatch):
    client, _, _, tmp = site
    login(client)
    corpus = tmp / "corpus"
    before = sorted(p.name for p in corpus.iterdir())
    refused = {
        ("politik.pdf", b"Dette er bare tekst, ikke en PDF."): "indholdet er tekst",
        ("politik.docx", b"%PDF-1.4 not really"): "indholdet er PDF",
        ("program.exe", b"MZ\x90\x00\x03"): "understøttes ikke",
        ("billede.txt", bytes(range(256)) * 40): "hverken PDF, DOCX, HTML eller tekst",
        ("tom.txt", b""): "Filen er tom",
    }
    for (name, data), message in refused.items():
        assert upload(client, name, data).status_code == 303
        assert message in flash(client), name
    scanned = tmp / "scannet.pdf"
    make_pdf(scanned, [[]])                                               # a PDF with no text layer
    upload(client, "scannet.pdf", scanned.read_bytes())
    assert "kan ikke læses" in flash(client)
    monkeypatch.setenv("ASSISTANT_DOCUMENT_UPLOAD_BYTES", "1000")
    upload(client, "stor.txt", ("Ordentlig tekst om hjemmearbejde. " * 100).encode())
    assert "for stor" in flash(client)
    monkeypatch.delenv("ASSISTANT_DOCUMENT_UPLOAD_BYTES")
    assert upload(client, "ok.txt", "tekst", visibility="hemmelig").status_code == 303
    assert "Synlighed skal være offentlig eller intern" in flash(client)
    assert sorted(p.name for p in corpus.iterdir()) == before                 # nothing refused was kept

    r = upload(client, "../../../etc/Hjemmearbejde.txt", NEW_POLICY.encode(), visibility="intern",
               organisation="Aalborg Kommune", date="1. marts 2024")
    assert r.status_code == 303 and "er gemt som dok-" in flash(client)
    [new] = [p for p in corpus.iterdir() if p.name not in before and p.suffix == ".txt"]
    assert re.fullmatch(r"dok-[0-9a-f]{10}\.txt", new.name) and new.read_text(encoding="utf-8") == NEW_POLICY
    assert json.loads((corpus / f"{new.stem}.meta.json").read_text(encoding="utf-8")) == {
        "organisation": "Aalborg Kommune", "visibility": "intern", "date": "2024-03-01"}
    assert not list(tmp.glob("etc*")) and not list(corpus.glob(".*"))       # no path from the client, no temp files
    for path in (f"/gradio_api/file={new}", f"/gradio_api/file={new.relative_to(tmp)}", f"/file={new}"):
        r = client.get(path)
        assert r.status_code != 200 and "hjemme to dage" not in r.text, path
    [entry] = [e for e in AuditLog(tmp / "data").entries() if e["action"] == "upload"]
    assert entry["user"] == "hanne" and entry["document"] == new.stem
    assert entry["details"]["filename"] == "../../../etc/Hjemmearbejde.txt"


def test_edit_replace_delete_are_logged_and_bad_input_changes_nothing(site):
    client, _, _, tmp = site
    login(client)
    corpus = tmp / "corpus"
    doc = "albertslund-kommune-vaerdier"
    r = client.post(f"/admin/dokumenter/{doc}/metadata", data={"csrf": csrf(client), "date": "i går"})
    assert r.status_code == 303 and "Datoen »i går« kan ikke læses" in flash(client)
    assert not (corpus / f"{doc}.meta.json").exists()
    client.post(f"/admin/dokumenter/{doc}/metadata",
                data={"csrf": csrf(client), "date": "2020-05", "visibility": "intern", "title": "Albertslundværdierne"})
    assert json.loads((corpus / f"{doc}.meta.json").read_text(encoding="utf-8")) == {
        "date": "2020-05", "visibility": "intern", "title": "Albertslundværdierne"}
    client.post(f"/admin/dokumenter/{doc}/metadata", data={"csrf": "forældet", "visibility": "offentlig"})
    assert "forældet" in flash(client)
    assert json.loads((corpus / f"{doc}.meta.json").read_text(encoding="utf-8"))["visibility"] == "intern"
    client.post("/admin/dokumenter/findes-ikke/slet", data={"csrf": csrf(client)})
    assert "findes ikke i dokumentmappen" in flash(client)
    assert client.post("/admin/dokumenter/..%2F..%2Fdata%2Fusers/slet", data={"csrf": csrf(client)}).status_code == 404
    assert (tmp / "data" / "users.json").exists()

    html = "<html><body><h1>Albertslundværdierne</h1><p>Vi er nysgerrige og modige.</p></body></html>"
    client.post(f"/admin/dokumenter/{doc}/erstat", data={"csrf": csrf(client)},
                files={"fil": ("vaerdier.html", html.encode(), "text/html")})
    assert (corpus / f"{doc}.html").read_text(encoding="utf-8") == html
    assert not (corpus / f"{doc}.txt").exists() and (corpus / f"{doc}.meta.json").exists()   # same id and sidecar
    client.post(f"/admin/dokumenter/{doc}/slet", data={"csrf": csrf(client)})
    assert not list(corpus.glob(f"{doc}.*"))
    log = [(e["user"], e["action"], e.get("document")) for e in AuditLog(tmp / "data").entries()
           if e["action"] not in ("login",)]
    assert log == [("hanne", "edit_metadata", doc), ("hanne", "replace", doc), ("hanne", "delete", doc)]
    assert json.loads((tmp / "data" / "audit.jsonl").read_text(encoding="utf-8").splitlines()[1])["details"] == {
        "changed": {"date": "2020-05", "visibility": "intern", "title": "Albertslundværdierne"}}


def test_rebuild_runs_in_the_background_and_a_failed_one_changes_nothing(site):
    client, app, assistant, tmp = site
    login(client)
    corpus = tmp / "corpus"
    first = resolve_current(tmp / "index").name
    upload(client, "hjemmearbejde.txt", NEW_POLICY.encode(), organisation="Aalborg Kommune", date="2024-03")
    assert "Ny – kommer med ved næste genopbygning" in client.get("/admin").text
    client.post("/admin/genopbyg", data={"csrf": csrf(client)})
    state = app.state.rebuilder.wait(120)
    assert state.status == "done" and state.percent == 100 and len(state.summary["added"]) == 1
    page = html.unescape(client.get("/admin").text)
    assert 'id="fremdrift" max="100" value="100"' in page and "Færdig: indekset er genopbygget" in page
    second = resolve_current(tmp / "index").name
    assert second != first and second == state.version
    assert "Retningslinjer for hjemmearbejde" in {d.title for d in assistant.index.documents.values()}

    (corpus / "katalog.csv").write_text("file,organisation,date\nhjemmearbejde.txt,Aalborg Kommune,engang\n",
                                        encoding="utf-8")
    client.post("/admin/genopbyg", data={"csrf": csrf(client)})
    state = app.state.rebuilder.wait(120)
    assert state.status == "failed" and "katalog.csv line 2, column 3" in state.message
    page = html.unescape(client.get("/admin").text)
    assert "Genopbygningen mislykkedes" in page and "Indekset er uændret" in page
    assert resolve_current(tmp / "index").name == second and not list((tmp / "index").glob(".tmp-*"))
    actions = [e["action"] for e in AuditLog(tmp / "data").entries()]
    assert actions[-4:] == ["rebuild_start", "rebuild_done", "rebuild_start", "rebuild_failed"]


def test_unknown_metadata_is_listed_with_a_form_that_fixes_it(site):
    client, app, assistant, tmp = site
    login(client)
    (tmp / "corpus" / "noter.txt").write_text("noter fra et møde\n\nvi talte om kaffe og kage.\n", encoding="utf-8")
    client.post("/admin/genopbyg", data={"csrf": csrf(client)})
    app.state.rebuilder.wait(120)
    section = client.get("/admin").text.split('id="ukendt"')[1]
    assert 'data-id="noter"' in section and "ukendt organisation" in section
    assert 'action="/admin/dokumenter/noter/metadata"' in section
    client.post("/admin/dokumenter/noter/metadata",
                data={"csrf": csrf(client), "organisation": "Albertslund Kommune", "date": "2023"})
    client.post("/admin/genopbyg", data={"csrf": csrf(client)})
    app.state.rebuilder.wait(120)
    assert assistant.index.documents["noter"].organisation == "Albertslund Kommune"
    assert 'data-id="noter"' not in client.get("/admin").text.split('id="ukendt"')[1]


def test_source_view_shows_internal_documents_to_staff_only(site):
    client, app, assistant, tmp = site
    login(client)
    client.post("/admin/dokumenter/aalborg-kommune-ledelsespolitik/metadata",
                data={"csrf": csrf(client), "visibility": "intern"})
    client.post("/admin/genopbyg", data={"csrf": csrf(client)})
    assert app.state.rebuilder.wait(120).status == "done"
    assert Index.load(tmp / "index").documents["aalborg-kommune-ledelsespolitik"].internal
    ok = client.get("/kilde/aalborg-kommune-ledelsespolitik?start=0&end=20")
    assert ok.status_code == 200 and '<mark id="citat">' in ok.text and ok.headers["cache-control"] == "no-store"
    client.post("/logout", data={"csrf": csrf(client)})
    hidden = client.get("/kilde/aalborg-kommune-ledelsespolitik")
    missing = client.get("/kilde/findes-ikke")
    assert hidden.status_code == missing.status_code == 404 and hidden.text.split("<main>")[1] == \
        missing.text.split("<main>")[1]
    assert client.get("/kilde/aalborg-byraad-adfaerdskodeks").status_code == 200


def test_the_chat_page_and_the_api_can_be_neither_framed_nor_stored(site):
    client = site[0]
    for path in ("/", "/config", "/gradio_api/info"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["cache-control"] == "no-store", path
    login = client.get("/login")            # a page with its own, fuller policy keeps it
    assert "form-action 'self'" in login.headers["content-security-policy"]
    assert login.headers["content-security-policy"].count("frame-ancestors") == 1


def test_static_assets_may_still_be_cached():
    from assistant.web.guard import protective_headers
    js = dict(protective_headers([(b"content-type", b"text/javascript; charset=utf-8")]))
    assert js[b"x-frame-options"] == b"DENY" and b"cache-control" not in js
    page = dict(protective_headers([(b"content-type", b"text/html; charset=utf-8")]))
    assert page[b"cache-control"] == b"no-store"
