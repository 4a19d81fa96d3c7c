"""The administration page (Danish, admins only): documents, metadata, rebuild, eval gate, changes.

Plain server-rendered HTML forms (no Gradio): each form post carries the session's CSRF
token and ends in a redirect back to the page with a message. Document ids in URLs are
looked up among the corpus' files and never used as paths.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from assistant.evaluation.gate import METRIC_NAMES, METRICS
from assistant.ingest.metadata import VISIBILITIES
from assistant.state.audit import AuditLog
from assistant.store.index import IndexDamaged, resolve_current
from assistant.store.rebuild import Rebuilder
from assistant.web.pages import attr, csrf_field, esc, message_page, page
from assistant.web.sessions import COOKIE, Sessions, Viewer, same_token
from assistant.web.uploads import (
    EDITABLE,
    UploadError,
    check_upload,
    clean_fields,
    corpus_files,
    delete,
    read_fields,
    replace,
    store_new,
    upload_limit,
    write_fields,
)

FIELD_NAMES = {"organisation": "Organisation", "title": "Titel", "doc_type": "Type", "date": "Dato",
               "visibility": "Synlighed"}
FORM_OVERHEAD = 64 * 1024        # multipart headers and the small fields around the file


class AdminPage:
    def __init__(self, assistant, corpus: Path, sessions: Sessions, audit: AuditLog, rebuilder: Rebuilder,
                 logins: AuditLog | None = None):
        self.assistant, self.corpus = assistant, Path(corpus)
        self.sessions, self.audit, self.rebuilder = sessions, audit, rebuilder
        self.logins = logins              # failed log-ins, kept apart from the changes (state/audit.py)

    # ------------------------------------------------------------------ routes
    def router(self) -> APIRouter:
        r = APIRouter()
        r.add_api_route("/admin", self.show, methods=["GET"], include_in_schema=False)
        r.add_api_route("/admin/status", self.status, methods=["GET"], include_in_schema=False)
        r.add_api_route("/admin/dokumenter", self.upload, methods=["POST"], include_in_schema=False)
        r.add_api_route("/admin/dokumenter/{doc_id}/metadata", self.edit, methods=["POST"], include_in_schema=False)
        r.add_api_route("/admin/dokumenter/{doc_id}/erstat", self.replace, methods=["POST"], include_in_schema=False)
        r.add_api_route("/admin/dokumenter/{doc_id}/slet", self.delete, methods=["POST"], include_in_schema=False)
        r.add_api_route("/admin/genopbyg", self.rebuild, methods=["POST"], include_in_schema=False)
        r.add_api_route("/admin/skift", self.switch_anyway, methods=["POST"], include_in_schema=False)
        r.add_api_route("/admin/kasser", self.discard, methods=["POST"], include_in_schema=False)
        return r

    def _viewer(self, request: Request) -> Viewer:
        return self.sessions.viewer_of(request.cookies)

    def _refuse(self, request: Request, viewer: Viewer):
        if viewer.user is None:
            return RedirectResponse("/login?next=/admin", status_code=303)
        doc, headers = message_page("Kun for administratorer",
                                    "Administrationssiden kræver en konto med rollen administrator.")
        return HTMLResponse(doc, status_code=403, headers=headers)

    async def _form(self, request: Request, viewer: Viewer, files: int = 0):
        """The posted form when the CSRF token is the session's; None otherwise."""
        limit = upload_limit() + FORM_OVERHEAD if files else FORM_OVERHEAD
        try:
            length = int(request.headers.get("content-length", ""))
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            self._flash(request, "fejl", f"Filen er for stor; grænsen er {upload_limit() // (1024 * 1024)} MB."
                        if files else "Formularen er for stor.")
            return None
        form = await request.form(max_files=files, max_fields=20)
        if not same_token(form.get("csrf"), viewer.csrf):
            self._flash(request, "fejl", "Formularen var forældet; prøv igen.")
            return None
        return form

    def _flash(self, request: Request, kind: str, text: str) -> None:
        self.sessions.flash(request.cookies.get(COOKIE), kind, text)

    def _back(self, anchor: str = "") -> RedirectResponse:
        return RedirectResponse(f"/admin{anchor}", status_code=303)

    def _file(self, doc_id: str):
        return corpus_files(self.corpus).get(doc_id)

    async def _document_form(self, request: Request, doc_id: str, files: int = 0):
        """(viewer, form, file, None) for an admin's valid post about an existing document, else
        (…, response): the refusal, or back to the list (with a message when the document is gone)."""
        viewer = self._viewer(request)
        if not viewer.admin:
            return viewer, None, None, self._refuse(request, viewer)
        form = await self._form(request, viewer, files=files)
        f = self._file(doc_id)
        if f is None:
            self._flash(request, "fejl", "Dokumentet findes ikke i dokumentmappen.")
        if form is None or f is None:
            return viewer, form, f, self._back("#dokumenter")
        return viewer, form, f, None

    # ------------------------------------------------------------------ actions
    async def upload(self, request: Request):
        viewer = self._viewer(request)
        if not viewer.admin:
            return self._refuse(request, viewer)
        form = await self._form(request, viewer, files=1)
        if form is None:
            return self._back("#upload")
        upload = form.get("fil")
        if upload is None or not hasattr(upload, "read"):
            self._flash(request, "fejl", "Vælg en fil at uploade.")
            return self._back("#upload")
        data = await upload.read(upload_limit() + 1)
        try:
            kind = check_upload(upload.filename or "", data)
            fields = clean_fields(dict(form))
            path = await anyio.to_thread.run_sync(store_new, self.corpus, data, kind)   # off the event loop
        except UploadError as exc:
            self._flash(request, "fejl", f"»{upload.filename}« blev ikke gemt: {exc}")
            return self._back("#upload")
        if fields:
            write_fields(path, fields)
        self.audit.record(viewer.user.name, "upload", path.stem, filename=upload.filename or "", bytes=len(data),
                          kind=kind, fields=fields)
        self._flash(request, "ok", f"»{upload.filename}« er gemt som {path.stem}. Det kommer med i svarene, "
                                   "når indekset er genopbygget.")
        return self._back("#dokumenter")

    async def edit(self, request: Request, doc_id: str):
        viewer, form, f, refused = await self._document_form(request, doc_id)
        if refused is not None:
            return refused
        try:
            changed = write_fields(f.path, clean_fields(dict(form)))
        except UploadError as exc:
            self._flash(request, "fejl", f"Oplysningerne om {doc_id} blev ikke gemt: {exc}")
            return self._back("#dokumenter")
        if changed:
            self.audit.record(viewer.user.name, "edit_metadata", doc_id, changed=changed)
            self._flash(request, "ok", f"Oplysningerne om {doc_id} er gemt ({', '.join(FIELD_NAMES[k] for k in changed)}); "
                                       "de gælder, når indekset er genopbygget.")
        else:
            self._flash(request, "ok", f"Ingen ændringer for {doc_id}.")
        return self._back("#dokumenter")

    async def replace(self, request: Request, doc_id: str):
        viewer, form, f, refused = await self._document_form(request, doc_id, files=1)
        if refused is not None:
            return refused
        upload = form.get("fil")
        if upload is None or not hasattr(upload, "read"):
            self._flash(request, "fejl", "Vælg den nye version at uploade.")
            return self._back("#dokumenter")
        data = await upload.read(upload_limit() + 1)
        try:
            kind = check_upload(upload.filename or "", data)
            new = await anyio.to_thread.run_sync(replace, f.path, data, kind, self.corpus)   # off the event loop
        except UploadError as exc:
            self._flash(request, "fejl", f"{doc_id} blev ikke erstattet: {exc}")
            return self._back("#dokumenter")
        self.audit.record(viewer.user.name, "replace", doc_id, filename=upload.filename or "", bytes=len(data),
                          kind=kind, path=new.relative_to(self.corpus).as_posix())
        self._flash(request, "ok", f"{doc_id} er erstattet af »{upload.filename}«; genopbyg indekset for at bruge den.")
        return self._back("#dokumenter")

    async def delete(self, request: Request, doc_id: str):
        viewer, _, f, refused = await self._document_form(request, doc_id)
        if refused is not None:
            return refused
        delete(f.path)
        self.audit.record(viewer.user.name, "delete", doc_id, path=f.rel)
        self._flash(request, "ok", f"{doc_id} er slettet fra dokumentmappen; det forsvinder fra svarene, "
                                   "når indekset er genopbygget.")
        return self._back("#dokumenter")

    async def rebuild(self, request: Request):
        viewer = self._viewer(request)
        if not viewer.admin:
            return self._refuse(request, viewer)
        if await self._form(request, viewer) is None:
            return self._back("#indeks")
        if not self.rebuilder.start(viewer.user.name):
            self._flash(request, "fejl", "En genopbygning kører allerede.")
        return self._back("#indeks")

    async def switch_anyway(self, request: Request):
        viewer = self._viewer(request)
        if not viewer.admin:
            return self._refuse(request, viewer)
        if await self._form(request, viewer) is not None:
            if self.rebuilder.switch_anyway(viewer.user.name):
                self._flash(request, "ok", "Den nye version er taget i brug.")
            else:
                self._flash(request, "fejl", "Der er ingen version, der venter.")
        return self._back("#indeks")

    async def discard(self, request: Request):
        viewer = self._viewer(request)
        if not viewer.admin:
            return self._refuse(request, viewer)
        if await self._form(request, viewer) is not None and not self.rebuilder.discard(viewer.user.name):
            self._flash(request, "fejl", "Der er ingen version, der venter.")
        return self._back("#indeks")

    async def status(self, request: Request):
        viewer = self._viewer(request)
        if not viewer.admin:
            return JSONResponse({"error": "kun for administratorer"}, status_code=403)
        st = self.rebuilder.state()
        return JSONResponse({"status": st.status, "percent": st.percent, "message": st.message},
                            headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ the page
    async def show(self, request: Request):
        viewer = self._viewer(request)
        if not viewer.admin:
            return self._refuse(request, viewer)
        flashes = self.sessions.take_flash(request.cookies.get(COOKIE))
        body = "".join([
            f"<header class=\"top\"><h1>Administration</h1><div>Logget ind som <strong>{esc(viewer.label)}</strong> · "
            f"<a href=\"/\">Til chatten</a> · <form class=\"inline\" method=\"post\" action=\"/logout\">"
            f"{csrf_field(viewer.csrf)}<button type=\"submit\">Log ud</button></form></div></header>",
            "".join(f"<p class=\"flash {attr(k)}\" role=\"status\">{esc(t)}</p>" for k, t in flashes),
            self._index_section(viewer), self._upload_section(viewer), self._documents_section(viewer),
            self._unknown_section(viewer), self._audit_section()])
        running = self.rebuilder.state().status == "running"
        doc, headers = page("Administration", body, CONFIRM_JS + (PROGRESS_JS if running else ""))
        return HTMLResponse(doc, headers=headers)

    def _index(self):
        try:
            return self.assistant.index
        except Exception:   # noqa: BLE001 - no index yet, or a damaged one: the page still works
            return None

    def _index_section(self, viewer: Viewer) -> str:
        st = self.rebuilder.state()
        idx = self._index()
        try:
            current = resolve_current(self.assistant.index_dir)
        except IndexDamaged:
            current = None
        head = (f"<p>Version i brug: <code id=\"version\">{esc(current.name if current else 'intet indeks')}</code>"
                + (f" · {len(idx.documents)} dokumenter, {len(idx.chunks)} afsnit" if idx else "") + "</p>")
        gate = self.rebuilder.gate
        head += (f"<p class=\"muted\">Målt før skift på: {esc(', '.join(gate.sources))} (tilladt fald: "
                 f"{gate.margin:.2f}).</p>" if gate else
                 "<p class=\"muted\">Intet guldsæt valgt: nye versioner tages i brug med det samme "
                 "(<code>assistant serve --gate bundled</code> måler først).</p>")
        running = st.status == "running"
        button = (f"<form method=\"post\" action=\"/admin/genopbyg\" id=\"genopbyg-form\">{csrf_field(viewer.csrf)}"
                  f"<button class=\"primary\" type=\"submit\" id=\"genopbyg\"{' disabled' if running else ''}>"
                  f"Genopbyg indekset</button></form>")
        progress = ""
        if st.status != "idle" or st.message:
            progress = (f"<div id=\"bygning\" data-status=\"{attr(st.status)}\">"
                        f"<progress id=\"fremdrift\" max=\"100\" value=\"{st.percent}\">{st.percent} %</progress>"
                        f"<p id=\"byg-status\" role=\"status\">{esc(st.message)}</p></div>")
        if st.summary and st.status in ("done", "blocked"):
            s = st.summary
            progress += (f"<p class=\"muted\">Tilføjet {len(s['added'])}, ændret {len(s['changed'])}, fjernet "
                         f"{len(s['removed'])}; {s['chunks']} afsnit ({s['embedded']} nye vektorer) på {s['seconds']} s.</p>")
            if s["skipped"]:
                progress += "<p>Sprunget over:</p><ul>" + "".join(
                    f"<li>{esc(x['path'])}: {esc(x['reason'])}</li>" for x in s["skipped"]) + "</ul>"
        if st.gate:
            progress += self._gate_table(st, viewer)
        return f"<section id=\"indeks\"><h2>Indekset</h2>{head}{button}{progress}</section>"

    def _gate_table(self, st, viewer: Viewer) -> str:
        g = st.gate
        rows = "".join(
            f"<tr><td>{METRIC_NAMES[m]}</td><td>{_num(g['before'].get(m))}</td><td>{_num(g['after'].get(m))}</td>"
            f"<td>{'<strong>faldet ' + _num(g['drops'][m]) + '</strong>' if m in g['drops'] else 'ok'}</td></tr>"
            for m in METRICS)
        out = (f"<table id=\"maaling\"><tr><th>Guldsæt: {esc(g['gold'])} ({g['questions']} spørgsmål)</th>"
               f"<th>Før (i brug)</th><th>Efter (ny version)</th><th>Tilladt fald {g['margin']:.2f}</th></tr>{rows}</table>")
        if st.status == "blocked":
            out += (f"<p><form class=\"inline\" method=\"post\" action=\"/admin/skift\">{csrf_field(viewer.csrf)}"
                    f"<button class=\"danger\" type=\"submit\" id=\"skift-alligevel\">Skift alligevel</button></form> "
                    f"<form class=\"inline\" method=\"post\" action=\"/admin/kasser\">{csrf_field(viewer.csrf)}"
                    f"<button type=\"submit\" id=\"kasser\">Behold den nuværende</button></form></p>")
        return out

    def _upload_section(self, viewer: Viewer) -> str:
        limit = upload_limit() // (1024 * 1024)
        return (f"<section id=\"upload\"><h2>Upload dokument</h2>"
                f"<form method=\"post\" action=\"/admin/dokumenter\" enctype=\"multipart/form-data\" id=\"upload-form\">"
                f"{csrf_field(viewer.csrf)}<p><input type=\"file\" name=\"fil\" id=\"fil\" required "
                f"accept=\".pdf,.docx,.html,.htm,.txt,.md\"> <span class=\"muted\">PDF, DOCX, HTML eller TXT, højst "
                f"{limit} MB</span></p>{_field_inputs({}, 'ny')}"
                f"<p><button class=\"primary\" type=\"submit\" id=\"upload-knap\">Upload</button></p></form>"
                f"<p class=\"muted\">Tomme felter læses af dokumentet selv. Filen gemmes under et navn, serveren "
                f"finder på.</p></section>")

    def _documents_section(self, viewer: Viewer) -> str:
        idx = self._index()
        indexed = idx.documents if idx else {}
        built = _built_time(idx)
        files = corpus_files(self.corpus)
        rows = []
        for doc_id in sorted(set(files) | set(indexed), key=lambda i: ((indexed.get(i).title if i in indexed else i).lower())):
            f, d = files.get(doc_id), indexed.get(doc_id)
            values = {k: getattr(d, k) for k in EDITABLE} if d else {}
            if f is not None:
                values.update({k: v for k, v in read_fields(f.path).items() if k in EDITABLE or k == "type"})
                if "type" in values:
                    values["doc_type"] = values.pop("type")
            if f is None:
                status = "Slettet – forsvinder ved næste genopbygning"
            elif d is None:
                status = "Ny – kommer med ved næste genopbygning"
            elif built and _changed_since(f.path, built):
                status = "Ændret – genopbyg for at bruge ændringen"
            else:
                status = "I indekset"
            vis = values.get("visibility") or "offentlig"
            title = values.get("title") or (d.title if d else doc_id)
            view = f"<a href=\"/kilde/{attr(doc_id)}\">Vis</a>" if d else ""
            actions = ""
            if f is not None:
                actions = (f"<details><summary>Redigér</summary>"
                           f"<form method=\"post\" action=\"/admin/dokumenter/{attr(doc_id)}/metadata\" class=\"rediger\">"
                           f"{csrf_field(viewer.csrf)}{_field_inputs(values, doc_id)}"
                           f"<button type=\"submit\">Gem</button></form>"
                           f"<form method=\"post\" action=\"/admin/dokumenter/{attr(doc_id)}/erstat\" "
                           f"enctype=\"multipart/form-data\" class=\"erstat\">{csrf_field(viewer.csrf)}"
                           f"<label>Ny version <input type=\"file\" name=\"fil\" required></label> "
                           f"<button type=\"submit\">Erstat</button></form>"
                           f"<form method=\"post\" action=\"/admin/dokumenter/{attr(doc_id)}/slet\" class=\"slet\" "
                           f"data-confirm=\"Slet {attr(title)}?\">{csrf_field(viewer.csrf)}"
                           f"<button class=\"danger\" type=\"submit\">Slet</button></form></details>")
            rows.append(f"<tr data-id=\"{attr(doc_id)}\"><td>{esc(title)}<br><span class=\"muted\">{esc(doc_id)}"
                        f"{' · ' + esc(f.rel) if f else ''}</span></td><td>{esc(values.get('organisation') or '')}</td>"
                        f"<td>{esc(values.get('doc_type') or '')}</td><td>{esc(values.get('date') or '–')}</td>"
                        f"<td class=\"synlighed\">{'<span class=intern>intern</span>' if vis == 'intern' else 'offentlig'}"
                        f"</td><td class=\"status\">{esc(status)}</td><td>{view}{actions}</td></tr>")
        table = ("<table><tr><th>Dokument</th><th>Organisation</th><th>Type</th><th>Dato</th><th>Synlighed</th>"
                 "<th>Status</th><th></th></tr>" + "".join(rows) + "</table>") if rows else "<p>Ingen dokumenter.</p>"
        return f"<section id=\"dokumenter\"><h2>Dokumenter</h2>{table}</section>"

    def _unknown_section(self, viewer: Viewer) -> str:
        idx = self._index()
        if idx is None:
            return ""
        files = corpus_files(self.corpus)
        items = []
        for doc_id, m in sorted(idx.manifest.get("documents", {}).items()):
            unknown = [u for u in (m.get("unknown") or []) if u in FIELD_NAMES]
            d = idx.documents.get(doc_id)
            if not unknown or d is None or doc_id not in files:
                continue
            values = {k: getattr(d, k) for k in EDITABLE}
            for u in unknown:
                values[u] = "" if u in ("organisation", "date") else values.get(u)
            items.append(f"<li data-id=\"{attr(doc_id)}\"><strong>{esc(d.title)}</strong> ({esc(d.path)}): ukendt "
                         f"{esc(', '.join(FIELD_NAMES[u].lower() for u in unknown))}"
                         f"<form method=\"post\" action=\"/admin/dokumenter/{attr(doc_id)}/metadata\">"
                         f"{csrf_field(viewer.csrf)}{_field_inputs(values, 'ukendt-' + doc_id, only=unknown)}"
                         f"<button type=\"submit\">Gem</button></form></li>")
        body = ("<ul>" + "".join(items) + "</ul>") if items else "<p>Alle dokumenter har organisation, titel og dato.</p>"
        return f"<section id=\"ukendt\"><h2>Manglende metadata</h2>{body}</section>"

    def _audit_section(self) -> str:
        rows = "".join(
            f"<tr><td>{esc(e.get('time', ''))}</td><td>{esc(e.get('user', ''))}</td><td>{esc(e.get('action', ''))}</td>"
            f"<td>{esc(e.get('document', ''))}</td><td class=\"muted\">{esc(_short(e.get('details')))}</td></tr>"
            for e in reversed(self.audit.entries(last=25)))
        failed = ""
        if self.logins is not None:
            n = self.logins.count("login_failed", datetime.now(timezone.utc) - timedelta(days=1))
            failed = (f" Mislykkede log-ind det seneste døgn: {n} (i {esc(self.logins.path.name)}; navnene er "
                      f"dem, der blev tastet).")
        return (f"<section id=\"log\"><h2>Seneste ændringer</h2><p class=\"muted\">Alle ændringer står i "
                f"{esc(self.audit.path.name)} i datamappen.{failed}</p><table><tr><th>Tid (UTC)</th><th>Hvem</th><th>Hvad</th>"
                f"<th>Dokument</th><th>Detaljer</th></tr>{rows}</table></section>")


def _field_inputs(values: dict, prefix: str, only=None) -> str:
    out = []
    for key in EDITABLE:
        if only is not None and key not in only:
            continue
        if key == "visibility":
            current = values.get(key) or "offentlig"
            opts = "".join(f"<option value=\"{v}\"{' selected' if v == current else ''}>{v}</option>"
                           for v in VISIBILITIES)
            out.append(f"<label>{FIELD_NAMES[key]} <select name=\"{key}\" id=\"{attr(prefix)}-{key}\">{opts}</select></label>")
        else:
            placeholder = {"date": "2024-05-01", "organisation": "fx Aalborg Kommune"}.get(key, "")
            out.append(f"<label>{FIELD_NAMES[key]} <input type=\"text\" name=\"{key}\" id=\"{attr(prefix)}-{key}\" "
                       f"value=\"{attr(values.get(key) or '')}\" placeholder=\"{placeholder}\" maxlength=\"300\"></label>")
    return "<p>" + "".join(out) + "</p>"


def _num(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _short(details) -> str:
    if not details:
        return ""
    s = ", ".join(f"{k}={v}" for k, v in details.items() if k not in ("gate",))
    return s[:200]


def _built_time(idx) -> float | None:
    if idx is None:
        return None
    try:
        return (idx.path / "manifest.json").stat().st_mtime
    except OSError:
        return None


def _changed_since(path: Path, built: float) -> bool:
    from assistant.ingest.metadata import sidecar_path
    times = [path.stat().st_mtime]
    side = sidecar_path(path)
    if side.exists():
        times.append(side.stat().st_mtime)
    return max(times) > built


# polls the build state while a build runs; reloads the page when it ends
PROGRESS_JS = """
const bar = document.getElementById('fremdrift'), text = document.getElementById('byg-status');
async function poll() {
  try {
    const r = await fetch('/admin/status', {credentials: 'same-origin', cache: 'no-store'});
    const s = await r.json();
    if (bar) { bar.value = s.percent; bar.textContent = s.percent + ' %'; }
    if (text) text.textContent = s.message;
    if (s.status !== 'running') { location.reload(); return; }
  } catch (e) {}
  setTimeout(poll, 700);
}
setTimeout(poll, 700);
"""

CONFIRM_JS = """
for (const f of document.querySelectorAll('form[data-confirm]')) {
  f.addEventListener('submit', e => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
}
"""
