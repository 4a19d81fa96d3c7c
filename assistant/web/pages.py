"""Small server-rendered pages around the chat: log-in, the source view, the user line.

Every string from documents, users or requests passes the project's one escaping function,
``escape.page_text``, before it reaches the page: ``esc`` for text, ``attr`` for attribute
values (which also escapes quotes). Pages that can show internal text are sent with
``Cache-Control: no-store`` and may not be framed by other sites.
"""
from __future__ import annotations

import secrets

from assistant.web.escape import page_text
from assistant.web.sessions import Viewer

CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1f2937; background: #f9fafb; }
main { max-width: 1100px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
header.top { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.5rem; margin: .3rem 0 1rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: .8rem 1rem; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .45rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
label { display: inline-block; margin: .2rem .8rem .2rem 0; font-size: .9rem; }
input[type=text], input[type=password], select { padding: .3rem .4rem; border: 1px solid #cbd5e1; border-radius: 4px; }
button { padding: .35rem .8rem; border: 1px solid #94a3b8; border-radius: 5px; background: #fff; cursor: pointer; }
button.primary { background: #ea580c; color: #fff; border-color: #ea580c; }
button.danger { color: #b91c1c; border-color: #fca5a5; }
.flash { padding: .6rem .9rem; border-radius: 6px; margin: .6rem 0; }
.flash.ok { background: #ecfdf5; border: 1px solid #6ee7b7; } .flash.fejl { background: #fef2f2; border: 1px solid #fca5a5; }
.intern { background: #fef3c7; padding: 0 .35rem; border-radius: 4px; font-size: .85rem; }
.muted { color: #6b7280; font-size: .88rem; }
progress { width: 100%; height: 1.2rem; }
pre.tekst { white-space: pre-wrap; font-family: inherit; line-height: 1.45; }
mark { background: #ffe066; padding: 0 2px; }
details > summary { cursor: pointer; color: #1d4ed8; }
form.inline { display: inline; }
"""
NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff"}


def esc(s, mode: str = "inline") -> str:
    """Text content: shown as itself, never as markup (``mode`` as in ``escape.page_text``)."""
    return page_text(s, mode)


def attr(s) -> str:
    """An attribute value between double or single quotes."""
    return page_text(s).replace('"', "&quot;").replace("'", "&#39;")


def csp(nonce: str) -> dict:
    return {**NO_STORE, "Content-Security-Policy": (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")}


def page(title: str, body: str, script: str = "") -> tuple[str, dict]:
    """A whole page and the headers to send it with (the script, if any, runs under a nonce)."""
    nonce = secrets.token_urlsafe(16)
    js = f"<script nonce=\"{nonce}\">{script}</script>" if script else ""
    doc = (f"<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\">"
           f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>{esc(title)} – Kodeks-assistenten</title><style>{CSS}</style></head>"
           f"<body><main>{body}</main>{js}</body></html>")
    return doc, csp(nonce)


def csrf_field(token: str | None) -> str:
    return f"<input type=\"hidden\" name=\"csrf\" value=\"{attr(token)}\">"


def login_page(csrf: str, next_url: str = "/", message: str = "", name: str = "") -> tuple[str, dict]:
    msg = f"<p class=\"flash fejl\" role=\"alert\">{esc(message)}</p>" if message else ""
    body = (f"<h1>Log ind</h1><section>{msg}"
            f"<form method=\"post\" action=\"login\" id=\"login\">{csrf_field(csrf)}"
            f"<input type=\"hidden\" name=\"next\" value=\"{attr(next_url)}\">"
            f"<p><label>Brugernavn<br><input type=\"text\" name=\"name\" autocomplete=\"username\" "
            f"value=\"{attr(name)}\" required autofocus></label></p>"
            f"<p><label>Adgangskode<br><input type=\"password\" name=\"password\" autocomplete=\"current-password\" "
            f"required></label></p><p><button class=\"primary\" type=\"submit\">Log ind</button></p></form>"
            f"<p class=\"muted\">Konti oprettes af den, der driver serveren: <code>assistant user add NAVN</code>.</p>"
            f"</section><p><a href=\"./\">Tilbage til chatten</a></p>")
    return page("Log ind", body)


def message_page(title: str, text: str) -> tuple[str, dict]:
    return page(title, f"<h1>{esc(title)}</h1><section><p>{esc(text)}</p></section>"
                       f"<p><a href=\"/\">Til chatten</a></p>")


def source_page(doc, start: int | None, end: int | None) -> tuple[str, dict]:
    """The whole cleaned document (never the uploaded file), with a passage marked when asked."""
    text = doc.text
    meta = " · ".join(x for x in (doc.organisation, doc.title, doc.doc_type, doc.date or "") if x)
    badge = " <span class=\"intern\">intern</span>" if doc.internal else ""
    if start is not None and end is not None and 0 <= start < end <= len(text):
        shown = (f"{esc(text[:start], 'verbatim')}<mark id=\"citat\">{esc(text[start:end], 'verbatim')}</mark>"
                 f"{esc(text[end:], 'verbatim')}")
        script = "document.getElementById('citat').scrollIntoView({block: 'center'});"
    else:
        shown, script = esc(text, "verbatim"), ""
    body = (f"<header class=\"top\"><h1>{esc(doc.title)}{badge}</h1><a href=\"/\">Til chatten</a></header>"
            f"<p class=\"muted\">{esc(meta)}</p><section><pre class=\"tekst\" id=\"dokument\">{shown}</pre></section>")
    return page(doc.title, body, script)


def user_line(viewer: Viewer) -> str:
    """The chat's line saying who is logged in, with "Log ind" or "Log ud" (a form with the CSRF token)."""
    if viewer.user is None:
        return ("<div class=\"bruger\">Ikke logget ind · <a href=\"login\" id=\"log-ind\">Log ind</a> "
                "<span class=\"muted\">(medarbejdere ser også interne dokumenter)</span></div>")
    admin = " · <a href=\"admin\" id=\"administration\">Administration</a>" if viewer.admin else ""
    return (f"<div class=\"bruger\">Logget ind som <strong id=\"bruger-navn\">{esc(viewer.label)}</strong>{admin} · "
            f"<form method=\"post\" action=\"logout\" style=\"display:inline\">{csrf_field(viewer.csrf)}"
            f"<button type=\"submit\" id=\"log-ud\">Log ud</button></form></div>")
