"""A small ASGI middleware in front of Gradio's routes.

- A request that changes something (anything but GET/HEAD/OPTIONS) and carries an
  ``Origin`` header from another site is refused (403): a page elsewhere cannot make a
  visitor's browser ask questions, vote or upload here. Clients without ``Origin``
  (gradio_client, curl) are not browsers acting for another site and pass.
- Every request body is bounded before the application reads it: Gradio's upload route (the chat
  has no file inputs) takes only ``multipart/form-data`` with a ``Content-Length`` of at most
  ``upload_bytes``; the administration page's forms at most ``document_upload_bytes`` (plus the
  form's overhead); anything else (a chat event with its history, a log-in form) at most
  ``request_bytes``. A declared length above the limit is refused at once (413); a body without
  a length is counted as it arrives and refused when it passes the limit, and the application
  sees the client go away.
- A page on another site (another port of the same host included) may not read any answer: the
  CORS headers Gradio adds for loopback origins, with credentials, are taken off every response to
  a request whose ``Origin`` is not this server (a preflight from there then fails in the browser).
- Every response may not be framed by another page (``X-Frame-Options: DENY``, CSP
  ``frame-ancestors 'none'``), and none but static assets (scripts, styles, fonts, images) may be
  stored by the browser (``Cache-Control: no-store``): the chat page and Gradio's API answers can
  show internal text to a logged-in reader. Headers a route set itself are kept.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from assistant.web.pages import NO_STORE

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CACHEABLE = ("text/css", "text/javascript", "application/javascript", "font/", "image/")


FORM_OVERHEAD = 64 * 1024     # multipart boundaries and the other fields of an administration form


class RequestGuard:
    def __init__(self, app, upload_bytes: int, document_bytes: int = 0, request_bytes: int = 0):
        self.app = app
        self.upload_bytes = upload_bytes
        self.document_bytes = document_bytes or upload_bytes
        self.request_bytes = request_bytes or upload_bytes

    def body_limit(self, path: str) -> tuple[int, str]:
        """The largest body a route takes, and the setting that sets it."""
        if path.rstrip("/").endswith("/upload"):
            return self.upload_bytes, "ASSISTANT_UPLOAD_BYTES"
        if path == "/admin" or path.startswith("/admin/"):
            return self.document_bytes + FORM_OVERHEAD, "ASSISTANT_DOCUMENT_UPLOAD_BYTES"
        return self.request_bytes, "ASSISTANT_REQUEST_BYTES"

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        foreign = origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
        if foreign and (method not in SAFE_METHODS or scope["type"] == "websocket"):
            return await self._refuse(scope, send, 403, "requests from another site are not accepted")
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit, setting = self.body_limit(path)
        too_big = f"request body larger than {limit} bytes ({setting})"
        declared = headers.get("content-length")
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            length = -1
        if path.rstrip("/").endswith("/upload") and method == "POST":
            if not headers.get("content-type", "").lower().startswith("multipart/form-data"):
                return await self._refuse(scope, send, 415, "uploads must be multipart/form-data")
            if length is None:
                return await self._refuse(scope, send, 411, "uploads need a Content-Length")
        if length is not None and (length < 0 or length > limit):
            return await self._refuse(scope, send, 413, too_big)

        state = {"received": 0, "over": False, "started": False}

        async def counted_receive():
            message = await receive()
            if message["type"] == "http.request" and not state["over"]:
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:            # a body without (or beyond) its declared length
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return {"type": "http.disconnect"} if state["over"] else message

        async def send_with_headers(message):
            if state["over"]:
                return                                   # the refusal below answers instead
            if message["type"] == "http.response.start":
                state["started"] = True
                message = {**message, "headers": protective_headers(list(message.get("headers", [])), foreign)}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._refuse(scope, send, 413, too_big)

    @staticmethod
    async def _refuse(scope, send, status: int, message: str):
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        body = message.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def protective_headers(headers: list[tuple[bytes, bytes]], foreign: bool = False) -> list[tuple[bytes, bytes]]:
    """``headers`` with the framing and caching headers added where the route set none, and without
    CORS headers for a request from another site (``foreign``)."""
    if foreign:
        headers = [(k, v) for k, v in headers if not k.lower().startswith(b"access-control-")]
    present = {k.lower(): v for k, v in headers}
    added = []
    if b"x-frame-options" not in present:
        added.append((b"x-frame-options", NO_STORE["X-Frame-Options"].encode()))
    if b"content-security-policy" not in present:
        added.append((b"content-security-policy", b"frame-ancestors 'none'"))
    kind = present.get(b"content-type", b"").decode("latin-1").lower()
    if b"cache-control" not in present and not kind.startswith(CACHEABLE):
        added.append((b"cache-control", NO_STORE["Cache-Control"].encode()))
    return headers + added
