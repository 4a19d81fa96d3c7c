"""The server: one FastAPI app with the session layer, log-in, the source view, the
administration page, and the Gradio chat mounted at ``/``.

Why not Gradio's own ``auth``: it is all or nothing (every visitor must log in) and has no
roles, while the public must be able to read public documents without an account and staff
must see more than they do. A small session layer in front of Gradio gives each request a
reader (anonymous, staff, admin); the chat's handlers ask for it and pass it to retrieval
as ``Filters(internal=...)``.
"""
from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from assistant.limits import limits
from assistant.state.audit import LOGINS, LOGINS_BYTES, AuditLog
from assistant.state.users import UserStore
from assistant.store.rebuild import Rebuilder
from assistant.web.admin import AdminPage
from assistant.web.chat import CSS, _theme, build_app
from assistant.web.guard import RequestGuard
from assistant.web.pages import NO_STORE, login_page, message_page, source_page
from assistant.web.sessions import COOKIE, LOGIN_COOKIE, MAX_AGE, Sessions, same_token

OPEN_PATHS = ("/login",)          # reachable without a session under --require-login


def _local(next_url: str | None) -> str:
    """Only a path on this server: never another host ("//evil", "https://…")."""
    n = next_url or "/"
    parts = urlsplit(n)
    if parts.scheme or parts.netloc or not n.startswith("/") or n.startswith("//") or "\\" in n:
        return "/"
    return n


def _low_priority() -> None:
    """Run this thread (and the threads Argon2 starts from it) at a lower CPU priority (Linux: niceness is
    per thread): a flood of log-ins gets the cores the chat leaves, not the other way round."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


# Argon2 checks: two at a time (each takes ~0.1 s on four lanes), off the event loop, at low priority
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-check", initializer=_low_priority)


async def _verify(users: UserStore, name: str, password: str):
    return await asyncio.wrap_future(_HASHING.submit(users.verify, name, password))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


class LoginRequired:
    """``--require-login``: every route but the log-in page needs a session."""

    def __init__(self, app, sessions: Sessions):
        self.app, self.sessions = app, sessions

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or scope.get("path", "") in OPEN_PATHS:
            return await self.app(scope, receive, send)
        request = Request(scope)
        if self.sessions.viewer_of(request.cookies).user is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        accept = request.headers.get("accept", "")
        if scope.get("method") == "GET" and "text/html" in accept:
            response = RedirectResponse(f"/login?next={scope.get('path', '/')}", status_code=303)
        else:
            response = PlainTextResponse("log ind først", status_code=401)
        await response(scope, receive, send)


def create_app(assistant, corpus: Path, data_dir: Path, require_login: bool = False, gate=None,
               feedback=None) -> FastAPI:
    import gradio as gr


    users, audit = UserStore(data_dir), AuditLog(data_dir)
    logins = AuditLog(data_dir, LOGINS, max_bytes=LOGINS_BYTES, durable=False)     # failed log-ins: anyone can cause them
    sessions = Sessions(users)
    rebuilder = Rebuilder(assistant, corpus, audit, gate)
    admin = AdminPage(assistant, corpus, sessions, audit, rebuilder, logins)

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions, app.state.rebuilder, app.state.audit, app.state.users = sessions, rebuilder, audit, users

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request, next: str = "/"):
        token = request.cookies.get(LOGIN_COOKIE) or os.urandom(24).hex()
        doc, headers = login_page(token, _local(next))
        response = HTMLResponse(doc, headers=headers)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                            max_age=3600, path="/login")
        return response

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form(max_files=0, max_fields=10)
        name = str(form.get("name") or "").strip().lower()[:64]
        password = str(form.get("password") or "")
        next_url = _local(str(form.get("next") or "/"))
        address = request.client.host if request.client else "?"
        token = request.cookies.get(LOGIN_COOKIE)

        def again(message: str, status: int):
            doc, headers = login_page(token or os.urandom(24).hex(), next_url, message, name)
            return HTMLResponse(doc, status_code=status, headers=headers)

        if not same_token(form.get("csrf"), token):
            return again("Siden var forældet; prøv at logge ind igen.", 400)
        attempt = sessions.begin_login(name, address)      # counted before the check: parallel guesses too
        if attempt is None:
            logins.record("?", "login_throttled", typed=name, address=address)
            return again("For mange forkerte forsøg; vent et kvarter og prøv igen.", 429)
        try:       # Argon2 off the event loop, two at a time, at low priority: failed log-ins do not stall the chat
            user = await _verify(users, name, password)
        except ValueError:
            user = None
        if user is None:
            logins.record("?", "login_failed", typed=name, address=address)
            return again("Forkert brugernavn eller adgangskode.", 401)
        sessions.login_succeeded(name, address, attempt)
        audit.record(user.name, "login", address=address, role=user.role)
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(COOKIE, sessions.create(user), httponly=True, samesite="strict", secure=_secure(request),
                            path="/", max_age=MAX_AGE)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        form = await request.form(max_files=0, max_fields=5)
        token = request.cookies.get(COOKIE)
        viewer = sessions.viewer(token)
        response = RedirectResponse("/", status_code=303)
        if viewer.user is not None and same_token(form.get("csrf"), viewer.csrf):
            sessions.end(token)
            audit.record(viewer.user.name, "logout")
            response.delete_cookie(COOKIE, path="/")
        elif viewer.user is None:
            response.delete_cookie(COOKIE, path="/")     # an expired or unknown session: tidy the cookie
        return response

    @app.get("/kilde/{doc_id}", include_in_schema=False)
    async def source(request: Request, doc_id: str, start: int | None = None, end: int | None = None):
        viewer = sessions.viewer_of(request.cookies)
        try:
            doc = assistant.index.documents.get(doc_id)
        except Exception:   # noqa: BLE001 - no index: nothing to show
            doc = None
        if doc is None or (doc.internal and not viewer.internal):   # the same answer: no hint it exists
            page, headers = message_page("Dokumentet findes ikke", "Der er intet dokument med det id i indekset.")
            return HTMLResponse(page, status_code=404, headers=headers)
        page, headers = source_page(doc, start, end)
        return HTMLResponse(page, headers=headers)

    @app.get("/whoami", include_in_schema=False)
    async def whoami(request: Request):
        v = sessions.viewer_of(request.cookies)
        return PlainTextResponse(v.label, headers=NO_STORE)

    app.include_router(admin.router())

    blocks = build_app(assistant, feedback, viewer_of=lambda request: sessions.viewer_of(
        getattr(request, "cookies", None) if request is not None else None))
    blocks.queue(default_concurrency_limit=4)
    lim = limits()
    app = gr.mount_gradio_app(app, blocks, path="/", css=CSS, theme=_theme(), show_error=False, footer_links=[],
                              run_history=False, max_file_size=lim.upload_bytes, enable_monitoring=lim.monitoring)
    if require_login:
        app.add_middleware(LoginRequired, sessions=sessions)
    # outermost: foreign-Origin writes refused, every request body bounded (issues 19, 35), on every route
    app.add_middleware(RequestGuard, upload_bytes=lim.upload_bytes, document_bytes=lim.document_upload_bytes,
                       request_bytes=lim.request_bytes)
    return app


def serve(assistant, host: str = "127.0.0.1", port: int = 7860, corpus: Path | None = None,
          data_dir: Path | None = None, require_login: bool = False, gate=None,
          forwarded_allow_ips: str | None = None) -> None:
    """Serve the chat. ``forwarded_allow_ips``: the proxies whose X-Forwarded-For/-Proto headers are
    believed (comma-separated addresses); by default none, so a client cannot choose the address that
    login throttling and the audit log see."""
    import uvicorn

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = create_app(assistant, Path(corpus or assistant.settings.corpus_dir),
                     Path(data_dir or assistant.settings.data_dir), require_login, gate)
    print(f"Kodeks-assistenten: http://{host}:{port}/ (administration: /admin)", flush=True)
    # a browser's or client's open event stream must not hold a shutdown (SIGTERM, Ctrl-C) for long
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=bool(forwarded_allow_ips),
                forwarded_allow_ips=forwarded_allow_ips or "", timeout_graceful_shutdown=3)
