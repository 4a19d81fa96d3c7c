"""In-process server for tests of the session layer and the administration page (FastAPI TestClient)."""
import html
import re
import shutil

from built import build_once
from conftest import CORPUS
from fakes import FakeEmbedder

from assistant.answer.assistant import Assistant
from assistant.config import Settings
from assistant.state.users import UserStore
from assistant.store.build import build_index

PASSWORD = "korrekt-hest-batteri"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_site(tmp_path, embedder, extra=None, gate=None, require_login=False):
    """corpus (bundled + ``extra`` {name: text}), index built, users hanne (admin) and ole (staff)."""
    from fastapi.testclient import TestClient

    from assistant.web.app import create_app
    corpus, index, data = tmp_path / "corpus", tmp_path / "index", tmp_path / "data"
    shutil.copytree(CORPUS, corpus)
    for name, text in (extra or {}).items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(index_dir=index, corpus_dir=corpus, data_dir=data)
    build = lambda folder: build_index(corpus, folder, embedder, settings, progress=False)
    if isinstance(embedder, FakeEmbedder):
        build(index)
    else:                                   # the real model: a copy of the same files' index when built before
        build_once(corpus, index, build, embedder.model_id)
    users = UserStore(data)
    users.add("hanne", PASSWORD, "admin")
    users.add("ole", PASSWORD, "staff")
    assistant = Assistant(settings, embedder=embedder)
    app = create_app(assistant, corpus, data, require_login=require_login, gate=gate)
    return TestClient(app, follow_redirects=False), app, assistant


def login(client, name="hanne", password=PASSWORD):
    page = client.get("/login")
    token = html.unescape(CSRF.search(page.text).group(1))
    return client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/admin"})


def csrf(client, path="/admin") -> str:
    return html.unescape(CSRF.search(client.get(path).text).group(1))

